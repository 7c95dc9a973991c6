-- retain plan: job plain, run date 2026-11-22: orders before 2026-11-23 00:00 UTC
-- source shop-analytics.sales.orders_v, a plain read: 1 query
-- BigQuery not asked (--offline): no estimates, and the table's column types are assumed:
--   OrderNo STRING (order_id)
--   Client STRING (customer_id)
--   PlacedAt TIMESTAMP (order_ts)
--   Total FLOAT64 (amount)
--   Ctry STRING (country)
--   State STRING (status)
--   not mapped in the job file, so taken to be absent: currency, channel
-- With other types (order_ts a DATE or DATETIME, amount NUMERIC) the SQL differs; with credentials and without --offline the plan reads the table's schema.

-- query 1 of 1: orders
-- @window_end TIMESTAMP 2026-11-23 00:00:00+00:00
SELECT `OrderNo` AS `order_id`, `Client` AS `customer_id`, `PlacedAt` AS `order_ts`, `Total` AS `amount`, `Ctry` AS `country`, `State` AS `status`, COALESCE(TRIM(CAST(`OrderNo` AS STRING)) != '' AND COUNT(*) OVER (PARTITION BY TRIM(CAST(`OrderNo` AS STRING))) > 1, FALSE) AS `_shared_order_id` FROM `shop-analytics.sales.orders_v` WHERE `PlacedAt` IS NULL OR `PlacedAt` < @window_end;
