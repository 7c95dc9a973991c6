package schemas

import "github.com/apache/arrow/go/v15/arrow"

// PreviousNight says what every previous_* column means; quoted in their docs.
const PreviousNight = "the previous night is computed in the same run from this run's own validated orders, those on the run date left out, never read from a committed partition, so a backfill in any order and a rerun give the same values. Null throughout when segments.change_tracking is false."

// parameterDrift are model_fit's columns that compare each parameter with
// the previous night's fit of the same model and fit scope, appended after
// the uncertainty columns so no earlier column moves.
func parameterDrift() []Column {
	var cols []Column
	for _, p := range FitParams {
		cols = append(cols,
			Column{"previous_" + p, arrow.PrimitiveTypes.Float64, true, p + " of the same model and fit scope fitted for the previous night (the run date − 1), as that night's run publishes it: " + PreviousNight + " Null when that fit failed or the previous night had no customers."},
			Column{p + "_change", arrow.PrimitiveTypes.Float64, true, "Relative change of " + p + " since the previous night, (" + p + " − previous_" + p + ") / |previous_" + p + "|; null where either is."},
		)
	}
	return append(cols, Column{"is_drifted", arrow.FixedWidthTypes.Boolean, false, "True when any parameter's |<param>_change| exceeds clv.drift_threshold (default 0.25); the run then logs a warning naming the parameters. False when there is nothing to compare (the first night of a shop)."})
}

// SinceRule is how segment_since_date is computed; quoted in its doc.
const SinceRule = "The first night of the customer's current unbroken run of nights in rfm_segment, each night's segment being what that night's run publishes on the same input (its own scores, over the customers who existed that night). " +
	"Looks back at most segments.since_lookback_days nights (default 90) before the run date: a customer in the segment on every one of them gets the first of them, and is_segment_since_capped is true. " +
	"A customer whose first order falls inside the lookback cannot have been in a segment before it, so the run starts no earlier than the night of the first order. " +
	"With segments.change_tracking false no earlier night is looked at: the run date, with is_segment_since_capped true."

// changeColumns close customer_segments: where the customer stood on the
// previous night and how long they have been where they are.
var changeColumns = []Column{
	{"previous_rfm_segment", arrow.BinaryTypes.String, true, "rfm_segment as the previous night's run (the run date − 1) publishes it: " + PreviousNight + " Null for a customer whose first order is on the run date."},
	{"segment_since_date", arrow.FixedWidthTypes.Date32, false, SinceRule},
	{"is_segment_since_capped", arrow.FixedWidthTypes.Boolean, false, "True when the customer was in rfm_segment on every night of the lookback, so segment_since_date is the lookback's first night and the run may have started earlier."},
	{"previous_p_alive", arrow.PrimitiveTypes.Float64, true, "p_alive as the previous night publishes it, from that night's own model fit (model_fit's previous_<param>). Null for a customer whose first order is on the run date, when the previous night has no fitted purchase model, or when segments.change_tracking is false."},
	{"p_alive_change", arrow.PrimitiveTypes.Float64, true, "p_alive − previous_p_alive (a difference of probabilities, not a ratio); null where either is."},
	{"previous_predicted_clv", arrow.PrimitiveTypes.Float64, true, "predicted_clv as the previous night publishes it, from that night's own fits; null as previous_p_alive, or when that night's spend model failed. In the reporting currency."},
	{"predicted_clv_change", arrow.PrimitiveTypes.Float64, true, "predicted_clv − previous_predicted_clv; null where either is. In the reporting currency."},
}

// NewSegment is segment_transitions' from_segment for customers whose first
// order is on the run date.
const NewSegment = "new"

// SegmentTransitions counts customers by where they were on the previous
// night and where they are tonight.
var SegmentTransitions = Table{
	Name:  "segment_transitions",
	Grain: "one row per dimension, dimension value, previous segment and segment",
	Doc: "Movements between RFM segments since the previous night (the run date − 1), split like segment_summary: dimension 'total' (dimension_value 'all'), 'country' and 'channel' (tonight's, from the customer's latest order; 'unknown' when missing). " +
		"from_segment is previous_rfm_segment of customer_segments, or 'new' for customers whose first order is on the run date; to_segment is rfm_segment. A customer who stayed is a row with from_segment = to_segment. " +
		"Rows are sorted by dimension (total, country, channel), dimension_value, from_segment and to_segment in the order of segments.rules (Other after them, new first among from_segments). Only pairs with customers appear; none when segments.change_tracking is false.",
	Columns: []Column{
		snapshotDate,
		{"dimension", arrow.BinaryTypes.String, false, "total, country or channel."},
		{"dimension_value", arrow.BinaryTypes.String, false, "'all' for total, else the country or channel."},
		{"from_segment", arrow.BinaryTypes.String, false, "Segment on the previous night, or 'new'."},
		{"to_segment", arrow.BinaryTypes.String, false, "Segment tonight."},
		{"customers", arrow.PrimitiveTypes.Int64, false, "Customers who moved from from_segment to to_segment."},
		{"revenue", arrow.PrimitiveTypes.Float64, false, "Sum of their total_revenue to date. In the reporting currency."},
		{"predicted_clv", arrow.PrimitiveTypes.Float64, false, "Sum of their predicted_clv tonight, customers without one counting 0. In the reporting currency."},
		{"previous_predicted_clv", arrow.PrimitiveTypes.Float64, false, "Sum of their previous_predicted_clv, customers without one counting 0. In the reporting currency."},
	},
}
