// check.mjs <output_root> <run_date> [<orders.csv> <churn_days>]
// check.mjs <output_root> <run_date> --shop <generated shop folder>
//
// Opens every table of one run with DuckDB and checks, against the run's
// _manifest.json, that columns, their order and their types and row counts
// are what schemas/ promises: each file on its own (no snapshot_date, which
// is the folder's name) and each table's folder as a hive-partitioned
// dataset (snapshot_date from the folder names, a DATE). Money totals that
// three tables give must agree within rounding. Given the input orders as CSV (columns
// customer_id, order_date YYYYMMDD, dollars), it also recomputes the RFM
// scores, the monthly cohort table and the monthly retention KPIs in SQL and
// compares them with retain's tables, row by row.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, runDate, ordersCsvOrFlag, churnOrShop] = process.argv.slice(2);
const shop = ordersCsvOrFlag === '--shop' ? churnOrShop : undefined;
const ordersCsv = shop ? undefined : ordersCsvOrFlag;
const churnArg = shop ? undefined : churnOrShop;
if (!root || !runDate) {
  console.error('usage: check.mjs <output_root> <run_date> [<orders.csv> <churn_days>]');
  process.exit(2);
}
const churnDays = Number(churnArg || 180);
let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.error(`FAIL ${what}`); }
}

const duckType = {
  'utf8': 'VARCHAR', 'int64': 'BIGINT', 'float64': 'DOUBLE', 'bool': 'BOOLEAN',
  'date32': 'DATE', 'timestamp[us, tz=UTC]': 'TIMESTAMP WITH TIME ZONE',
};
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const part = (t) => join(root, t, `snapshot_date=${runDate}`, '*.parquet');

const manifest = JSON.parse(readFileSync(join(root, '_runs', `snapshot_date=${runDate}`, '_manifest.json'), 'utf8'));
for (const t of manifest.tables) {
  // The file alone: DuckDB would add snapshot_date from the path unless told.
  const cols = await rows(`DESCRIBE SELECT * FROM read_parquet('${part(t.name)}', hive_partitioning = false)`);
  check(cols.length === t.columns.length, `${t.name}: ${cols.length} columns, manifest has ${t.columns.length}`);
  t.columns.forEach((c, i) => {
    const got = cols[i] || {};
    check(got.column_name === c.name && got.column_type === duckType[c.type],
      `${t.name}.${c.name}: DuckDB sees ${got.column_name} ${got.column_type}, want ${duckType[c.type]} (arrow ${c.type})`);
  });
  const [{ n }] = await rows(`SELECT count(*) AS n FROM read_parquet('${part(t.name)}')`);
  check(Number(n) === t.rows, `${t.name}: DuckDB counts ${n} rows, manifest ${t.rows}`);
}

// Each table's folder as a hive dataset: snapshot_date comes from the
// folder names, typed DATE, after the files' columns. Dates are symlinks
// into _nights/; a glob over all of them follows them.
for (const t of manifest.tables) {
  const all = join(root, t.name, '*', '*.parquet');
  const cols = await rows(`DESCRIBE SELECT * FROM read_parquet('${all}', hive_partitioning = true)`);
  const names = cols.map((c) => c.column_name);
  const want = [...t.columns.map((c) => c.name), 'snapshot_date'];
  check(JSON.stringify(names) === JSON.stringify(want) && cols[cols.length - 1].column_type === 'DATE',
    `${t.name}/*/*.parquet as a hive dataset: columns ${names.join(',')} (${cols[cols.length - 1]?.column_type}), want the files' and snapshot_date DATE`);
  const [{ n }] = await rows(`SELECT count(*) AS n FROM read_parquet('${all}', hive_partitioning = true) WHERE snapshot_date = DATE '${runDate}'`);
  check(Number(n) === t.rows, `${t.name}/*/*.parquet: DuckDB counts ${n} rows of ${runDate}, manifest ${t.rows}`);
}

