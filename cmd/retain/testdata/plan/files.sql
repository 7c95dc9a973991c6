-- retain plan: job t, run date 2026-11-22: orders before 2026-11-23 00:00 UTC
-- input.orders is read from files: the run issues no BigQuery query.

-- sink: after the local commit, one load job per table into my-shop.marts.retain_<table>$YYYYMMDD, then a CREATE OR REPLACE VIEW per table's _latest view; loads and DDL process no bytes.
