package clv_test

import (
	"strconv"
	"testing"

	"retain/schemas"
	"retain/stages/internal/stagetest"
)

// TestPreviousIsTheNightBefore: the previous_* values of the fitted case
// are, to the bit, what the run for the night before publishes on the same
// input (the fitted_night_before case), predictions and parameters alike.
func TestPreviousIsTheNightBefore(t *testing.T) {
	now := stagetest.Rows(t, "testdata/fitted/expected/customer_predictions.csv")
	before := map[string]map[string]string{}
	for _, r := range stagetest.Rows(t, "testdata/fitted_night_before/expected/customer_predictions.csv") {
		before[r["customer_id"]] = r
	}
	for _, r := range now {
		b, ok := before[r["customer_id"]]
		if !ok {
			b = map[string]string{"p_alive": `\N`, "predicted_clv": `\N`}
		}
		if r["previous_p_alive"] != b["p_alive"] || r["previous_predicted_clv"] != b["predicted_clv"] {
			t.Errorf("%s: previous %s, %s; the night before published %s, %s", r["customer_id"], r["previous_p_alive"], r["previous_predicted_clv"], b["p_alive"], b["predicted_clv"])
		}
	}
	fits := stagetest.Rows(t, "testdata/fitted/expected/model_fit.csv")
	prevFits := stagetest.Rows(t, "testdata/fitted_night_before/expected/model_fit.csv")
	if len(fits) != len(prevFits) {
		t.Fatalf("%d model_fit rows, the night before %d", len(fits), len(prevFits))
	}
	for i, r := range fits {
		for _, p := range schemas.FitParams {
			if r["previous_"+p] != prevFits[i][p] {
				t.Errorf("%s %s: previous_%s %s, the night before %s", r["model"], r["fit_scope"], p, r["previous_"+p], prevFits[i][p])
			}
		}
	}
}

// TestPeriodDayIsThatNight: period_day_prediction of the fitted case is,
// to the bit, what the run for the same day of the previous month publishes
// on the same input (the fitted_period_day_before case): its customers and
// its predicted_clv summed in customer order, nulls left out.
func TestPeriodDayIsThatNight(t *testing.T) {
	got := stagetest.Rows(t, "testdata/fitted/expected/period_day_prediction.csv")
	that := stagetest.Rows(t, "testdata/fitted_period_day_before/expected/customer_predictions.csv")
	if len(got) != 1 {
		t.Fatalf("%d period_day_prediction rows, want 1", len(got))
	}
	var sum float64
	for _, r := range that {
		if v := r["predicted_clv"]; v != `\N` {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += f
		}
	}
	want := map[string]string{"as_of_date": "2026-10-22", "customers": strconv.Itoa(len(that)), "predicted_clv": strconv.FormatFloat(sum, 'g', -1, 64)}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %s, the night of 22 October publishes %s", k, got[0][k], v)
		}
	}
}
