package btyd

import (
	"slices"
	"testing"
)

// TestHistoriesMatchFunctions holds the Histories methods, which reuse one
// compression, to the functions that compress on every call: the same
// bits for every purchase model, linear and drawn intervals alike.
func TestHistoriesMatchFunctions(t *testing.T) {
	c, monetary := simulateGenShop(6_000, 17)
	h := NewHistories(c)
	if want := Compress(c); !slices.Equal(floatBits(h.Distinct().Frequency, h.Distinct().Recency, h.Distinct().T, h.Distinct().Weight),
		floatBits(want.Frequency, want.Recency, want.T, want.Weight)) {
		t.Fatal("Distinct is not Compress's")
	}
	predictionBits := func(p Predictions) []uint64 {
		return floatBits(p.PAlive, p.ExpectedPurchases, p.ExpectedAvgValue, p.CLV, p.PNoPurchase, p.NextOrderDays)
	}
	for _, name := range benchModels {
		pm, _, err := fitCompressed(name, h.Distinct())
		if err != nil {
			t.Fatal(err)
		}
		spend := RepeatBuyers(c.Frequency, monetary)
		gg, _, err := FitGammaGamma(spend)
		if err != nil {
			t.Fatal(err)
		}
		pu, err := PurchaseUncertainty(pm, h.Distinct(), 0.8)
		if err != nil {
			t.Fatal(err)
		}
		gu, err := SpendUncertainty(gg, spend, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			what      string
			got, want []uint64
		}{
			{"Predict", predictionBits(h.Predict(pm, gg, monetary, dailyPredictOptions)), predictionBits(Predict(pm, gg, c, monetary, dailyPredictOptions))},
			{"PredictValue", predictionBits(h.PredictValue(pm, gg, monetary, dailyPredictOptions)), predictionBits(PredictValue(pm, gg, c, monetary, dailyPredictOptions))},
			{"Expected", floatBits(h.Expected(pm, 30)), floatBits(Expected(pm, c, 30))},
		} {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("%s: %s differs from the function's", name, tc.what)
			}
		}
		for _, method := range []IntervalMethod{IntervalLinear, IntervalDraws} {
			opts := IntervalOptions{Draws: 20, Seed: 4, Method: method}
			gotP, gotIV, err := h.PredictWithIntervals(pm, pu, gg, gu, monetary, dailyPredictOptions, opts)
			if err != nil {
				t.Fatal(err)
			}
			wantP, wantIV, err := PredictWithIntervals(pm, pu, gg, gu, c, monetary, dailyPredictOptions, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(predictionBits(gotP), predictionBits(wantP)) || !slices.Equal(bitsOf(gotIV), bitsOf(wantIV)) {
				t.Errorf("%s: PredictWithIntervals (%s) differs from the function's", name, method)
			}
		}
	}
}
