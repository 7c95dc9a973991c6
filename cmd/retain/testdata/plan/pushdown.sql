-- retain plan: job bigquery, run date 2026-11-22: orders before 2026-11-23 00:00 Europe/Berlin
-- source my-shop-prod.sales.orders, pushdown: 3 queries
-- BigQuery not asked (--offline): no estimates, and the table's column types are assumed:
--   order_id STRING (order_id)
--   customer_id STRING (customer_id)
--   created_at TIMESTAMP (order_ts)
--   total_amount FLOAT64 (amount)
--   shipping_country STRING (country)
--   sales_channel STRING (channel)
--   status STRING (status)
--   not mapped in the job file, so taken to be absent: currency
-- With other types (order_ts a DATE or DATETIME, amount NUMERIC) the SQL differs; with credentials and without --offline the plan reads the table's schema.

-- query 1 of 3: counts
-- @window_end TIMESTAMP 2026-11-22 23:00:00+00:00
-- @min_order_ts TIMESTAMP 1989-12-31 23:00:00+00:00
-- @max_amount FLOAT64 1e+09
-- @counted ARRAY<STRING> ["completed", "shipped"]
-- @refund ARRAY<STRING> ["refunded", "returned"]
WITH src AS (SELECT `order_id` AS `order_id`, `customer_id` AS `customer_id`, `created_at` AS `order_ts`, `total_amount` AS `amount`, `shipping_country` AS `country`, `sales_channel` AS `channel`, `status` AS `status`, COALESCE(TRIM(CAST(`order_id` AS STRING)) != '' AND COUNT(*) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1, FALSE) AS `_shared_order_id` FROM `my-shop-prod.sales.orders` WHERE `created_at` IS NULL OR `created_at` < @window_end), checked AS (SELECT *, (`order_id` IS NULL OR TRIM(CAST(`order_id` AS STRING)) = '') OR (`customer_id` IS NULL OR TRIM(CAST(`customer_id` AS STRING)) = '') OR (`order_ts` IS NULL OR `order_ts` < @min_order_ts) OR (`amount` IS NULL OR `amount` < 0 OR CAST(`amount` AS FLOAT64) > @max_amount) OR (IS_NAN(`amount`) OR IS_INF(`amount`)) AS _bad, CAST(`order_id` AS STRING) != TRIM(CAST(`order_id` AS STRING)) OR CAST(`customer_id` AS STRING) != TRIM(CAST(`customer_id` AS STRING)) AS _pad FROM src), flagged AS (SELECT *, NOT _bad AND COUNTIF(NOT _bad) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1 AS _dup, (COALESCE(`amount` < 0, FALSE) OR COALESCE(LOWER(TRIM(`status`)) IN UNNEST(@refund), FALSE)) OR COALESCE(LOGICAL_OR(`amount` < 0) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))), FALSE) AS _ref FROM checked), routed AS (SELECT *, _bad OR COALESCE(LOGICAL_OR(_dup OR _pad OR _ref) OVER (PARTITION BY TRIM(CAST(`customer_id` AS STRING))), FALSE) AS _raw FROM flagged) SELECT COUNTIF(NOT _raw) AS folded, COUNTIF(NOT _raw AND (`status` IS NULL OR LOWER(TRIM(`status`)) IN UNNEST(@counted))) AS used, COUNTIF(NOT _raw AND NOT (`status` IS NULL OR LOWER(TRIM(`status`)) IN UNNEST(@counted))) AS excluded FROM routed;

-- query 2 of 3: raw_orders
-- @window_end TIMESTAMP 2026-11-22 23:00:00+00:00
-- @min_order_ts TIMESTAMP 1989-12-31 23:00:00+00:00
-- @max_amount FLOAT64 1e+09
-- @refund ARRAY<STRING> ["refunded", "returned"]
WITH src AS (SELECT `order_id` AS `order_id`, `customer_id` AS `customer_id`, `created_at` AS `order_ts`, `total_amount` AS `amount`, `shipping_country` AS `country`, `sales_channel` AS `channel`, `status` AS `status`, COALESCE(TRIM(CAST(`order_id` AS STRING)) != '' AND COUNT(*) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1, FALSE) AS `_shared_order_id` FROM `my-shop-prod.sales.orders` WHERE `created_at` IS NULL OR `created_at` < @window_end), checked AS (SELECT *, (`order_id` IS NULL OR TRIM(CAST(`order_id` AS STRING)) = '') OR (`customer_id` IS NULL OR TRIM(CAST(`customer_id` AS STRING)) = '') OR (`order_ts` IS NULL OR `order_ts` < @min_order_ts) OR (`amount` IS NULL OR `amount` < 0 OR CAST(`amount` AS FLOAT64) > @max_amount) OR (IS_NAN(`amount`) OR IS_INF(`amount`)) AS _bad, CAST(`order_id` AS STRING) != TRIM(CAST(`order_id` AS STRING)) OR CAST(`customer_id` AS STRING) != TRIM(CAST(`customer_id` AS STRING)) AS _pad FROM src), flagged AS (SELECT *, NOT _bad AND COUNTIF(NOT _bad) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1 AS _dup, (COALESCE(`amount` < 0, FALSE) OR COALESCE(LOWER(TRIM(`status`)) IN UNNEST(@refund), FALSE)) OR COALESCE(LOGICAL_OR(`amount` < 0) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))), FALSE) AS _ref FROM checked), routed AS (SELECT *, _bad OR COALESCE(LOGICAL_OR(_dup OR _pad OR _ref) OVER (PARTITION BY TRIM(CAST(`customer_id` AS STRING))), FALSE) AS _raw FROM flagged) SELECT `order_id`, `customer_id`, `order_ts`, `amount`, `country`, `channel`, `status`, `_shared_order_id` FROM routed WHERE _raw;

