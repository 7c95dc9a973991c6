package schemas

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
)

// ScoreRule is how r_score, f_score and m_score are computed; quoted in the
// docs of both segment tables.
const ScoreRule = "Scores are quintiles over the customers of the run, 5 best: score = min(5, 1 + floor(5 × percent_rank)), " +
	"percent_rank = (number of customers with a strictly worse value) / (customers − 1), 0 for a single customer. " +
	"Customers with the same value always get the same score, whatever the input order (SQL PERCENT_RANK semantics). " +
	"Recency is scored on days_since_last_order (fewer is better), frequency on order_count, monetary on total_revenue rounded to cents (so equal spend ties whatever the summation order)."

// CustomerSegments is customer_summary plus RFM scores, segment, historical
// CLV and the predictive CLV columns, for the default prediction horizon.
var CustomerSegments = customerSegments(DefaultLayout().HorizonDays)

func customerSegments(horizonDays int) Table {
	t := customerSegmentsBase
	t.Columns = append(append([]Column(nil), t.Columns...),
		Column{"p_alive", arrow.PrimitiveTypes.Float64, true, "Probability the customer is still active (clv_model); null when no purchase model was fitted."},
		Column{fmt.Sprintf("expected_purchases_%dd", horizonDays), arrow.PrimitiveTypes.Float64, true,
			fmt.Sprintf("Expected purchase days in the %d days after the run date (clv.horizon_days), from clv_model.", horizonDays)},
		Column{"expected_avg_order_value", arrow.PrimitiveTypes.Float64, true, "Gamma-Gamma expected spend per future purchase day, in the amount unit; the population mean for customers without repeat purchases. In the reporting currency."},
		Column{"predicted_clv", arrow.PrimitiveTypes.Float64, true, "Discounted value of the next clv.horizon_months months (default 12): Σ monthly expected purchases × expected_avg_order_value / (1 + monthly rate)^month; months of 30 days. In the reporting currency."},
		Column{"clv_model", arrow.BinaryTypes.String, true, "Purchase model behind the predictions: bgnbd, pareto_nbd or mbgnbd; null when none could be fitted (see model_fit)."},
		Column{fmt.Sprintf("p_no_purchase_%dd", horizonDays), arrow.PrimitiveTypes.Float64, true,
			fmt.Sprintf("Probability that the customer has no purchase day in the %d days after the run date (clv.horizon_days), from clv_model given frequency, recency_days and tenure_days: "+
				"a customer who has dropped out counts, and so does one still active who does not order in the window. Null when no purchase model was fitted.", horizonDays)},
		Column{"expected_next_order_date", arrow.FixedWidthTypes.Date32, true, "First day after the run date by the end of which clv_model gives even odds or better that the customer has ordered again: " +
			"run date + ⌈h⌉ days, where h solves P(no purchase in the h days after the run date) = 1/2. Null when the model gives no better than even odds of ever ordering again, " +
			"when no purchase model was fitted, or when h exceeds 36,525 days (100 years)."},
		Column{"avg_days_between_orders", arrow.PrimitiveTypes.Float64, true, "Mean days between purchase days, recency_days / frequency (first to last purchase day over the number of gaps); null below two purchase days (frequency 0)."},
		Column{"p_alive_low", arrow.PrimitiveTypes.Float64, true, "Lower end of p_alive's interval at clv.interval_level: " + predictionInterval},
		Column{"p_alive_high", arrow.PrimitiveTypes.Float64, true, "Upper end of p_alive's interval, as p_alive_low."},
		Column{fmt.Sprintf("expected_purchases_%dd_low", horizonDays), arrow.PrimitiveTypes.Float64, true,
			fmt.Sprintf("Lower end of expected_purchases_%dd's interval, as p_alive_low.", horizonDays)},
		Column{fmt.Sprintf("expected_purchases_%dd_high", horizonDays), arrow.PrimitiveTypes.Float64, true,
			fmt.Sprintf("Upper end of expected_purchases_%dd's interval, as p_alive_low.", horizonDays)},
		Column{"predicted_clv_low", arrow.PrimitiveTypes.Float64, true, "Lower end of predicted_clv's interval, as p_alive_low, the spend model's parameters drawn too; null also when predicted_clv is or the spend model's uncertainty could not be measured. In the reporting currency."},
		Column{"predicted_clv_high", arrow.PrimitiveTypes.Float64, true, "Upper end of predicted_clv's interval, as predicted_clv_low. In the reporting currency."},
		Column{"predicted_clv_margin", arrow.PrimitiveTypes.Float64, true, "predicted_clv × margin_rate: the margin the predicted value leaves once the goods are paid for. Null when margin_rate or predicted_clv is. In the reporting currency."},
		Column{"margin_rate", arrow.PrimitiveTypes.Float64, true, "Share of revenue the shop keeps after the cost of the goods. With margin.item_costs, for a customer with costed item lines (is_margin_rate_from_items): " +
			"1 − Σ(quantity × unit_cost) / Σ(quantity × unit_price) over the lines of the customer's used orders (orders refunded in full or in part included) whose quantity, unit_price and unit_cost are known, " +
			"each line in the reporting currency at its order's exchange rate, so an order weighs with its value in the reporting currency; negative when the goods cost more than they sold for. " +
			"Otherwise clv.margin_rate, or null when that is unset."},
		Column{"is_margin_rate_from_items", arrow.FixedWidthTypes.Boolean, false, "True when margin_rate comes from the customer's own item costs (margin.item_costs), false when it is clv.margin_rate or null."},
	)
	t.Columns = append(append(append(t.Columns, actionColumns...), segmentActionColumns...), changeColumns...)
	return t
}

