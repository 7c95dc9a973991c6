-- retain plan: job bigquery, run date 2026-11-22: orders before 2026-11-23 00:00 Europe/Berlin
-- source my-shop-prod.sales.orders, a plain read: 1 query
-- input.order_items from my-shop-prod.sales.order_lines, read whole: 1 query
-- input.fx_rates from my-shop-prod.finance.daily_fx_rates, read whole: 1 query
-- BigQuery not asked (--offline): no estimates, and the tables' column types are assumed:
--   order_id STRING (order_id)
--   customer_id STRING (customer_id)
--   created_at TIMESTAMP (order_ts)
--   total_amount FLOAT64 (amount)
--   currency STRING (currency)
--   shipping_country STRING (country)
--   sales_channel STRING (channel)
--   status STRING (status)
--   in my-shop-prod.sales.order_lines:
--   order_id STRING (order_id)
--   product_sku STRING (sku)
--   quantity INT64 (quantity)
--   in my-shop-prod.finance.daily_fx_rates:
--   rate_date DATE (date)
--   currency STRING (currency)
--   rate_to_eur FLOAT64 (rate_to_reporting)
--   not mapped in the job file, so taken to be absent from my-shop-prod.sales.order_lines: unit_price, unit_cost
-- With other types (order_ts a DATE or DATETIME, amount NUMERIC) the SQL differs; with credentials and without --offline the plan reads the tables' schemas.

-- query 1 of 3: orders
-- @window_end TIMESTAMP 2026-11-22 23:00:00+00:00
SELECT `order_id` AS `order_id`, `customer_id` AS `customer_id`, `created_at` AS `order_ts`, `total_amount` AS `amount`, `currency` AS `currency`, `shipping_country` AS `country`, `sales_channel` AS `channel`, `status` AS `status`, COALESCE(TRIM(CAST(`order_id` AS STRING)) != '' AND COUNT(*) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))) > 1, FALSE) AS `_shared_order_id` FROM `my-shop-prod.sales.orders` WHERE `created_at` IS NULL OR `created_at` < @window_end;

-- query 2 of 3: order_items
SELECT `order_id` AS `order_id`, `product_sku` AS `sku`, `quantity` AS `quantity` FROM `my-shop-prod.sales.order_lines`;

-- query 3 of 3: fx_rates
SELECT `rate_date` AS `date`, `currency` AS `currency`, `rate_to_eur` AS `rate_to_reporting` FROM `my-shop-prod.finance.daily_fx_rates`;

-- sink: after the local commit, one load job per table into my-shop-prod.retain.retain_<table>$YYYYMMDD, then a CREATE OR REPLACE VIEW per table's _latest view; loads and DDL process no bytes.
