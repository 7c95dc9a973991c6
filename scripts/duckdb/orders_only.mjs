// orders_only.mjs <shop> <out> <run_date> [--compare <retain_output>]
//
// The DuckDB peer of retain's orders-only job (bench/job/orders_only.yaml),
// written by hand in SQL, for the side-by-side benchmark of issue 15. From a
// generated shop (<shop>/orders/*.parquet, <shop>/fx_rates.csv) it validates
// the orders as stages/validate does, converts amounts to USD at the rate of
// the order's date or the latest earlier one (ASOF JOIN), and writes
// customer_summary, customer_segments, cohort_retention and retention_kpis
// under <out> as zstd Parquet, on 2 threads.
//
// Where the SQL is simpler than retain (none of it changes a figure on a
// generated shop): trim() removes spaces only, where retain removes all
// Unicode blanks; FX rows are taken as valid, where retain fails the run on
// a bad rate; invalid UTF-8 is not looked for (DuckDB's reader rejects it);
// retention_kpis has the total dimension only, not the country and channel
// splits; customer_summary has no country, channel or currency column;
// quarantined rows are counted by reason, not written; segment_summary, the
// report and the audiences are not written, and no staging, manifest or
// atomic commit is done.
//
// With --compare it reads retain's tables and manifest of the same run and
// checks that customers, orders, refunds used, and the rows quarantined and
// excluded by reason are equal; that customer_summary (refund columns
// included), cohort cells and total KPI months agree value by value; and
// that every RFM segment's count is within max(2, 0.1% of customers) of
// retain's: revenue sums in another order can round a customer's cents the
// other way at a quintile boundary. It prints one JSON line: the figures
// (rows by fate, money totals of the customers' rounded values), and the
// seconds of each step.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [shop, out, runDate, flag, retainOut] = process.argv.slice(2);
if (!shop || !out || !/^\d{4}-\d{2}-\d{2}$/.test(runDate || '') || (flag && (flag !== '--compare' || !retainOut))) {
  console.error('usage: orders_only.mjs <shop> <out> <run_date> [--compare <retain_output>]');
  process.exit(2);
}

// The job's settings that the SQL depends on (retain's defaults, and
// bench/job/orders_only.yaml).
const reporting = 'USD';
// validate.counted_statuses and validate.refund_statuses: an order refunded
// in full is still a purchase, and refunds do not change RFM, cohort or KPI
// revenue, which are gross; they are netted in customer_summary's refund
// columns and repeat_avg_value and in retention_kpis' net_revenue.
const counted = ['completed'];
const refundStatuses = ['refunded', 'returned'];
const minOrderTS = '1990-01-01';
const maxAmount = 1e9;
const churnDays = 180;
// segments.DefaultRules: name, [R low, high], [F low, high]; M is not used.
const rules = [
  ['Champions', [5, 5], [4, 5]],
  ['Loyal Customers', [3, 4], [4, 5]],
  ['Potential Loyalist', [4, 5], [2, 3]],
  ['New Customers', [5, 5], [1, 1]],
  ['Promising', [4, 4], [1, 1]],
  ['Need Attention', [3, 3], [3, 3]],
  ['About To Sleep', [3, 3], [1, 2]],
  ["Can't Lose Them", [1, 2], [5, 5]],
  ['At Risk', [1, 2], [3, 4]],
  ['Hibernating', [2, 2], [1, 2]],
  ['Lost', [1, 1], [1, 2]],
];

const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const seconds = {};
async function step(name, ...sqls) {
  const t0 = performance.now();
  for (const sql of sqls) await con.run(sql);
  seconds[name] = Number(((performance.now() - t0) / 1000).toFixed(3));
}
const copy = (table, order) => {
  mkdirSync(join(out, table), { recursive: true });
  return `COPY (SELECT * FROM ${table} ORDER BY ${order}) TO ${q(join(out, table, 'part-00000.parquet'))} (FORMAT parquet, COMPRESSION zstd)`;
};

await con.run(`SET threads = 2`);
await con.run(`SET TimeZone = 'UTC'`);
const day = `DATE ${q(runDate)}`;
const windowEnd = `(${day} + INTERVAL 1 DAY)::TIMESTAMPTZ`;