-- query 3 of 3: order_days
-- @window_end TIMESTAMP 2026-11-22 23:00:00+00:00
-- @tz STRING "Europe/Berlin"
-- @min_order_ts TIMESTAMP 1989-12-31 23:00:00+00:00
-- @max_amount FLOAT64 1e+09
-- @counted ARRAY<STRING> ["completed", "shipped"]
-- @refund ARRAY<STRING> ["refunded", "returned"]
WITH src AS (SELECT `order_id` AS `order_id`, `customer_id` AS `customer_id`, `created_at` AS `order_ts`, `total_amount` AS `amount`, `shipping_country` AS `country`, `sales_channel` AS `channel`, `status` AS `status`, COALESCE(TRIM(CAST(`order_id` AS STRING)) != '' AND COUNT(*) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1, FALSE) AS `_shared_order_id` FROM `my-shop-prod.sales.orders` WHERE `created_at` IS NULL OR `created_at` < @window_end), checked AS (SELECT *, (`order_id` IS NULL OR TRIM(CAST(`order_id` AS STRING)) = '') OR (`customer_id` IS NULL OR TRIM(CAST(`customer_id` AS STRING)) = '') OR (`order_ts` IS NULL OR `order_ts` < @min_order_ts) OR (`amount` IS NULL OR `amount` < 0 OR CAST(`amount` AS FLOAT64) > @max_amount) OR (IS_NAN(`amount`) OR IS_INF(`amount`)) AS _bad, CAST(`order_id` AS STRING) != TRIM(CAST(`order_id` AS STRING)) OR CAST(`customer_id` AS STRING) != TRIM(CAST(`customer_id` AS STRING)) AS _pad FROM src), flagged AS (SELECT *, NOT _bad AND COUNTIF(NOT _bad) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1 AS _dup, (COALESCE(`amount` < 0, FALSE) OR COALESCE(LOWER(TRIM(`status`)) IN UNNEST(@refund), FALSE)) OR COALESCE(LOGICAL_OR(`amount` < 0) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))), FALSE) AS _ref FROM checked), routed AS (SELECT *, _bad OR COALESCE(LOGICAL_OR(_dup OR _pad OR _ref) OVER (PARTITION BY TRIM(CAST(`customer_id` AS STRING))), FALSE) AS _raw FROM flagged) SELECT customer_id, activity_date, orders, revenue_units, revenue_frac_hi, revenue_frac_lo, first_order_at, last_order_at, latest.country AS country, latest.channel AS channel FROM (SELECT CAST(`customer_id` AS STRING) AS customer_id, DATE(`order_ts`, @tz) AS activity_date, COUNT(*) AS orders, SUM(CAST(FLOOR(CAST(`amount` AS FLOAT64)) AS INT64)) AS revenue_units, SUM(CAST(FLOOR((CAST(`amount` AS FLOAT64) - FLOOR(CAST(`amount` AS FLOAT64))) * 2147483648) AS INT64)) AS revenue_frac_hi, SUM(CAST(FLOOR(((CAST(`amount` AS FLOAT64) - FLOOR(CAST(`amount` AS FLOAT64))) * 2147483648 - FLOOR((CAST(`amount` AS FLOAT64) - FLOOR(CAST(`amount` AS FLOAT64))) * 2147483648)) * 2147483648) AS INT64)) AS revenue_frac_lo, MIN(`order_ts`) AS first_order_at, MAX(`order_ts`) AS last_order_at, ARRAY_AGG(STRUCT(`country` AS country, `channel` AS channel) ORDER BY `order_ts` DESC, `country` DESC, `channel` DESC LIMIT 1)[OFFSET(0)] AS latest FROM routed WHERE NOT _raw AND (`status` IS NULL OR LOWER(TRIM(`status`)) IN UNNEST(@counted)) GROUP BY customer_id, activity_date);

-- sink: after the local commit, one load job per table into my-shop-prod.retain.retain_<table>$YYYYMMDD, then a CREATE OR REPLACE VIEW per table's _latest view; loads and DDL process no bytes.