// Money is rounded per row to the currency's minor unit (manifest
// money_decimals), so totals of one night's revenue from three tables may
// differ by rounding only: each summed row is off by at most half a minor
// unit, so the tolerance is half a minor unit per summed row on both sides.
{
  const half = 0.5 * 10 ** -manifest.money_decimals;
  const total = async (t, col, where = 'true') => (await rows(
    `SELECT coalesce(sum(${col}), 0) AS s, count(*) AS n FROM read_parquet('${part(t)}', hive_partitioning = false) WHERE ${where}`))[0];
  const cust = await total('customer_summary', 'total_revenue');
  for (const [t, where] of [['segment_summary', "dimension = 'total'"], ['cohort_retention', 'true']]) {
    const other = await total(t, 'revenue', where);
    const tol = half * (Number(cust.n) + Number(other.n)) + 1e-6;
    check(Math.abs(cust.s - other.s) <= tol,
      `revenue: customer_summary sums ${cust.s}, ${t} ${other.s}; differ by more than ${tol} (half a minor unit per summed row)`);
  }
  const [cur] = await rows(`SELECT count(DISTINCT currency) AS kinds, any_value(currency) AS code FROM read_parquet('${part('customer_summary')}', hive_partitioning = false)`);
  check(Number(cust.n) === 0 || (Number(cur.kinds) <= 1 && (cur.code ?? null) === (manifest.currency ?? null)),
    `customer_summary.currency ${cur.code}, manifest ${manifest.currency}`);
}

// Invariants of customer_summary, computed by DuckDB.
const [inv] = await rows(`
  SELECT sum(order_count) AS orders,
         count(*) FILTER (WHERE frequency > order_count - 1 OR recency_days > tenure_days) AS bad_btyd,
         count(*) FILTER (WHERE (repeat_avg_value IS NULL) <> (frequency = 0)) AS bad_null,
         count(*) FILTER (WHERE refunded_revenue < 0 OR refunded_revenue > total_revenue * (1 + 1e-12)
           -- Each money column is rounded on its own (half a cent each),
           -- and refund_rate comes from the unrounded amounts.
           OR abs(net_revenue - (total_revenue - refunded_revenue)) > 0.015 + 1e-9 * total_revenue
           OR refunded_orders > order_count OR (refunded_orders = 0 AND refunded_revenue <> 0)
           OR (refund_rate IS NULL) <> (total_revenue = 0)
           OR abs(coalesce(refund_rate, 0) - coalesce(refunded_revenue / nullif(total_revenue, 0), 0))
              > 0.01 / greatest(total_revenue, 0.01) + 1e-12) AS bad_refunds,
         sum(refunded_orders) AS refunded_orders
  FROM read_parquet('${part('customer_summary')}')`);
// Used rows are orders, and the partial refunds netted off them.
const refundRows = manifest.row_accounting.refund_rows_used ?? 0;
check(Number(inv.orders) === manifest.row_totals.rows_used - refundRows,
  `sum(order_count) ${inv.orders} != rows_used ${manifest.row_totals.rows_used} - refund_rows_used ${refundRows}`);
check(Number(inv.bad_refunds) === 0, `${inv.bad_refunds} customers whose refunded, net revenue, refund rate or refunded orders disagree`);
if (shop) check(Number(inv.refunded_orders) > 0, 'the generated shop has refunds, customer_summary none');
check(Number(inv.bad_btyd) === 0, `${inv.bad_btyd} customers with frequency > orders-1 or recency > tenure`);
check(Number(inv.bad_null) === 0, `${inv.bad_null} customers where repeat_avg_value is null iff frequency = 0 fails`);

// One retain cell of money against an unrounded SQL figure: half a minor
// unit, and a little for the float sums.
const halfUnit = 0.5 * 10 ** -manifest.money_decimals + 1e-9;

