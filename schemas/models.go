package schemas

import "github.com/apache/arrow/go/v15/arrow"

// ModelFit reports every model fitted in a run.
var ModelFit = Table{
	Name:  "model_fit",
	Grain: "one row per model fitted in the run and fit scope",
	Doc: "Maximum-likelihood fits behind the predictive CLV columns, times in days; how long each fit took is in the run's manifest (model_fits), so a rerun writes the same table. fit_scope 'full' is fitted on all history up to the run date " +
		"and drives the predictions; 'calibration' is fitted on history up to run date − holdout_days and scored on the holdout. " +
		"A failed fit is a row with converged false and the reason in error; the run still writes every table. " +
		"With clv.model auto, BG/NBD, Pareto/NBD and MBG/NBD are fitted and the one with the lowest holdout MAE is selected (the highest log-likelihood when any of them has no holdout score), and selection_reason says so.",
	Columns: append([]Column{
		snapshotDate,
		{"model", arrow.BinaryTypes.String, false, "bgnbd, pareto_nbd, mbgnbd or gamma_gamma."},
		{"role", arrow.BinaryTypes.String, false, "purchase (counts and dropout) or spend."},
		{"fit_scope", arrow.BinaryTypes.String, false, "full or calibration."},
		{"is_selected", arrow.FixedWidthTypes.Boolean, false, "True for the full-scope models behind the predictions."},
		{"selection_reason", arrow.BinaryTypes.String, true, "Why the purchase model was chosen (on the selected purchase model's row)."},
		{"converged", arrow.FixedWidthTypes.Boolean, false, "Whether the optimiser reached a maximum."},
		{"error", arrow.BinaryTypes.String, true, "Why the fit failed; null when it converged."},
		{"customers", arrow.PrimitiveTypes.Int64, false, "Customers the fit used (repeat buyers with positive spend for gamma_gamma)."},
		{"iterations", arrow.PrimitiveTypes.Int64, false, "Optimiser iterations."},
		{"log_likelihood", arrow.PrimitiveTypes.Float64, true, "Summed log-likelihood at the fitted parameters."},
		{"r", arrow.PrimitiveTypes.Float64, true, "Purchase-rate Gamma shape (bgnbd, mbgnbd, pareto_nbd)."},
		{"alpha", arrow.PrimitiveTypes.Float64, true, "Purchase-rate Gamma scale, days (bgnbd, mbgnbd, pareto_nbd)."},
		{"a", arrow.PrimitiveTypes.Float64, true, "Dropout Beta a (bgnbd, mbgnbd)."},
		{"b", arrow.PrimitiveTypes.Float64, true, "Dropout Beta b (bgnbd, mbgnbd)."},
		{"s", arrow.PrimitiveTypes.Float64, true, "Dropout-rate Gamma shape (pareto_nbd)."},
		{"beta", arrow.PrimitiveTypes.Float64, true, "Dropout-rate Gamma scale, days (pareto_nbd)."},
		{"p", arrow.PrimitiveTypes.Float64, true, "Spend shape per purchase (gamma_gamma)."},
		{"q", arrow.PrimitiveTypes.Float64, true, "Gamma shape of mean spend (gamma_gamma)."},
		{"gamma", arrow.PrimitiveTypes.Float64, true, "Gamma scale of mean spend (gamma_gamma)."},
		{"spend_frequency_correlation", arrow.PrimitiveTypes.Float64, true, "Pearson correlation of repeat buyers' frequency and mean spend (gamma_gamma); the model assumes independence, so |value| above 0.3 deserves a look."},
		{"holdout_days", arrow.PrimitiveTypes.Int64, true, "Length of the holdout (calibration rows)."},
		{"holdout_mae", arrow.PrimitiveTypes.Float64, true, "Mean absolute error of predicted against actual holdout purchase days per customer."},
		{"holdout_rmse", arrow.PrimitiveTypes.Float64, true, "Root mean squared error of the same."},
		{"holdout_predicted_total", arrow.PrimitiveTypes.Float64, true, "Predicted holdout purchase days, all calibration customers."},
		{"holdout_actual_total", arrow.PrimitiveTypes.Float64, true, "Actual holdout purchase days, all calibration customers."},
	}, append(append(parameterUncertainty(), parameterDrift()...),
		// Appended last, so no column of earlier nights moves.
		Column{"prediction_interval_method", arrow.BinaryTypes.String, true, "How the parameters' uncertainty was carried to the per-customer intervals of customer_segments (clv.interval_method): draws or linear. On the selected models' rows; null on the others and when no per-customer interval was computed."},
	)...),
}