// predictionInterval says what the per-customer intervals of
// customer_segments are, and what they are not.
const predictionInterval = "the uncertainty of the purchase model's parameters (model_fit's standard errors and correlations, on the log scale) carried to the prediction, by the method model_fit.prediction_interval_method names (clv.interval_method): " +
	"draws recomputes the prediction under clv.interval_draws parameter draws and takes the (1 − level)/2 and (1 + level)/2 quantiles; linear, chosen by default from some 50,000 customers up, is the delta method, value ± z × sd on the logit scale (p_alive) or the log scale (purchases, CLV), the sd from two evaluations per parameter; either is widened where needed to hold the prediction itself. " +
	"They measure how precisely the shop's history pins the model down, not the customer's own randomness: a customer's actual purchases fall outside far more often than 1 − level. " +
	"Null when no purchase model was fitted, its standard errors could not be computed (model_fit.uncertainty_error), or clv.interval_draws is 0."

var customerSegmentsBase = Table{
	Name:  "customer_segments",
	Grain: "one row per customer",
	Doc: "Everything in customer_summary plus RFM scores and segment. " + ScoreRule +
		" Segments come from the job's segments.rules (first matching rule wins; default: the 11-segment R×F grid, see README); a customer matching no rule is 'Other'.",
	Columns: append(append([]Column(nil), CustomerSummary.Columns...),
		Column{"days_since_last_order", arrow.PrimitiveTypes.Int64, false, "Days from the last purchase day to the run date (tenure_days − recency_days)."},
		Column{"r_score", arrow.PrimitiveTypes.Int64, false, "Recency score 1–5, 5 = most recent."},
		Column{"f_score", arrow.PrimitiveTypes.Int64, false, "Frequency score 1–5 on order_count, 5 = most orders."},
		Column{"m_score", arrow.PrimitiveTypes.Int64, false, "Monetary score 1–5 on total_revenue, 5 = highest."},
		Column{"rfm_cell", arrow.BinaryTypes.String, false, "The three scores as text, e.g. '543'."},
		Column{"rfm_segment", arrow.BinaryTypes.String, false, "Named segment (Champions … Lost, or Other)."},
		Column{"historical_clv", arrow.PrimitiveTypes.Float64, false, "avg_order_value × purchase frequency × lifespan − CAC, with the customer's own observed frequency and lifespan, i.e. revenue to date minus the job's CAC (default 0). In the reporting currency."},
		Column{"net_historical_clv", arrow.PrimitiveTypes.Float64, false, "historical_clv on net values: net_revenue − CAC, revenue to date less refunds and the job's CAC. In the reporting currency."},
		Column{"is_repeat_customer", arrow.FixedWidthTypes.Boolean, false, "True when the customer ordered on two or more days (frequency ≥ 1)."},
	),
}

// SegmentSummary aggregates customer_segments by segment, overall and per country and channel.
var SegmentSummary = Table{
	Name:  "segment_summary",
	Grain: "one row per dimension, dimension value and segment",
	Doc: "Segment figures in long form: dimension 'total' (dimension_value 'all'), 'country' and 'channel' (the customer's latest order; " +
		"'unknown' when missing). One long table rather than one per split keeps a BI filter on dimension enough to switch views. " +
		"Shares are within the dimension value: the shares of all segments of one country add up to 1.",
	Columns: []Column{
		snapshotDate,
		{"dimension", arrow.BinaryTypes.String, false, "total, country or channel."},
		{"dimension_value", arrow.BinaryTypes.String, false, "'all' for total, else the country or channel."},
		{"rfm_segment", arrow.BinaryTypes.String, false, "Named segment."},
		{"customers", arrow.PrimitiveTypes.Int64, false, "Customers in the segment."},
		{"customer_share", arrow.PrimitiveTypes.Float64, false, "customers / all customers of the dimension value."},
		{"revenue", arrow.PrimitiveTypes.Float64, false, "Sum of total_revenue. In the reporting currency."},
		{"net_revenue", arrow.PrimitiveTypes.Float64, false, "Sum of net_revenue (revenue less refunds). In the reporting currency."},
		{"revenue_share", arrow.PrimitiveTypes.Float64, false, "revenue / revenue of the dimension value (0 when that is 0)."},
		{"avg_order_value", arrow.PrimitiveTypes.Float64, false, "revenue / orders of the segment. In the reporting currency."},
		{"avg_orders", arrow.PrimitiveTypes.Float64, false, "Orders per customer."},
		{"avg_historical_clv", arrow.PrimitiveTypes.Float64, false, "Mean historical_clv. In the reporting currency."},
		{"avg_days_since_last_order", arrow.PrimitiveTypes.Float64, false, "Mean days_since_last_order."},
	},
}
