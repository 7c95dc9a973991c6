package schemas

import "github.com/apache/arrow/go/v15/arrow"

// CohortRetention is how each acquisition cohort keeps buying, in long form.
var CohortRetention = Table{
	Name:  "cohort_retention",
	Grain: "one row per cohort and period offset",
	Doc: "Customers grouped by the period of their first used order (cohorts.period: month by default, ISO week or quarter; " +
		"local calendar days of the job's zone). Every offset from 0 (the cohort's own period) to the run date's period is present, " +
		"zero-filled, so a heatmap has no holes. Money is in the amount unit.",
	Columns: []Column{
		snapshotDate,
		{"cohort_period", arrow.FixedWidthTypes.Date32, false, "First day of the cohort's period."},
		{"period_offset", arrow.PrimitiveTypes.Int64, false, "Periods since the cohort's period; 0 is the cohort's own period."},
		{"period_start", arrow.FixedWidthTypes.Date32, false, "First day of the period this row describes."},
		{"cohort_size", arrow.PrimitiveTypes.Int64, false, "Customers whose first order falls in cohort_period."},
		{"active_customers", arrow.PrimitiveTypes.Int64, false, "Cohort customers with at least one order in the period."},
		{"retention_rate", arrow.PrimitiveTypes.Float64, false, "active_customers / cohort_size; 1 at offset 0."},
		{"orders", arrow.PrimitiveTypes.Int64, false, "Orders of the cohort in the period."},
		{"revenue", arrow.PrimitiveTypes.Float64, false, "Revenue of the cohort in the period. In the reporting currency."},
		{"cumulative_revenue_per_customer", arrow.PrimitiveTypes.Float64, false, "Revenue of the cohort from offset 0 through this offset, per cohort customer. In the reporting currency."},
	},
}

// RetentionKPIs is the retention scorecard per calendar period.
var RetentionKPIs = Table{
	Name:  "retention_kpis",
	Grain: "one row per dimension, dimension value and period",
	Doc: "Retention KPIs per period (kpis.period, month by default) from the first period with a customer to the run date's period, " +
		"whose period_end is the run date. A customer counts as a customer from their first order until they churn: churned means no " +
		"order for kpis.churn_days days (default 180), i.e. a customer is one at the end of day x when their last order on or before x " +
		"is fewer than churn_days days before x. A churned customer who orders again is reactivated. So customers_end = customers_start + " +
		"new_customers + reactivated_customers − churned_customers. Rows for dimension 'total' (value 'all') and 'country' (the customer's " +
		"latest order, 'unknown' when missing).",
	Columns: []Column{
		snapshotDate,
		{"dimension", arrow.BinaryTypes.String, false, "total or country."},
		{"dimension_value", arrow.BinaryTypes.String, false, "'all' for total, else the country."},
		{"period_start", arrow.FixedWidthTypes.Date32, false, "First day of the period."},
		{"period_end", arrow.FixedWidthTypes.Date32, false, "Last day of the period, or the run date for the current period."},
		{"customers_start", arrow.PrimitiveTypes.Int64, false, "S: customers at the start of the period."},
		{"customers_end", arrow.PrimitiveTypes.Int64, false, "E: customers at the end of the period."},
		{"new_customers", arrow.PrimitiveTypes.Int64, false, "N: customers whose first order falls in the period."},
		{"reactivated_customers", arrow.PrimitiveTypes.Int64, false, "Churned customers who ordered again in the period."},
		{"churned_customers", arrow.PrimitiveTypes.Int64, false, "Customers who reached churn_days without an order during the period."},
		{"retention_rate", arrow.PrimitiveTypes.Float64, true, "(E − N) / S; null when S is 0. Reactivated customers count as retained, as in the usual CRR formula."},
		{"churn_rate", arrow.PrimitiveTypes.Float64, true, "churned_customers / S; null when S is 0."},
		{"active_customers", arrow.PrimitiveTypes.Int64, false, "Customers with at least one order in the period."},
		{"orders", arrow.PrimitiveTypes.Int64, false, "Orders in the period."},
		{"revenue", arrow.PrimitiveTypes.Float64, false, "Revenue in the period. In the reporting currency."},
		{"avg_order_value", arrow.PrimitiveTypes.Float64, true, "revenue / orders; null without orders. In the reporting currency."},
		{"purchase_frequency", arrow.PrimitiveTypes.Float64, true, "orders / active_customers; null without orders."},
		{"repeat_purchase_rate", arrow.PrimitiveTypes.Float64, true, "Share of active customers with 2 or more orders in the period; null without orders."},
		{"top20_revenue_share", arrow.PrimitiveTypes.Float64, true, "Revenue share of the top 20% of active customers by revenue in the period (ceil(0.2 × active_customers) customers), from per-customer revenues held to 7 significant digits; null without revenue."},
		{"retention_spend", arrow.PrimitiveTypes.Float64, true, "Retention spend for the period from kpis.retention_spend; null when not given. In the reporting currency."},
		{"retention_cost_per_customer", arrow.PrimitiveTypes.Float64, true, "retention_spend / active_customers; null when spend is not given or there are no active customers. In the reporting currency."},
		{"net_revenue", arrow.PrimitiveTypes.Float64, false, "revenue less the refunds of the period's orders (netted on each order's day, whenever the refund came). In the reporting currency."},
	},
}