// FitParams are the parameter columns of model_fit, in their order; each
// has <param>_se, <param>_low and <param>_high after the holdout columns.
var FitParams = []string{"r", "alpha", "a", "b", "s", "beta", "p", "q", "gamma"}

// parameterUncertainty are model_fit's columns that say how precisely the
// data determine each parameter, appended so no earlier column moves.
func parameterUncertainty() []Column {
	var cols []Column
	for _, p := range FitParams {
		cols = append(cols,
			Column{p + "_se", arrow.PrimitiveTypes.Float64, true, "Standard error of " + p + ": from the observed information (the Hessian of the log-likelihood) at the optimum, in log-parameters, by the delta method, se = " + p + " × se(ln " + p + "). Null where " + p + " is, or when uncertainty_error says why."},
			Column{p + "_low", arrow.PrimitiveTypes.Float64, true, "Lower end of the interval_level confidence interval of " + p + ", computed on the log scale, exp(ln " + p + " - z × se(ln " + p + ")), so it stays positive and is not symmetric around " + p + "."},
			Column{p + "_high", arrow.PrimitiveTypes.Float64, true, "Upper end of that interval, exp(ln " + p + " + z × se(ln " + p + "))."},
		)
	}
	return append(cols,
		Column{"interval_level", arrow.PrimitiveTypes.Float64, false, "Two-sided level of the parameter intervals and of the per-customer prediction intervals (clv.interval_level)."},
		Column{"uncertainty_error", arrow.BinaryTypes.String, true, "Why a fit that converged has no standard errors: the observed information is not positive definite, or too ill-conditioned to invert, so the data do not determine some combination of the parameters. The estimates stand; null when the standard errors were computed or the fit failed (see error)."},
	)
}

// ModelHoldout breaks the holdout check down by calibration frequency.
var ModelHoldout = Table{
	Name:  "model_holdout",
	Grain: "one row per purchase model and calibration-frequency bucket",
	Doc: "Predicted against actual purchase days in the holdout window (the last holdout_days before the run date) for customers whose " +
		"first order falls before it, by their number of repeat purchase days in calibration; bucket 'all' is every such customer. Empty without a holdout.",
	Columns: []Column{
		snapshotDate,
		{"model", arrow.BinaryTypes.String, false, "bgnbd, pareto_nbd or mbgnbd."},
		{"frequency_bucket", arrow.BinaryTypes.String, false, "all, 0, 1, 2, 3-5, 6-10 or 11+ repeat purchase days in calibration."},
		{"customers", arrow.PrimitiveTypes.Int64, false, "Calibration customers in the bucket."},
		{"actual_purchases", arrow.PrimitiveTypes.Float64, false, "Purchase days in the holdout."},
		{"predicted_purchases", arrow.PrimitiveTypes.Float64, false, "Expected purchase days in the holdout."},
		{"mae", arrow.PrimitiveTypes.Float64, false, "Mean absolute error per customer."},
		{"rmse", arrow.PrimitiveTypes.Float64, false, "Root mean squared error per customer."},
	},
}

// ModelTracking follows the holdout week by week, so a model that is right
// in total but wrong in shape (too fast early, too slow late) shows.
var ModelTracking = Table{
	Name:  "model_tracking",
	Grain: "one row per purchase model and holdout week",
	Doc: "Cumulative predicted against actual repeat purchase days through the holdout window, week by week, for the calibration customers of model_holdout " +
		"(first order before the window), from each model's calibration fit. Week 1 ends 7 days into the window; the last week ends on the run date and may be shorter. Empty without a holdout.",
	Columns: []Column{
		snapshotDate,
		{"model", arrow.BinaryTypes.String, false, "bgnbd, pareto_nbd or mbgnbd."},
		{"week", arrow.PrimitiveTypes.Int64, false, "Holdout week, 1 to ceil(holdout_days / 7)."},
		{"days", arrow.PrimitiveTypes.Int64, false, "Days into the holdout window at the end of the week: 7 × week, or holdout_days for the last week."},
		{"predicted_repeat_purchases", arrow.PrimitiveTypes.Float64, false, "Expected purchase days in the first days of the window, summed over calibration customers at their calibration frequency, recency and T."},
		{"actual_repeat_purchases", arrow.PrimitiveTypes.Float64, false, "Purchase days of the same customers in the first days of the window."},
	},
}

