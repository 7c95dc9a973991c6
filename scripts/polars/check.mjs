// check.mjs <output_root>
//
// Reads every table of an output root with Polars as a hive-partitioned
// dataset, the table's folder of snapshot_date=YYYY-MM-DD folders, and
// checks against each night's _manifest.json that the columns are the
// files' columns and snapshot_date, taken from the folder names as a Date,
// and that each night has its rows.
import pl from 'nodejs-polars';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [root] = process.argv.slice(2);
if (!root) {
  console.error('usage: check.mjs <output_root>');
  process.exit(2);
}
let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.error(`FAIL ${what}`); }
}
const manifest = (d) => JSON.parse(readFileSync(join(root, '_runs', `snapshot_date=${d}`, '_manifest.json'), 'utf8'));
const dates = readdirSync(join(root, '_runs')).map((n) => n.replace('snapshot_date=', '')).sort();
const latest = manifest(dates[dates.length - 1]);
for (const t of latest.tables) {
  const df = pl.scanParquet(join(root, t.name, 'snapshot_date=*', '*.parquet'), { hivePartitioning: true, tryParseHiveDates: true }).collectSync();
  const want = [...t.columns.map((c) => c.name), 'snapshot_date'].sort();
  check(JSON.stringify([...df.columns].sort()) === JSON.stringify(want),
    `${t.name}: Polars sees columns ${df.columns}, want the manifest's and snapshot_date`);
  check(String(df.getColumn('snapshot_date').dtype).includes('Date'), `${t.name}.snapshot_date is ${df.getColumn('snapshot_date').dtype}, want Date`);
  for (const d of dates) {
    const rows = manifest(d).tables.find((m) => m.name === t.name)?.rows ?? 0;
    const got = df.filter(pl.col('snapshot_date').eq(pl.lit(new Date(`${d}T00:00:00Z`)).cast(pl.Date))).height;
    check(got === rows, `${t.name} ${d}: Polars has ${got} rows, manifest ${rows}`);
  }
  if (t.columns.some((c) => c.name === 'currency')) {
    const codes = df.getColumn('currency').unique().toArray();
    check(codes.length === 1 && codes[0] === (latest.currency ?? null), `${t.name}.currency holds ${codes}, manifest says ${latest.currency}`);
  }
}
console.log(`polars-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