// Validation, as stages/validate. Every row gets its fate in check order:
// a quarantine reason (missing order id or customer id, missing order_ts or
// one before min_order_ts, missing or non-finite amount, no rate for its
// currency on or before its date, a converted amount above max_amount),
// excluded (after the run date), a refund (a negative amount, its value
// from then on the money refunded, converted like any amount; excluded
// when its status is neither counted nor a refund status) or an order. Of
// the orders with one order id the least by its own values wins (order
// time, customer, amount, then currency, status, country and channel, a
// missing value first), whatever its status; the others are duplicates.
// A winner is used when its status is counted (or missing) or a refund
// status (refunded in full on its own day), excluded otherwise.
const kind = `CASE WHEN status IS NULL OR lower(trim(status)) IN (${counted.map(q).join(', ')}) THEN 'counted'
  WHEN lower(trim(status)) IN (${refundStatuses.map(q).join(', ')}) THEN 'refund' ELSE 'other' END`;
await step('validate_fx',
  `CREATE TEMP TABLE fx AS
   SELECT date::DATE AS d, upper(trim(currency)) AS code, rate_to_reporting AS rate
   FROM read_csv(${q(join(shop, 'fx_rates.csv'))}, header = true,
     columns = {'date': 'DATE', 'currency': 'VARCHAR', 'rate_to_reporting': 'DOUBLE'})`,
  `CREATE TEMP TABLE checked AS
   WITH raw AS (
     SELECT trim(order_id) AS order_id, trim(customer_id) AS customer_id, order_ts, order_ts::DATE AS d, amount,
            abs(amount) AS orig, currency, coalesce(upper(trim(currency)), '') AS code, status, country, channel,
            ${kind} AS kind, filename, file_row_number
     FROM read_parquet(${q(join(shop, 'orders', '*.parquet'))}, filename = true, file_row_number = true)),
   converted AS (
     SELECT r.*, CASE WHEN r.code = '' OR r.code = ${q(reporting)} THEN r.orig ELSE r.orig * fx.rate END AS usd
     FROM raw r ASOF LEFT JOIN fx ON r.code = fx.code AND r.d >= fx.d)
   SELECT *, CASE
       WHEN order_id IS NULL OR order_id = '' THEN 'missing_order_id'
       WHEN customer_id IS NULL OR customer_id = '' THEN 'missing_customer_id'
       WHEN order_ts IS NULL THEN 'missing_order_ts'
       WHEN order_ts < ${q(minOrderTS)}::TIMESTAMPTZ THEN 'order_ts_out_of_range'
       WHEN amount IS NULL THEN 'missing_amount'
       WHEN NOT isfinite(amount) THEN 'non_numeric_amount'
       WHEN usd IS NULL THEN 'unknown_currency'
       WHEN NOT (usd <= ${maxAmount}) THEN 'amount_out_of_range'
       WHEN order_ts >= ${windowEnd} THEN 'excluded:after_run_date'
       WHEN amount < 0 AND kind = 'other' THEN 'excluded:status_not_counted'
       WHEN amount < 0 THEN 'refund'
       ELSE 'order' END AS fate
   FROM converted`,
  `CREATE TEMP TABLE winners AS
   SELECT order_id, customer_id, order_ts, d, usd AS amount, orig, code, kind FROM checked WHERE fate = 'order'
   QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY order_ts, customer_id, amount,
     currency NULLS FIRST, status NULLS FIRST, country NULLS FIRST, channel NULLS FIRST, filename, file_row_number) = 1`,
  `CREATE TEMP TABLE used AS SELECT * FROM winners WHERE kind <> 'other'`);

