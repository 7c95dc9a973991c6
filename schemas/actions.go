package schemas

import "github.com/apache/arrow/go/v15/arrow"

// actionColumns are the customer_segments columns marketers trigger on;
// the actions stage computes them from each customer's purchase days.
var actionColumns = []Column{
	{"winback_stage", arrow.BinaryTypes.String, false, "active, winback_1, winback_2, winback_3 or lapsed, by days since the last order against actions.winback_days (default 90, 180, 270, 365); a customer exactly at a threshold has crossed it."},
	{"winback_stage_entered_on", arrow.FixedWidthTypes.Date32, false, "Day the customer entered winback_stage (the last order day for active), so 'entered today' is winback_stage_entered_on = snapshot_date."},
	{"is_frequency_declining", arrow.FixedWidthTypes.Boolean, false, "Orders per day in the last actions.decline_window_days (default 90) below frequency_decline_ratio (default 0.5) × the customer's rate before; needs 2+ earlier orders."},
	{"is_order_value_declining", arrow.FixedWidthTypes.Boolean, false, "Average order value in the window below value_decline_ratio (default 0.8) × the customer's earlier average; needs orders in both periods."},
	{"loyalty_tier", arrow.BinaryTypes.String, true, "Highest actions.tiers level whose min the customer reaches on the tier basis (lifetime_spend by default: Bronze 0, Silver 500, Gold 2000, Platinum 5000); null below the first."},
	{"next_tier", arrow.BinaryTypes.String, true, "The level above loyalty_tier; null at the top."},
	{"spend_to_next_tier", arrow.PrimitiveTypes.Float64, true, "Spend still needed for next_tier, in the amount unit; null for an order-count basis or at the top. In the reporting currency."},
	{"orders_to_next_tier", arrow.PrimitiveTypes.Int64, true, "Orders still needed for next_tier; null for a spend basis or at the top."},
	{"is_tier_upgraded_today", arrow.FixedWidthTypes.Boolean, false, "The run date's orders lifted the customer into a higher tier."},
	{"milestone_reached_today", arrow.PrimitiveTypes.Int64, true, "The actions.milestones order count (default 5, 10, 25, 50, 100) the run date's orders reached; null if none."},
	{"is_first_order_anniversary_today", arrow.FixedWidthTypes.Boolean, false, "The run date is a yearly anniversary of the first order; a 29 February first order is celebrated on 28 February in other years."},
	{"is_new_customer", arrow.FixedWidthTypes.Boolean, false, "First order within the last actions.new_customer_days days (default 30), the run date included."},
	{"previous_winback_stage", arrow.BinaryTypes.String, true, "winback_stage as the run of the previous night (the run date − 1) publishes it on the same input: " + PreviousNight + " Null for a customer whose first order is on the run date."},
	{"is_won_back_today", arrow.FixedWidthTypes.Boolean, false, "The customer ordered on the run date after at least actions.won_back_days (default 90) days without an order."},
}

// CustomerActions is an intermediate table (not written): the action
// columns per customer in customer_summary's order.
var CustomerActions = Table{
	Name:    "customer_actions",
	Grain:   "one row per customer, in customer_summary's order",
	Doc:     "Per-customer action columns, joined into customer_segments.",
	Columns: append([]Column{{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier."}}, actionColumns...),
}

// segmentActionColumns are computed by the segments stage, which sees every
// customer and the predictions.
var segmentActionColumns = []Column{
	{"churn_risk", arrow.BinaryTypes.String, false, "low, medium or high: from p_no_purchase_<h>d where a purchase model predicted it (high at or above actions.churn_risk.p_no_purchase_high, default 0.8; medium at or above p_no_purchase_medium, 0.5); otherwise from days since the last order over the customer's typical gap between orders (recency_days / frequency, or the shop's median gap for one-time buyers): high above 3, medium above 1.5."},
	{"is_top_spender", arrow.FixedWidthTypes.Boolean, false, "Among the top actions.top_spender_percent (default 10%) of customers by total_revenue; customers tied with the last one included."},
}

// WinbackStages are winback_stage's values, from active to lapsed.
var WinbackStages = []string{"active", "winback_1", "winback_2", "winback_3", "lapsed"}

// ChurnRisks are churn_risk's values, from low to high.
var ChurnRisks = []string{"low", "medium", "high"}

// OtherSegment is rfm_segment for a customer no segments rule matches.
const OtherSegment = "Other"
