package schemas

import "github.com/apache/arrow/go/v15/arrow"

// Quarantine holds every input row that could not be used, with the reason.
// Values are kept as text exactly as read so nothing is lost to a failed conversion.
var Quarantine = Table{
	Name:  "quarantine",
	Grain: "one row per rejected input row",
	Doc: "Input rows rejected by validation. Checks run in this order and the first failing one is the reason: " +
		"missing_order_id, missing_customer_id, invalid_utf8 (order_id, customer_id or currency not valid UTF-8), missing_order_ts, unparseable_order_ts, " +
		"order_ts_out_of_range (before validate.min_order_ts, or beyond int64 microseconds), missing_amount, non_numeric_amount, negative_amount (only with validate.refund_statuses empty; otherwise a negative amount is a refund), " +
		"unknown_currency (with input.fx_rates: no rate for the order's currency on or before its date), " +
		"amount_out_of_range (above validate.max_amount in the reporting currency, after conversion); " +
		"then rows after the run date are excluded (not quarantined); then duplicate_order_id (among the rows of an order_id, ids compared with blanks trimmed, that pass every check, the least wins: earliest order_ts, then customer_id, " +
		"then the smaller amount as read, then currency, status, country and channel as read, null first; every other row of the id is quarantined, whatever the rows' order in the input). Rows with a status that is not counted are excluded after the duplicate check. " +
		"Refunds (a negative amount with a counted or refund status) take no part in the duplicate check; once every row is seen they are matched to the used order of their order_id, " +
		"in order of time, amount and then their other values, and quarantined as refund_without_order (no used order of that id), refund_customer_mismatch (another customer_id), " +
		"refund_before_order (a local day before the order's) or refund_exceeds_order (the refund that would take the order's refunds above its amount, measured in the order's own currency; an order with a refund status is refunded in full). " +
		"order_items rows (source_table order_items) are quarantined as missing_order_id, missing_sku, invalid_utf8 or invalid_unit_cost (a unit_cost that is there but negative, not finite or not a number); items of orders that were not used are excluded and counted in the manifest's item_accounting. " +
		"A CSV record of orders or order_items that does not split into the header's columns on its line (a ragged row, a misplaced quote) is quarantined by the reader as malformed_row, with the fields it has mapped to the value columns by position. " +
		"Bytes of a value that are not valid UTF-8 are written as \\xHH. " +
		"Rows of orders are in order of source_file, source_row (NULL first), then their values as read, so the order rows arrive in never shows.",
	Columns: []Column{
		snapshotDate,
		{"reason", arrow.BinaryTypes.String, false, "Why the row was rejected (see table description)."},
		{"source_file", arrow.BinaryTypes.String, false, "Input file the row came from."},
		{"source_row", arrow.PrimitiveTypes.Int64, true, "1-based row number within source_file (data rows, header not counted); for malformed_row, the line number in the CSV file (the header is line 1); NULL for a row read from BigQuery, whose tables have no row order."},
		{"order_id", arrow.BinaryTypes.String, true, "order_id as read, as text."},
		{"customer_id", arrow.BinaryTypes.String, true, "customer_id as read, as text."},
		{"order_ts", arrow.BinaryTypes.String, true, "order_ts as read, as text."},
		{"amount", arrow.BinaryTypes.String, true, "amount as read, as text."},
		{"status", arrow.BinaryTypes.String, true, "status as read, as text."},
		{"source_table", arrow.BinaryTypes.String, false, "Input the row came from: orders or order_items."},
		{"sku", arrow.BinaryTypes.String, true, "sku as read, as text (order_items rows)."},
	},
}