// Refunds, as stages/validate/refunds.go. A refund row names its order by
// order_id; it is quarantined when no used order has that id, when its
// customer is not the order's, or when its day is before the order's.
// The rest are settled order by order in the order of their own values
// (time, amount, then the other columns): a refund is quarantined when,
// measured in the order's currency (as read when it is in that currency,
// else converted back at the order's rate), it would take the order's
// refunds above the order's amount; an order with a refund status is
// refunded in full already. A quarantined refund does not count towards
// the ones after it, so the settlement is a recursion, one step per refund
// of an order, every order at once. What an order has refunded (converted
// at the refunds' own dates, at most its amount) is netted on its own day.
const exceeds = (refunded, amount) => `(${refunded} > ${amount} + 1e-9 * greatest(1, abs(${amount})))`;
await step('refunds',
  `CREATE TEMP TABLE refund_rows AS
   WITH r AS (
     SELECT r.*, u.orig AS order_orig, u.amount AS gross, u.kind = 'refund' AS is_full,
            CASE WHEN u.order_id IS NULL THEN 'refund_without_order'
                 WHEN r.customer_id <> u.customer_id THEN 'refund_customer_mismatch'
                 WHEN r.d < u.d THEN 'refund_before_order' END AS reason,
            CASE WHEN r.code = u.code THEN r.orig WHEN u.amount > 0 THEN r.usd * u.orig / u.amount ELSE 'inf'::DOUBLE END AS part
     FROM checked r LEFT JOIN used u USING (order_id) WHERE r.fate = 'refund')
   SELECT order_id, usd AS amount, reason, part, order_orig, gross, is_full,
          row_number() OVER (PARTITION BY order_id, reason IS NULL ORDER BY order_ts, usd, customer_id,
            currency NULLS FIRST, country NULLS FIRST, channel NULLS FIRST, status NULLS FIRST, filename, file_row_number) AS k
   FROM r`,
  `CREATE TEMP TABLE settled AS
   WITH RECURSIVE s(order_id, k, refunded_orig, refunded, accepted) AS (
     SELECT order_id, 0::BIGINT, CASE WHEN is_full THEN order_orig ELSE 0 END, CASE WHEN is_full THEN gross ELSE 0 END, NULL::BOOLEAN
     FROM refund_rows WHERE reason IS NULL AND k = 1
     UNION ALL
     SELECT s.order_id, r.k,
            CASE WHEN ${exceeds('s.refunded_orig + r.part', 'r.order_orig')} THEN s.refunded_orig ELSE least(s.refunded_orig + r.part, r.order_orig) END,
            CASE WHEN ${exceeds('s.refunded_orig + r.part', 'r.order_orig')} THEN s.refunded ELSE least(s.refunded + r.amount, r.gross) END,
            NOT ${exceeds('s.refunded_orig + r.part', 'r.order_orig')}
     FROM s JOIN refund_rows r ON r.order_id = s.order_id AND r.reason IS NULL AND r.k = s.k + 1)
   SELECT * FROM s WHERE k > 0`,
  // One row per refunded used order: its customer, day and money refunded.
  `CREATE TEMP TABLE order_refunds AS
   SELECT customer_id, d, amount AS refunded FROM used WHERE kind = 'refund'
   UNION ALL
   SELECT u.customer_id, u.d, t.refunded
   FROM (SELECT order_id, arg_max(refunded, k) AS refunded FROM settled GROUP BY 1 HAVING bool_or(accepted)) t
   JOIN used u USING (order_id) WHERE u.kind <> 'refund'`);

// One row per customer and purchase day: same-day orders collapse into one
// BTYD purchase period, as customer_summary's state keeps them, with the
// refunds of that day's orders.
await step('customer_summary',
  `CREATE TEMP TABLE days AS
   WITH o AS (
     SELECT customer_id, d, count(*) AS orders, sum(amount) AS revenue, min(order_ts) AS first_ts, max(order_ts) AS last_ts
     FROM used GROUP BY customer_id, d),
   r AS (SELECT customer_id, d, sum(refunded) AS refunded, count(*) AS refunded_orders FROM order_refunds GROUP BY 1, 2)
   SELECT o.*, coalesce(r.refunded, 0) AS refunded, coalesce(r.refunded_orders, 0) AS refunded_orders
   FROM o LEFT JOIN r USING (customer_id, d)`,
  `CREATE TEMP TABLE customer_summary AS
   SELECT ${day} AS snapshot_date, customer_id, min(first_ts) AS first_order_at, max(last_ts) AS last_order_at,
          sum(orders)::BIGINT AS order_count, sum(revenue) AS total_revenue, sum(revenue) / sum(orders) AS avg_order_value,
          sum(refunded) AS refunded_revenue, sum(revenue) - sum(refunded) AS net_revenue,
          CASE WHEN sum(revenue) <> 0 THEN sum(refunded) / sum(revenue) END AS refund_rate,
          sum(refunded_orders)::BIGINT AS refunded_orders,
          count(*) - 1 AS frequency, max(d) - min(d) AS recency_days, ${day} - min(d) AS tenure_days,
          CASE WHEN count(*) > 1 THEN (sum(revenue - refunded) - arg_min(revenue - refunded, d)) / (count(*) - 1) END AS repeat_avg_value
   FROM days GROUP BY customer_id`,
  copy('customer_summary', 'customer_id'));