if (ordersCsv) {
  await con.run(`
    CREATE TABLE orders AS
    SELECT customer_id::VARCHAR AS customer_id, strptime(order_date::VARCHAR, '%Y%m%d')::DATE AS d, dollars::DOUBLE AS amount
    FROM read_csv('${ordersCsv}', header = true, delim = ',', all_varchar = true)
    WHERE strptime(order_date::VARCHAR, '%Y%m%d')::DATE <= DATE '${runDate}'`);

  // RFM scores: min(5, 1 + floor(5 * (rank - 1) / (n - 1))), ties share the rank.
  const rfm = await rows(`
    WITH c AS (
      SELECT customer_id, DATE '${runDate}' - max(d) AS days_since, count(*) AS orders, round(sum(amount), 2) AS revenue
      FROM orders GROUP BY customer_id),
    ref AS (
      SELECT customer_id,
        least(5, 1 + (5 * (rank() OVER (ORDER BY days_since DESC) - 1)) // (count(*) OVER () - 1)) AS r,
        least(5, 1 + (5 * (rank() OVER (ORDER BY orders ASC) - 1)) // (count(*) OVER () - 1)) AS f,
        least(5, 1 + (5 * (rank() OVER (ORDER BY revenue ASC) - 1)) // (count(*) OVER () - 1)) AS m
      FROM c)
    SELECT count(*) AS customers,
           count(*) FILTER (WHERE s.customer_id IS NULL OR s.r_score <> ref.r OR s.f_score <> ref.f OR s.m_score <> ref.m) AS mismatches
    FROM ref LEFT JOIN read_parquet('${part('customer_segments')}') s USING (customer_id)`);
  check(Number(rfm[0].mismatches) === 0, `RFM scores: ${rfm[0].mismatches} of ${rfm[0].customers} customers differ from SQL`);

  // Cohorts by first-order month; every offset up to the run month present.
  const cohort = await rows(`
    WITH first AS (SELECT customer_id, date_trunc('month', min(d)) AS cohort FROM orders GROUP BY 1),
    sizes AS (SELECT cohort, count(*) AS size FROM first GROUP BY 1),
    cells AS (
      SELECT f.cohort, datediff('month', f.cohort, date_trunc('month', o.d)) AS off,
             count(DISTINCT o.customer_id) AS active, count(*) AS orders, sum(o.amount) AS revenue
      FROM orders o JOIN first f USING (customer_id) GROUP BY 1, 2),
    grid AS (
      SELECT s.cohort, g.off, s.size FROM sizes s,
        LATERAL generate_series(0, datediff('month', s.cohort, date_trunc('month', DATE '${runDate}'))) AS g(off)),
    ref AS (
      SELECT g.cohort, g.off, g.size, coalesce(c.active, 0) AS active, coalesce(c.orders, 0) AS orders, coalesce(c.revenue, 0) AS revenue
      FROM grid g LEFT JOIN cells c USING (cohort, off))
    SELECT count(*) AS cells,
           count(*) FILTER (WHERE t.cohort_period IS NULL OR t.cohort_size <> ref.size OR t.active_customers <> ref.active
                            OR t.orders <> ref.orders OR abs(t.revenue - ref.revenue) > ${halfUnit}) AS mismatches,
           (SELECT count(*) FROM read_parquet('${part('cohort_retention')}')) AS ours
    FROM ref LEFT JOIN read_parquet('${part('cohort_retention')}') t
      ON t.cohort_period = ref.cohort::DATE AND t.period_offset = ref.off`);
  check(Number(cohort[0].mismatches) === 0 && Number(cohort[0].cells) === Number(cohort[0].ours),
    `cohort_retention: ${cohort[0].mismatches} of ${cohort[0].cells} SQL cells differ; retain has ${cohort[0].ours} rows`);

  // Monthly KPIs. A customer is one at the end of day x when their last
  // order on or before x is fewer than churn_days before x.
  const kpi = await rows(`
    WITH days AS (SELECT DISTINCT customer_id, d FROM orders),
    seq AS (SELECT customer_id, d, lag(d) OVER w AS prev, lead(d) OVER w AS next
            FROM days WINDOW w AS (PARTITION BY customer_id ORDER BY d)),
    events AS (
      SELECT date_trunc('month', d) AS m, count(*) FILTER (WHERE prev IS NULL) AS n,
             count(*) FILTER (WHERE prev IS NOT NULL AND d - prev >= ${churnDays}) AS reactivated
      FROM seq GROUP BY 1),
    churn AS (
      SELECT date_trunc('month', d + ${churnDays}) AS m, count(*) AS churned FROM seq
      WHERE (next IS NULL OR next - d >= ${churnDays}) AND d + ${churnDays} <= DATE '${runDate}' GROUP BY 1),
    months AS (
      SELECT m::DATE AS m, least(m + INTERVAL 1 MONTH - INTERVAL 1 DAY, DATE '${runDate}')::DATE AS m_end
      FROM generate_series((SELECT date_trunc('month', min(d)) FROM orders), DATE '${runDate}', INTERVAL 1 MONTH) AS g(m)),
    state AS (
      SELECT mo.m,
        (SELECT count(*) FROM (SELECT customer_id, max(d) AS last FROM orders WHERE d < mo.m GROUP BY 1) WHERE (mo.m - 1) - last < ${churnDays}) AS s,
        (SELECT count(*) FROM (SELECT customer_id, max(d) AS last FROM orders WHERE d <= mo.m_end GROUP BY 1) WHERE mo.m_end - last < ${churnDays}) AS e
      FROM months mo),
    money AS (
      SELECT date_trunc('month', d) AS m, customer_id, count(*) AS orders, sum(amount) AS revenue FROM orders GROUP BY 1, 2),
    top AS (
      SELECT m, sum(revenue) FILTER (WHERE rn <= ceil(0.2 * cnt)) / sum(revenue) AS top20,
             count(*) AS active, sum(orders) AS orders, sum(revenue) AS revenue
      FROM (SELECT *, row_number() OVER (PARTITION BY m ORDER BY revenue DESC) AS rn, count(*) OVER (PARTITION BY m) AS cnt FROM money)
      GROUP BY 1),
    ref AS (
      SELECT mo.m, st.s, st.e, coalesce(ev.n, 0) AS n, coalesce(ev.reactivated, 0) AS r, coalesce(ch.churned, 0) AS c,
             coalesce(tp.active, 0) AS active, coalesce(tp.orders, 0) AS orders, coalesce(tp.revenue, 0) AS revenue, tp.top20
      FROM months mo JOIN state st USING (m)
      LEFT JOIN events ev ON ev.m = mo.m LEFT JOIN churn ch ON ch.m = mo.m LEFT JOIN top tp ON tp.m = mo.m)
    SELECT count(*) AS months,
      count(*) FILTER (WHERE k.period_start IS NULL OR k.customers_start <> ref.s OR k.customers_end <> ref.e OR k.new_customers <> ref.n
        OR k.reactivated_customers <> ref.r OR k.churned_customers <> ref.c OR k.active_customers <> ref.active OR k.orders <> ref.orders
        OR abs(k.revenue - ref.revenue) > ${halfUnit} OR abs(coalesce(k.top20_revenue_share, -1) - coalesce(ref.top20, -1)) > 1e-6
        OR (ref.s > 0 AND abs(k.retention_rate - (ref.e - ref.n) / ref.s) > 1e-12)) AS mismatches,
      (SELECT count(*) FROM read_parquet('${part('retention_kpis')}') WHERE dimension = 'total') AS ours
    FROM ref LEFT JOIN (SELECT * FROM read_parquet('${part('retention_kpis')}') WHERE dimension = 'total') k ON k.period_start = ref.m`);
  check(Number(kpi[0].mismatches) === 0 && Number(kpi[0].months) === Number(kpi[0].ours),
    `retention_kpis: ${kpi[0].mismatches} of ${kpi[0].months} SQL months differ; retain has ${kpi[0].ours} total rows`);
}

