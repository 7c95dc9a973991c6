// views.mjs <views.sql> <output_root> <run_date>
//
// Loads the views `retain views` printed for an output root and checks,
// against the run date's _manifest.json, that every table's <table>_latest
// view holds exactly that night's rows and its <table> view every night's,
// with snapshot_date, read from the folder names, first.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [viewsFile, root, runDate] = process.argv.slice(2);
if (!viewsFile || !root || !runDate) {
  console.error('usage: views.mjs <views.sql> <output_root> <run_date>');
  process.exit(2);
}
let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.error(`FAIL ${what}`); }
}
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
await con.run(readFileSync(viewsFile, 'utf8'));

const manifest = (d) => JSON.parse(readFileSync(join(root, '_runs', `snapshot_date=${d}`, '_manifest.json'), 'utf8'));
const dates = readdirSync(join(root, '_runs')).map((n) => n.replace('snapshot_date=', '')).sort();
check(dates[dates.length - 1] === runDate, `latest committed night ${dates[dates.length - 1]}, want ${runDate}`);
check(dates.length > 1, `${dates.length} nights; the check needs an older one for _latest to leave out`);
for (const t of manifest(runDate).tables) {
  // snapshot_date, from the folder names, first; then the files' columns.
  const cols = await rows(`DESCRIBE SELECT * FROM ${t.name}`);
  const want = ['snapshot_date', ...t.columns.map((c) => c.name)];
  check(JSON.stringify(cols.map((c) => c.column_name)) === JSON.stringify(want) && cols[0].column_type === 'DATE',
    `${t.name}: view columns ${cols.map((c) => c.column_name).join(',')}, want ${want.join(',')} with snapshot_date a DATE`);
  const [latest] = await rows(`SELECT count(*) AS n, count(*) FILTER (WHERE snapshot_date <> DATE '${runDate}') AS other FROM ${t.name}_latest`);
  check(Number(latest.n) === t.rows && Number(latest.other) === 0,
    `${t.name}_latest: ${latest.n} rows (${latest.other} of other nights), manifest of ${runDate} has ${t.rows}`);
  let all = 0;
  for (const d of dates) all += manifest(d).tables.find((m) => m.name === t.name)?.rows ?? 0;
  const [every] = await rows(`SELECT count(*) AS n FROM ${t.name}`);
  check(Number(every.n) === all, `${t.name}: ${every.n} rows over every night, manifests have ${all}`);
}
console.log(`duckdb-views: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