// RFM as stages/segments/scores.go: min(5, 1 + floor(5 * PERCENT_RANK)),
// PERCENT_RANK = (rank - 1) / (n - 1) with ties sharing the lowest rank, in
// integers so no float rounding moves a boundary; money in cents.
const score = (expr, dir) =>
  `CASE WHEN n <= 1 THEN 1 ELSE least(5, 1 + (5 * (rank() OVER (ORDER BY ${expr} ${dir}) - 1)) // (n - 1)) END`;
const segment = `CASE ${rules.map(([name, r, f]) =>
  `WHEN r_score BETWEEN ${r[0]} AND ${r[1]} AND f_score BETWEEN ${f[0]} AND ${f[1]} THEN ${q(name)}`).join(' ')} ELSE 'Other' END`;
await step('segments',
  `CREATE TEMP TABLE customer_segments AS
   WITH base AS (
     SELECT customer_id, tenure_days - recency_days AS days_since_last_order, order_count,
            round(total_revenue * 100) AS cents, total_revenue, count(*) OVER () AS n
     FROM customer_summary),
   scored AS (
     SELECT customer_id, days_since_last_order, order_count, total_revenue,
            ${score('days_since_last_order', 'DESC')} AS r_score,
            ${score('order_count', 'ASC')} AS f_score,
            ${score('cents', 'ASC')} AS m_score
     FROM base)
   SELECT ${day} AS snapshot_date, customer_id, days_since_last_order, r_score, f_score, m_score,
          r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_cell, ${segment} AS rfm_segment,
          order_count > 1 AS is_repeat_customer
   FROM scored`,
  copy('customer_segments', 'customer_id'));

// Monthly cohorts: customers by the month of their first order; every
// offset up to the run's month, empty ones included.
await step('cohorts',
  `CREATE TEMP TABLE cohort_retention AS
   WITH firsts AS (SELECT customer_id, date_trunc('month', min(d))::DATE AS cohort FROM days GROUP BY 1),
   sizes AS (SELECT cohort, count(*) AS size FROM firsts GROUP BY 1),
   cells AS (
     SELECT f.cohort, datediff('month', f.cohort, date_trunc('month', x.d)) AS off,
            count(DISTINCT x.customer_id) AS active, sum(x.orders)::BIGINT AS orders, sum(x.revenue) AS revenue
     FROM days x JOIN firsts f USING (customer_id) GROUP BY 1, 2),
   grid AS (
     SELECT s.cohort, g.off, s.size FROM sizes s,
       LATERAL generate_series(0, datediff('month', s.cohort, date_trunc('month', ${day}))) AS g(off))
   SELECT ${day} AS snapshot_date, g.cohort AS cohort_period, g.off AS period_offset,
          (g.cohort + to_months(g.off::INTEGER))::DATE AS period_start, g.size AS cohort_size,
          coalesce(c.active, 0) AS active_customers, coalesce(c.active, 0) / g.size AS retention_rate,
          coalesce(c.orders, 0) AS orders, coalesce(c.revenue, 0) AS revenue,
          sum(coalesce(c.revenue, 0)) OVER (PARTITION BY g.cohort ORDER BY g.off) / g.size AS cumulative_revenue_per_customer
   FROM grid g LEFT JOIN cells c USING (cohort, off)`,
  copy('cohort_retention', 'cohort_period, period_offset'));

