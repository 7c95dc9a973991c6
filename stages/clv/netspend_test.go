package clv

import (
	"math"
	"strconv"
	"testing"

	"retain/btyd"
	"retain/stages/internal/stagetest"
)

// TestNetSpendFit: in testdata/net_spend (the forty histories of
// testdata/fitted, with refunds) Gamma-Gamma is fitted on net values. The
// repeat buyers' net monetary values are stated here, worked out from the
// case's purchase days by hand: mean over the days after the first
// of revenue − refunded_revenue. Every fourth customer had the whole of its
// last day refunded, and C01 5.27 of its second day (15.27 − 5.27 = 10, so
// (10 + 27.31) / 2 = 18.655). C04, C20, C32, C36 and C40, whose only repeat
// day was refunded in full, have net value 0 and are left out of the fit,
// whose log needs a positive value. Fitting these values directly must give
// the parameters of the stage's model_fit row.
func TestNetSpendFit(t *testing.T) {
	net := []struct {
		id string
		x  float64
		m  float64
	}{
		{"C01", 2, 18.655}, {"C03", 10, 45.022}, {"C04", 1, 0}, {"C05", 4, 53.24},
		{"C06", 1, 43.31}, {"C07", 1, 55.56}, {"C08", 3, 19.616666666666667}, {"C10", 4, 39.265},
		{"C11", 3, 30.043333333333333}, {"C12", 14, 31.186428571428571}, {"C13", 2, 38.84}, {"C15", 1, 22.47},
		{"C17", 2, 90.855}, {"C18", 3, 39.506666666666667}, {"C20", 1, 0}, {"C21", 2, 14.45},
		{"C22", 3, 26.126666666666667}, {"C24", 5, 27.958}, {"C25", 1, 34.83}, {"C26", 1, 33.45},
		{"C27", 2, 62.005}, {"C28", 2, 19.765}, {"C29", 6, 36.011666666666667}, {"C31", 2, 27.24},
		{"C32", 1, 0}, {"C33", 4, 43.945}, {"C34", 1, 12.19}, {"C35", 1, 21.87},
		{"C36", 1, 0}, {"C38", 4, 37.73}, {"C39", 1, 57.9}, {"C40", 1, 0},
	}
	var s btyd.Spend
	for _, c := range net {
		if c.m > 0 {
			s.Frequency = append(s.Frequency, c.x)
			s.Monetary = append(s.Monetary, c.m)
		}
	}
	if len(s.Frequency) != 27 {
		t.Fatalf("%d customers with a positive net value, want 27", len(s.Frequency))
	}
	want, _, err := btyd.FitGammaGamma(s)
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]string
	for _, r := range stagetest.Rows(t, "testdata/net_spend/expected/model_fit.csv") {
		if r["model"] == "gamma_gamma" {
			row = r
		}
	}
	if row == nil {
		t.Fatal("no gamma_gamma row in net_spend's model_fit")
	}
	if row["customers"] != "27" {
		t.Errorf("gamma_gamma fitted on %s customers, want 27", row["customers"])
	}
	for _, p := range []struct {
		name string
		want float64
	}{{"p", want.P}, {"q", want.Q}, {"gamma", want.Gamma}} {
		got, err := strconv.ParseFloat(row[p.name], 64)
		if err != nil {
			t.Fatal(err)
		}
		// The stage sums each customer's values exactly, the stated ones
		// are rounded to 17 digits. On these 27 customers q and gamma lie on
		// a flat ridge of the likelihood (q's standard error is some twenty
		// times q), where a last-digit change in one mean moves them by
		// about 2e-5 of themselves; p is well determined.
		tol := 1e-6
		if p.name != "p" {
			tol = 1e-4
		}
		if math.Abs(got-p.want) > tol*p.want {
			t.Errorf("%s = %v, want %v from the stated net values", p.name, got, p.want)
		}
	}
	// Without the refunds (testdata/fitted) all 32 repeat buyers enter the
	// fit and the estimates are others.
	for _, r := range stagetest.Rows(t, "testdata/fitted/expected/model_fit.csv") {
		if r["model"] == "gamma_gamma" && (r["customers"] != "32" || r["p"] == row["p"]) {
			t.Errorf("gross fit: %s customers, p %s; want 32 and another p than the net fit's", r["customers"], r["p"])
		}
	}
}
