SELECT `OrderNo` AS `order_id`, `Client` AS `customer_id`, `PlacedAt` AS `order_ts`, `Total` AS `amount`, `channel` AS `channel`, `State` AS `status` FROM `shop-analytics.sales.mapped_columns` WHERE `PlacedAt` IS NULL OR `PlacedAt` < @window_end ORDER BY `order_id`, `customer_id`, `order_ts`, `amount`, `channel`, `status`
-- @window_end TIMESTAMP 2026-11-22 23:00:00+00:00