// Monthly KPIs, total dimension. Each purchase day keeps a customer for
// churn_days: a customer is new on the first day, reactivated on a day
// churn_days or more after the previous one, churned churn_days after a day
// with no later one within churn_days; customers at a month's end are the
// running sum of new + reactivated - churned, as stages/kpis counts them.
await step('kpis',
  `CREATE TEMP TABLE retention_kpis AS
   WITH seq AS (
     SELECT customer_id, d, lag(d) OVER w AS prev, lead(d) OVER w AS next
     FROM days WINDOW w AS (PARTITION BY customer_id ORDER BY d)),
   events AS (
     SELECT date_trunc('month', d)::DATE AS m, count(*) FILTER (WHERE prev IS NULL) AS n,
            count(*) FILTER (WHERE prev IS NOT NULL AND d - prev >= ${churnDays}) AS reactivated
     FROM seq GROUP BY 1),
   churn AS (
     SELECT date_trunc('month', d + ${churnDays})::DATE AS m, count(*) AS churned FROM seq
     WHERE (next IS NULL OR next - d >= ${churnDays}) AND d + ${churnDays} <= ${day} GROUP BY 1),
   months AS (
     SELECT m::DATE AS m, least(m + INTERVAL 1 MONTH - INTERVAL 1 DAY, ${day})::DATE AS m_end
     FROM generate_series((SELECT date_trunc('month', min(d)) FROM days), ${day}, INTERVAL 1 MONTH) AS g(m)),
   money AS (
     SELECT date_trunc('month', d)::DATE AS m, customer_id, sum(orders) AS orders, sum(revenue) AS revenue, sum(refunded) AS refunded
     FROM days GROUP BY 1, 2),
   per AS (
     SELECT m, count(*) AS active, sum(orders)::BIGINT AS orders, sum(revenue) AS revenue, sum(revenue) - sum(refunded) AS net_revenue,
            count(*) FILTER (WHERE orders >= 2) AS repeaters,
            sum(revenue) FILTER (WHERE rn <= ceil(0.2 * cnt)) / sum(revenue) AS top20
     FROM (SELECT *, row_number() OVER (PARTITION BY m ORDER BY revenue DESC) AS rn, count(*) OVER (PARTITION BY m) AS cnt FROM money)
     GROUP BY 1),
   flow AS (
     SELECT mo.m, mo.m_end, coalesce(ev.n, 0) AS n, coalesce(ev.reactivated, 0) AS r, coalesce(ch.churned, 0) AS c
     FROM months mo LEFT JOIN events ev USING (m) LEFT JOIN churn ch USING (m)),
   counts AS (
     SELECT *, sum(n + r - c) OVER (ORDER BY m) AS e FROM flow)
   SELECT ${day} AS snapshot_date, 'total' AS dimension, 'total' AS dimension_value, k.m AS period_start, k.m_end AS period_end,
          (k.e - (k.n + k.r - k.c))::BIGINT AS customers_start, k.e::BIGINT AS customers_end, k.n AS new_customers,
          k.r AS reactivated_customers, k.c AS churned_customers,
          CASE WHEN k.e - (k.n + k.r - k.c) > 0 THEN (k.e - k.n) / (k.e - (k.n + k.r - k.c)) END AS retention_rate,
          CASE WHEN k.e - (k.n + k.r - k.c) > 0 THEN k.c / (k.e - (k.n + k.r - k.c)) END AS churn_rate,
          coalesce(p.active, 0) AS active_customers, coalesce(p.orders, 0) AS orders, coalesce(p.revenue, 0) AS revenue,
          p.revenue / p.orders AS avg_order_value, p.orders / p.active AS purchase_frequency,
          p.repeaters / p.active AS repeat_purchase_rate, p.top20 AS top20_revenue_share, coalesce(p.net_revenue, 0) AS net_revenue
   FROM counts k LEFT JOIN per p USING (m)`,
  copy('retention_kpis', 'period_start'));

// The figures the benchmark checks against retain's manifest and
// customer_summary. Money sums add up each customer's value rounded to the
// cent, halves away from zero, as retain publishes it.
const [fig] = await rows(`
  SELECT count(*) AS customers, sum(order_count)::BIGINT AS orders, sum(refunded_orders)::BIGINT AS refunded_orders,
         sum(round(total_revenue, 2)) AS revenue, sum(round(refunded_revenue, 2)) AS refunded_revenue,
         sum(round(net_revenue, 2)) AS net_revenue,
         (SELECT count(*) FROM settled WHERE accepted) AS refund_rows_used,
         (SELECT count(*) FROM cohort_retention) AS cohort_rows, (SELECT count(*) FROM retention_kpis) AS kpi_rows
  FROM customer_summary`);
const fates = await rows(`
  SELECT fate, count(*) AS n FROM checked WHERE fate NOT IN ('order', 'refund') GROUP BY 1
  UNION ALL SELECT 'duplicate_order_id', (SELECT count(*) FROM checked WHERE fate = 'order') - (SELECT count(*) FROM winners)
  UNION ALL SELECT 'excluded:status_not_counted', count(*) FROM winners WHERE kind = 'other'
  UNION ALL SELECT reason, count(*) FROM refund_rows WHERE reason IS NOT NULL GROUP BY 1
  UNION ALL SELECT 'refund_exceeds_order', count(*) FROM settled WHERE NOT accepted`);