// CustomerSummary is the per-customer summary every later stage builds on.
var CustomerSummary = Table{
	Name:  "customer_summary",
	Grain: "one row per customer with at least one used order",
	Doc: "Per-customer order history up to the end of the run date. Purchase periods are calendar days in the job's time zone: " +
		"orders on the same day collapse into one period, as the BTYD models (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) expect. " +
		"Money is in input.reporting_currency when input.fx_rates is given (each order converted at the rate of its date), otherwise in the orders' amount unit.",
	Columns: []Column{
		snapshotDate,
		{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier."},
		{"first_order_at", Timestamp, false, "Time of the customer's first used order, UTC."},
		{"last_order_at", Timestamp, false, "Time of the customer's last used order up to the run date, UTC."},
		{"order_count", arrow.PrimitiveTypes.Int64, false, "Number of used orders."},
		{"total_revenue", arrow.PrimitiveTypes.Float64, false, "Sum of amount over used orders. In the reporting currency."},
		{"avg_order_value", arrow.PrimitiveTypes.Float64, false, "total_revenue / order_count. In the reporting currency."},
		{"refunded_revenue", arrow.PrimitiveTypes.Float64, false, "Money refunded on used orders: the whole amount of orders with a refund status (validate.refund_statuses) and the partial refunds (negative amounts) matched to their order; at most total_revenue. In the reporting currency."},
		{"net_revenue", arrow.PrimitiveTypes.Float64, false, "total_revenue − refunded_revenue. In the reporting currency."},
		{"refund_rate", arrow.PrimitiveTypes.Float64, true, "refunded_revenue / total_revenue; null when total_revenue is 0."},
		{"refunded_orders", arrow.PrimitiveTypes.Int64, false, "Used orders with any refund (a refund status or at least one partial refund)."},
		{"frequency", arrow.PrimitiveTypes.Int64, false, "BTYD frequency: number of repeat purchase days (distinct order days minus the first)."},
		{"recency_days", arrow.PrimitiveTypes.Int64, false, "BTYD recency: days from the first to the last purchase day."},
		{"tenure_days", arrow.PrimitiveTypes.Int64, false, "BTYD T: days from the first purchase day to the run date."},
		{"repeat_avg_value", arrow.PrimitiveTypes.Float64, true, "BTYD monetary value: mean net spend (revenue less the refunds of that day's orders) per repeat purchase day (the first day excluded), the value the Gamma-Gamma spend model is fitted on; null when frequency is 0. In the reporting currency."},
		{"country", arrow.BinaryTypes.String, true, "Country of the customer's latest order; null when that order has none."},
		{"channel", arrow.BinaryTypes.String, true, "Channel of the customer's latest order; null when that order has none."},
	},
}

// CustomerPeriods is an intermediate table (not written): one row per
// customer and cell of the night's grid (stages/internal/periods), sorted
// by customer_id then first_date. A cell is a run of purchase days inside
// one kpis.period and one cohorts.period that no night a stage reports on splits, the customer's
// first purchase day always a cell of its own; money sums are exact over
// the cell's orders, rounded once. It carries what the stages after the
// customer summary read of a customer's history at one row per period
// rather than per purchase day, so a warehouse can send it folded.
var CustomerPeriods = Table{
	Name:  "customer_periods",
	Grain: "one row per customer and grid cell with at least one used order",
	Doc:   "Per-customer activity per grid cell, sorted by customer_id then first_date.",
	Columns: []Column{
		{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier."},
		{"country", arrow.BinaryTypes.String, true, "Country of the customer's latest order (as in customer_summary)."},
		{"first_date", arrow.FixedWidthTypes.Date32, false, "The cell's first purchase day (local calendar day)."},
		{"last_date", arrow.FixedWidthTypes.Date32, false, "The cell's last purchase day."},
		{"purchase_days", arrow.PrimitiveTypes.Int64, false, "Distinct purchase days in the cell."},
		{"orders", arrow.PrimitiveTypes.Int64, false, "Used orders in the cell."},
		{"revenue", arrow.PrimitiveTypes.Float64, false, "Sum of amount over the cell's orders, exact, rounded once. In the reporting currency."},
		{"refunded_revenue", arrow.PrimitiveTypes.Float64, false, "Refunds of the cell's orders, whenever they were made. In the reporting currency."},
		{"run_date_refunded_revenue", arrow.PrimitiveTypes.Float64, false, "Of refunded_revenue, the refunds dated on the run date. In the reporting currency."},
		{"period_day_later_refunded_revenue", arrow.PrimitiveTypes.Float64, false, "Of refunded_revenue, the refunds dated after the same day of the previous kpis.period. In the reporting currency."},
		// A customer's cells differ from night to night and with the job's
		// settings, and a float sum of rounded cells would differ in its
		// last bits with them; a column plus its residual is the cell's
		// exact sum, so a sum over cells can be exact and every night
		// agrees on it.
		{"revenue_residual", arrow.PrimitiveTypes.Float64, true, "The exact sum of the cell's amounts less revenue; null when revenue is exact."},
		{"refunded_revenue_residual", arrow.PrimitiveTypes.Float64, true, "The exact refunds less refunded_revenue; null when exact."},
		{"run_date_refunded_revenue_residual", arrow.PrimitiveTypes.Float64, true, "The exact run-date refunds less run_date_refunded_revenue; null when exact."},
		{"period_day_later_refunded_revenue_residual", arrow.PrimitiveTypes.Float64, true, "The exact later refunds less period_day_later_refunded_revenue; null when exact."},
	},
}

// OrderCells is an intermediate table (not written) that a warehouse source
// with pushdown emits instead of raw orders: each customer's used orders
// folded in SQL per cell of the night's grid (stages/internal/periods), the
// same cells customer_periods holds, so at most a few rows per customer
// cross the network.
var OrderCells = Table{
	Name:  "order_cells",
	Grain: "one row per customer and cell of the night's grid with at least one used order",
	Doc:   "Used orders folded per customer and grid cell by the warehouse.",
	Columns: []Column{
		{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier."},
		{"first_date", arrow.FixedWidthTypes.Date32, false, "Local calendar day of the cell's first order."},
		{"last_date", arrow.FixedWidthTypes.Date32, false, "Local calendar day of the cell's last order."},
		{"purchase_days", arrow.PrimitiveTypes.Int64, false, "Distinct local calendar days with a used order in the cell."},
		{"orders", arrow.PrimitiveTypes.Int64, false, "Used orders in the cell."},
		{"revenue_units", arrow.PrimitiveTypes.Int64, false, "Sum over the cell's orders of floor(amount): the whole part of the cell's exact revenue sum."},
		{"revenue_frac_hi", arrow.PrimitiveTypes.Int64, false, "Sum of each amount's fraction's top 31 bits, in units of 2^-31."},
		{"revenue_frac_lo", arrow.PrimitiveTypes.Int64, false, "Sum of each amount's fraction's next 31 bits, in units of 2^-62; revenue is revenue_units + revenue_frac_hi·2^-31 + revenue_frac_lo·2^-62, exact."},
		{"first_order_at", Timestamp, false, "Time of the cell's first order."},
		{"last_order_at", Timestamp, false, "Time of the cell's last order."},
		{"country", arrow.BinaryTypes.String, true, "Country of the cell's latest order (on a tie, the greatest country, then channel; null lowest)."},
		{"channel", arrow.BinaryTypes.String, true, "Channel of the same order as country."},
	},
}

// Refunds is an intermediate table (not written): what validation matched
// of refunds, one row per refunded order, so the customer summary can net
// them off the order's own day without seeing the refund rows.
var Refunds = Table{
	Name:  "refunds",
	Grain: "one row per used order with a refund",
	Doc:   "Refunds matched to their used orders by validation, summed per order.",
	Columns: []Column{
		{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier of the order."},
		{"order_id", arrow.BinaryTypes.String, false, "The refunded order."},
		{"order_date", arrow.FixedWidthTypes.Date32, false, "Local calendar day of the refunded order, which the refund is netted on."},
		{"refunded_amount", arrow.PrimitiveTypes.Float64, false, "Sum of the order's refunds, at most its amount. In the reporting currency."},
		{"run_date_refunded_amount", arrow.PrimitiveTypes.Float64, false, "Of refunded_amount, what refund rows dated on the run date took off: a run for the night before, on the same input, does not see them. In the reporting currency."},
		{"period_day_later_refunded_amount", arrow.PrimitiveTypes.Float64, false, "Of refunded_amount, what refund rows dated after the same day of the previous kpis.period took off: a run for that day, on the same input, does not see them. In the reporting currency."},
	},
}

// Layout holds the job settings that shape output columns.
type Layout struct {
	// HorizonDays names the expected_purchases_<h>d and
	// p_no_purchase_<h>d columns.
	HorizonDays int
}

// DefaultLayout is the layout of a job that sets nothing; docs use it.
func DefaultLayout() Layout { return Layout{HorizonDays: 90} }

// Outputs lists every table a run writes, in the order they are documented.
func Outputs() []Table { return OutputsFor(DefaultLayout()) }

// OutputsFor lists every output table as a job with layout l writes it.
func OutputsFor(l Layout) []Table {
	return []Table{CustomerSummary, customerSegments(l.HorizonDays), SegmentSummary, SegmentTransitions, CohortRetention, RetentionKPIs,
		ModelFit, ModelHoldout, ModelTracking, ProductAffinity, Quarantine}
}

// Lookup returns the output table with the given name.
func Lookup(name string) (Table, bool) { return LookupFor(name, DefaultLayout()) }

// LookupFor returns the output table with the given name as layout l shapes it.
func LookupFor(name string, l Layout) (Table, bool) {
	for _, t := range OutputsFor(l) {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// LookupForSegments is customer_segments as layout l shapes it.
func LookupForSegments(l Layout) Table { return customerSegments(l.HorizonDays) }