// PeriodDayPrediction is an intermediate table (not written): the predicted
// value of the same day of the previous kpis.period as a run for that day
// on the same input publishes it, fitted by clv in the same pass, for the
// report's tile.
var PeriodDayPrediction = Table{
	Name:  "period_day_prediction",
	Grain: "one row",
	Doc:   "The total predicted CLV of the same day of the previous kpis.period.",
	Columns: []Column{
		{"as_of_date", arrow.FixedWidthTypes.Date32, false, "The same day of the previous kpis.period (its last day when shorter)."},
		{"customers", arrow.PrimitiveTypes.Int64, false, "Customers with an order on or before as_of_date."},
		{"predicted_clv", arrow.PrimitiveTypes.Float64, true, "Sum of predicted_clv over those customers, as customer_segments of a run for as_of_date holds it (nulls left out); null when that day's fits made no CLV. In the reporting currency."},
	},
}

// CustomerPredictions is an intermediate table (not written): the predictive
// CLV columns per customer, sorted by customer_id like customer_summary, which
// the segments stage joins into customer_segments.
var CustomerPredictions = Table{
	Name:  "customer_predictions",
	Grain: "one row per customer, in customer_summary's order",
	Doc:   "Per-customer predictions of the selected models.",
	Columns: []Column{
		{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier."},
		{"p_alive", arrow.PrimitiveTypes.Float64, true, "As in customer_segments."},
		{"expected_purchases", arrow.PrimitiveTypes.Float64, true, "Over clv.horizon_days."},
		{"expected_avg_order_value", arrow.PrimitiveTypes.Float64, true, "As in customer_segments. In the reporting currency."},
		{"predicted_clv", arrow.PrimitiveTypes.Float64, true, "As in customer_segments. In the reporting currency."},
		{"clv_model", arrow.BinaryTypes.String, true, "As in customer_segments."},
		{"p_no_purchase", arrow.PrimitiveTypes.Float64, true, "Over clv.horizon_days; p_no_purchase_<h>d in customer_segments."},
		{"expected_next_order_date", arrow.FixedWidthTypes.Date32, true, "As in customer_segments."},
		{"avg_days_between_orders", arrow.PrimitiveTypes.Float64, true, "As in customer_segments."},
		{"p_alive_low", arrow.PrimitiveTypes.Float64, true, "As in customer_segments."},
		{"p_alive_high", arrow.PrimitiveTypes.Float64, true, "As in customer_segments."},
		{"expected_purchases_low", arrow.PrimitiveTypes.Float64, true, "Over clv.horizon_days; expected_purchases_<h>d_low in customer_segments."},
		{"expected_purchases_high", arrow.PrimitiveTypes.Float64, true, "Over clv.horizon_days; expected_purchases_<h>d_high in customer_segments."},
		{"predicted_clv_low", arrow.PrimitiveTypes.Float64, true, "As in customer_segments. In the reporting currency."},
		{"predicted_clv_high", arrow.PrimitiveTypes.Float64, true, "As in customer_segments. In the reporting currency."},
		{"predicted_clv_margin", arrow.PrimitiveTypes.Float64, true, "As in customer_segments. In the reporting currency."},
		{"margin_rate", arrow.PrimitiveTypes.Float64, true, "As in customer_segments."},
		{"is_margin_rate_from_items", arrow.FixedWidthTypes.Boolean, false, "As in customer_segments."},
		{"previous_p_alive", arrow.PrimitiveTypes.Float64, true, "As in customer_segments."},
		{"previous_predicted_clv", arrow.PrimitiveTypes.Float64, true, "As in customer_segments. In the reporting currency."},
	},
}

// CustomerMargins is an intermediate table (not written): the cost of the
// goods per customer from input.order_items' unit_cost, which clv joins into
// customer_predictions. Customers are named by the fingerprint of their id,
// the only thing validation keeps of them per order; clv matches it with
// its own customers' ids.
var CustomerMargins = Table{
	Name:  "customer_margins",
	Grain: "one row per customer with a costed line, by customer_key",
	Doc: "Customers whose used orders have item lines with quantity > 0, unit_price ≥ 0 and unit_cost ≥ 0 known (margin.item_costs), " +
		"each line converted into the reporting currency at its order's rate.",
	Columns: []Column{
		{"customer_key", arrow.PrimitiveTypes.Int64, false, "Fingerprint of customer_id (stages/internal/fingerprint.Key, 62 bits, so never negative)."},
		{"costed_lines", arrow.PrimitiveTypes.Int64, false, "Item lines counted."},
		{"item_value", arrow.PrimitiveTypes.Float64, false, "Σ quantity × unit_price over those lines. In the reporting currency."},
		{"item_cost", arrow.PrimitiveTypes.Float64, false, "Σ quantity × unit_cost over those lines. In the reporting currency."},
		{"margin_rate", arrow.PrimitiveTypes.Float64, true, "1 − item_cost / item_value; null when item_value is 0."},
	},
}