const quarantined = {}, excluded = {};
for (const { fate, n } of fates) {
  if (Number(n) === 0) continue;
  const [to, name] = fate.startsWith('excluded:') ? [excluded, fate.slice('excluded:'.length)] : [quarantined, fate];
  to[name] = (to[name] || 0) + Number(n);
}
const result = {
  customers: Number(fig.customers), orders: Number(fig.orders), refund_rows_used: Number(fig.refund_rows_used),
  refunded_orders: Number(fig.refunded_orders), revenue: Number(fig.revenue),
  refunded_revenue: Number(fig.refunded_revenue), net_revenue: Number(fig.net_revenue),
  quarantined, excluded, cohort_rows: Number(fig.cohort_rows), kpi_rows: Number(fig.kpi_rows), seconds,
};

let failed = 0;
if (flag === '--compare') {
  const part = (t) => q(join(retainOut, t, `snapshot_date=${runDate}`, '*.parquet'));
  const [ours] = await rows(`
    SELECT count(*) AS customers, sum(order_count)::BIGINT AS orders, sum(refunded_orders)::BIGINT AS refunded_orders,
           sum(total_revenue) AS revenue, sum(refunded_revenue) AS refunded_revenue, sum(net_revenue) AS net_revenue,
           (SELECT count(*) FROM read_parquet(${part('cohort_retention')})) AS cohort_rows,
           (SELECT count(*) FROM read_parquet(${part('retention_kpis')}) WHERE dimension = 'total') AS kpi_rows
    FROM read_parquet(${part('customer_summary')})`);
  const fail = (what) => { failed++; console.error(`FAIL ${what}`); };
  for (const k of ['customers', 'orders', 'refunded_orders', 'cohort_rows', 'kpi_rows']) {
    if (Number(ours[k]) !== result[k]) fail(`${k}: duckdb ${result[k]}, retain ${ours[k]}`);
  }
  // Both sums add the same cent values in another order: 1e-9 of the sum
  // covers that, and 5 cents a customer whose exact value sits within
  // rounding noise of a half cent and rounds the other way.
  for (const k of ['revenue', 'refunded_revenue', 'net_revenue']) {
    if (Math.abs(Number(ours[k]) - result[k]) > 0.05 + 1e-9 * Math.abs(result[k])) fail(`${k}: duckdb ${result[k]}, retain ${ours[k]}`);
  }
  // Rows by fate, from retain's manifest.
  const acct = JSON.parse(readFileSync(join(retainOut, '_runs', `snapshot_date=${runDate}`, '_manifest.json'), 'utf8')).row_accounting;
  if (acct.refund_rows_used !== result.refund_rows_used) fail(`refund_rows_used: duckdb ${result.refund_rows_used}, retain ${acct.refund_rows_used}`);
  for (const [what, peer, theirs] of [['quarantined', quarantined, acct.rows_quarantined_by_reason], ['excluded', excluded, acct.rows_excluded_by_reason]]) {
    for (const k of new Set([...Object.keys(peer), ...Object.keys(theirs || {})])) {
      if ((peer[k] || 0) !== ((theirs || {})[k] || 0)) fail(`${what} ${k}: duckdb ${peer[k] || 0}, retain ${(theirs || {})[k] || 0}`);
    }
  }
  // Cohort cells, KPI months and customers, value by value: ratios to 1e-6
  // relative, money within half a cent of the peer's unrounded value.
  const near = (a, b) => `(${a} IS NULL) = (${b} IS NULL) AND coalesce(abs(${a} - ${b}) <= 1e-6 * greatest(1, abs(${b})), true)`;
  const nearMoney = (a, b) => `(${a} IS NULL) = (${b} IS NULL) AND coalesce(abs(${a} - ${b}) <= 0.005 + 1e-9 * abs(${b}), true)`;
  const [customers] = await rows(`
    SELECT count(*) FILTER (WHERE t.customer_id IS NULL OR r.customer_id IS NULL OR t.order_count <> r.order_count
      OR t.refunded_orders <> r.refunded_orders OR t.frequency <> r.frequency OR t.recency_days <> r.recency_days
      OR t.tenure_days <> r.tenure_days OR t.first_order_at <> r.first_order_at OR t.last_order_at <> r.last_order_at
      OR NOT (${nearMoney('t.total_revenue', 'r.total_revenue')}) OR NOT (${nearMoney('t.refunded_revenue', 'r.refunded_revenue')})
      OR NOT (${nearMoney('t.net_revenue', 'r.net_revenue')}) OR NOT (${nearMoney('t.avg_order_value', 'r.avg_order_value')})
      OR NOT (${nearMoney('t.repeat_avg_value', 'r.repeat_avg_value')}) OR NOT (${near('t.refund_rate', 'r.refund_rate')})) AS bad
    FROM customer_summary r FULL JOIN read_parquet(${part('customer_summary')}) t USING (customer_id)`);
  if (Number(customers.bad) !== 0) fail(`customer_summary: ${customers.bad} customers differ`);
  const [cells] = await rows(`
    SELECT count(*) FILTER (WHERE t.cohort_period IS NULL OR r.cohort_period IS NULL OR t.cohort_size <> r.cohort_size
      OR t.active_customers <> r.active_customers OR t.orders <> r.orders OR t.period_start <> r.period_start
      OR NOT (${nearMoney('t.revenue', 'r.revenue')}) OR NOT (${near('t.retention_rate', 'r.retention_rate')})
      OR NOT (${nearMoney('t.cumulative_revenue_per_customer', 'r.cumulative_revenue_per_customer')})) AS bad
    FROM cohort_retention r FULL JOIN read_parquet(${part('cohort_retention')}) t USING (cohort_period, period_offset)`);
  if (Number(cells.bad) !== 0) fail(`cohort_retention: ${cells.bad} cells differ`);
  const [months] = await rows(`
    SELECT count(*) FILTER (WHERE t.period_start IS NULL OR r.period_start IS NULL OR t.period_end <> r.period_end
      OR t.customers_start <> r.customers_start OR t.customers_end <> r.customers_end OR t.new_customers <> r.new_customers
      OR t.reactivated_customers <> r.reactivated_customers OR t.churned_customers <> r.churned_customers
      OR t.active_customers <> r.active_customers OR t.orders <> r.orders
      OR NOT (${nearMoney('t.revenue', 'r.revenue')}) OR NOT (${near('t.retention_rate', 'r.retention_rate')})
      OR NOT (${near('t.churn_rate', 'r.churn_rate')}) OR NOT (${nearMoney('t.avg_order_value', 'r.avg_order_value')})
      OR NOT (${near('t.purchase_frequency', 'r.purchase_frequency')}) OR NOT (${near('t.repeat_purchase_rate', 'r.repeat_purchase_rate')})
      OR NOT (${near('t.top20_revenue_share', 'r.top20_revenue_share')}) OR NOT (${nearMoney('t.net_revenue', 'r.net_revenue')})) AS bad
    FROM retention_kpis r FULL JOIN (SELECT * FROM read_parquet(${part('retention_kpis')}) WHERE dimension = 'total') t USING (period_start)`);
  if (Number(months.bad) !== 0) fail(`retention_kpis: ${months.bad} total months differ`);
  const segs = await rows(`
    WITH a AS (SELECT rfm_segment, count(*) AS n FROM customer_segments GROUP BY 1),
    b AS (SELECT rfm_segment, count(*) AS n FROM read_parquet(${part('customer_segments')}) GROUP BY 1)
    SELECT rfm_segment, coalesce(a.n, 0) AS duckdb, coalesce(b.n, 0) AS retain FROM a FULL JOIN b USING (rfm_segment) ORDER BY 1`);
  const tolerance = Math.max(2, Math.floor(0.001 * result.customers));
  result.segments = {};
  for (const s of segs) {
    result.segments[s.rfm_segment] = [Number(s.duckdb), Number(s.retain)];
    if (Math.abs(Number(s.duckdb) - Number(s.retain)) > tolerance) fail(`segment ${s.rfm_segment}: duckdb ${s.duckdb}, retain ${s.retain} (tolerance ${tolerance})`);
  }
  result.segment_tolerance = tolerance;
  result.compare = failed === 0 ? 'ok' : 'failed';
}
console.log(JSON.stringify(result));
process.exit(failed === 0 ? 0 : 1);