if (shop) {
  // Product affinity recomputed from the generated shop's raw files with the
  // validate stage's rules: valid fields, up to the run date, the least row
  // of an order id by its own values wins (order time, customer, amount,
  // then currency, status, country and channel, a missing value first;
  // refunds, negative amounts, take no part), counted or
  // refund status (an order refunded in full is still a used order); then
  // distinct products per used order.
  await con.run(`
    CREATE TABLE used AS
    WITH valid AS (
      SELECT trim(order_id) AS order_id, order_ts, trim(customer_id) AS customer_id, amount, currency, status, country, channel, filename, file_row_number
      FROM read_parquet('${shop}/orders/*.parquet', filename = true, file_row_number = true)
      WHERE order_id IS NOT NULL AND trim(order_id) <> '' AND customer_id IS NOT NULL AND trim(customer_id) <> ''
        AND order_ts IS NOT NULL AND amount IS NOT NULL AND NOT isnan(amount) AND amount >= 0
        AND order_ts < (DATE '${runDate}' + INTERVAL 1 DAY)::TIMESTAMPTZ),
    firsts AS (
      SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY order_ts, customer_id, amount,
        currency NULLS FIRST, status NULLS FIRST, country NULLS FIRST, channel NULLS FIRST, filename, file_row_number) AS rn FROM valid)
    SELECT order_id FROM firsts WHERE rn = 1 AND (status IS NULL OR lower(trim(status)) IN ('completed', 'refunded', 'returned'))`);
  await con.run(`
    CREATE TABLE baskets AS
    SELECT DISTINCT i.order_id, i.sku FROM read_parquet('${shop}/order_items/*.parquet') i JOIN used USING (order_id)`);
  // The job's defaults: min_pair_orders 5, top_k 10 per product, a pair
  // kept when it ranks within K for either of its products (by pair_orders,
  // then lift, then the product names).
  const [aff] = await rows(`
    WITH n AS (SELECT count(DISTINCT order_id) AS n FROM baskets),
    per AS (SELECT sku, count(*) AS c FROM baskets GROUP BY sku),
    pairs AS (
      SELECT a.sku AS product_a, b.sku AS product_b, count(*) AS pair_orders
      FROM baskets a JOIN baskets b ON a.order_id = b.order_id AND a.sku < b.sku GROUP BY 1, 2),
    ref AS (
      SELECT p.*, pa.c AS ca, pb.c AS cb, p.pair_orders / (SELECT n FROM n) AS support,
        p.pair_orders / pa.c AS conf_ab, p.pair_orders / pb.c AS conf_ba,
        p.pair_orders * (SELECT n FROM n) / (pa.c * pb.c) AS lift
      FROM pairs p JOIN per pa ON pa.sku = p.product_a JOIN per pb ON pb.sku = p.product_b
      WHERE p.pair_orders >= 5),
    sides AS (
      SELECT product_a, product_b, row_number() OVER (PARTITION BY product
        ORDER BY pair_orders DESC, lift DESC, product_a, product_b) AS rk
      FROM (SELECT *, product_a AS product FROM ref UNION ALL SELECT *, product_b AS product FROM ref)),
    kept AS (
      SELECT r.* FROM ref r JOIN (SELECT product_a, product_b, min(rk) AS rk FROM sides GROUP BY 1, 2) s
        USING (product_a, product_b) WHERE s.rk <= 10),
    ours AS (SELECT * FROM read_parquet('${part('product_affinity')}'))
    SELECT (SELECT count(*) FROM ours) AS rows, (SELECT count(*) FROM kept) AS expected,
      (SELECT count(*) FROM ours o FULL JOIN kept r USING (product_a, product_b)
        WHERE o.pair_orders IS NULL OR r.pair_orders IS NULL
          OR o.pair_orders <> r.pair_orders OR o.orders_with_a <> r.ca OR o.orders_with_b <> r.cb
          OR abs(o.support - r.support) > 1e-12 OR abs(o.confidence_a_to_b - r.conf_ab) > 1e-12
          OR abs(o.confidence_b_to_a - r.conf_ba) > 1e-12
          OR abs(o.lift - r.lift) > 1e-9 * r.lift OR o.max_undercount <> 0) AS mismatches`);
  check(Number(aff.rows) > 0 && Number(aff.rows) === Number(aff.expected) && Number(aff.mismatches) === 0,
    `product_affinity: ${aff.rows} rows, SQL keeps ${aff.expected}; ${aff.mismatches} pairs missing, extra or different`);
}

console.log(`duckdb-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
