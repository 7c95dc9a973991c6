package btyd

import (
	"math"
	"slices"
	"testing"
)

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func TestPredictionProperties(t *testing.T) {
	// Parameters in days, of the size a real shop fits.
	bg := BGNBD{R: 0.24, Alpha: 31, A: 0.79, B: 2.43}
	pn := ParetoNBD{R: 0.55, Alpha: 74, S: 0.61, Beta: 82}
	mbg := MBGNBD{R: 0.52, Alpha: 43, A: 0.89, B: 1.61}
	gg := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	customers := []struct {
		name     string
		x, tx, T float64
	}{
		{"one-time buyer", 0, 0, 200},
		{"one-time buyer, very long tenure", 0, 0, 10_000},
		{"brand new", 0, 0, 0},
		{"regular", 5, 150, 200},
		{"regular who stopped", 5, 20, 700},
		{"heavy buyer", 5000, 5000, 5000},
		{"heavy buyer who stopped", 3000, 1000, 10_000},
		{"repeat on the last day", 1, 365, 365},
	}
	models := []struct {
		name string
		m    PurchaseModel
		ll   func(x, tx, T float64) float64
	}{
		{"bgnbd", bg, func(x, tx, T float64) float64 {
			return bg.LogLikelihood(Customers{Frequency: []float64{x}, Recency: []float64{tx}, T: []float64{T}})
		}},
		{"pareto_nbd", pn, pn.logLikelihood},
		{"mbgnbd", mbg, func(x, tx, T float64) float64 {
			return mbg.LogLikelihood(Customers{Frequency: []float64{x}, Recency: []float64{tx}, T: []float64{T}})
		}},
	}
	horizons := []float64{1, 7, 30, 90, 365, 3650}
	for _, m := range models {
		for _, c := range customers {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				// A density in tₓ, so it may exceed 0 for heavy buyers; it must be finite.
				if ll := m.ll(c.x, c.tx, c.T); !finite(ll) {
					t.Errorf("log-likelihood %v", ll)
				}
				pa := m.m.PAlive(c.x, c.tx, c.T)
				if !(pa >= 0 && pa <= 1) {
					t.Errorf("p_alive %v outside [0, 1]", pa)
				}
				if m.name == "bgnbd" && c.x == 0 && pa != 1 {
					t.Errorf("BG/NBD p_alive %v for a customer without repeat purchases, want 1", pa)
				}
				prev := 0.0
				for _, h := range horizons {
					e := m.m.ExpectedPurchases(h, c.x, c.tx, c.T)
					if !finite(e) || e < 0 || e < prev*(1-1e-12) {
						t.Errorf("expected purchases over %v days = %v after %v", h, e, prev)
					}
					prev = e
				}
				p := Predict(m.m, gg, Customers{Frequency: []float64{c.x}, Recency: []float64{c.tx}, T: []float64{c.T}},
					[]float64{35}, PredictOptions{Horizon: 90, MonthLength: 30, Months: 12, DiscountRate: 0.01})
				if !finite(p.CLV[0]) || p.CLV[0] < 0 || !finite(p.ExpectedAvgValue[0]) {
					t.Errorf("CLV %v, value %v", p.CLV[0], p.ExpectedAvgValue[0])
				}
			})
		}
	}
}

// TestHeavyBuyerIsLikelyAlive: recent heavy buyers are alive, heavy buyers
// silent for years are not; the odds are computed in log space, so thousands
// of purchases do not overflow into NaN.
func TestHeavyBuyerIsLikelyAlive(t *testing.T) {
	bg := BGNBD{R: 0.24, Alpha: 31, A: 0.79, B: 2.43}
	if p := bg.PAlive(3000, 999, 1000); p < 0.99 {
		t.Errorf("recent heavy buyer p_alive %v", p)
	}
	if p := bg.PAlive(3000, 1000, 10_000); p > 1e-6 {
		t.Errorf("long-silent heavy buyer p_alive %v", p)
	}
}

// TestBGNBDExpectedMatchesPublished checks the conditional expectation against
// the worked example of Fader, Hardie & Lee (2005): a customer with x=2,
// t_x=30.43, T=38.86 weeks expects 1.226 purchases in the next 39 weeks.
func TestBGNBDExpectedMatchesPublished(t *testing.T) {
	bg := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	if e := bg.ExpectedPurchases(39, 2, 30.43, 38.86); math.Abs(e-1.226) > 0.001 {
		t.Errorf("E[X(39)] = %.4f, published 1.226", e)
	}
}

// TestPredictMatchesPerCustomerCalls: Predict shares the model work among
// customers with the same history, which must not change a bit of what
// each customer gets; histories in days and in fractional weeks take the
// two key paths of compress.
func TestPredictMatchesPerCustomerCalls(t *testing.T) {
	models := []struct {
		name string
		m    PurchaseModel
	}{
		{"bgnbd", BGNBD{R: 0.24, Alpha: 31, A: 0.79, B: 2.43}},
		{"pareto_nbd", ParetoNBD{R: 0.55, Alpha: 74, S: 0.61, Beta: 82}},
		{"mbgnbd", MBGNBD{R: 0.52, Alpha: 43, A: 0.89, B: 1.61}},
	}
	gg := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	days := Customers{
		Frequency: []float64{0, 0, 3, 3, 3, 1, 12, 0},
		Recency:   []float64{0, 0, 40, 40, 90, 300, 700, 0},
		T:         []float64{10, 10, 100, 100, 100, 365, 720, 3000},
	}
	weeks := Customers{Frequency: days.Frequency, Recency: make([]float64, days.Len()), T: make([]float64, days.Len())}
	for i := range days.T {
		weeks.Recency[i], weeks.T[i] = days.Recency[i]/7, days.T[i]/7
	}
	monetary := []float64{0, 0, 30, 30, 45, 20, 12, 0}
	o := PredictOptions{Horizon: 90, MonthLength: 30, Months: 12, DiscountRate: 0.01}
	for _, md := range models {
		for _, c := range []Customers{days, weeks} {
			p := Predict(md.m, gg, c, monetary, o)
			for i := range c.Len() {
				x, tx, T := c.Frequency[i], c.Recency[i], c.T[i]
				next, ok := md.m.NextOrderDays(x, tx, T)
				if !ok {
					next = math.Inf(1)
				}
				pa := md.m.PAlive(x, tx, T)
				if p.PAlive[i] != pa || p.ExpectedPurchases[i] != pa*md.m.ExpectedIfAlive(90, x, T) ||
					p.PNoPurchase[i] != md.m.PNoPurchase(90, x, tx, T) || p.NextOrderDays[i] != next {
					t.Errorf("%s row %d (%g, %g, %g): p_alive %v, expected %v, p_no_purchase %v, next %v",
						md.name, i, x, tx, T, p.PAlive[i], p.ExpectedPurchases[i], p.PNoPurchase[i], p.NextOrderDays[i])
				}
			}
			// An earlier night's values must be the bits its own run
			// publishes, which Predict computes.
			v := PredictValue(md.m, gg, c, monetary, o)
			if !slices.Equal(v.PAlive, p.PAlive) || !slices.Equal(v.CLV, p.CLV) {
				t.Errorf("%s: PredictValue gives p_alive %v and clv %v, Predict %v and %v", md.name, v.PAlive, v.CLV, p.PAlive, p.CLV)
			}
			if v.ExpectedPurchases != nil || v.PNoPurchase != nil || v.NextOrderDays != nil || v.ExpectedAvgValue != nil {
				t.Errorf("%s: PredictValue filled columns it leaves out", md.name)
			}
		}
	}
}

// TestPredictMatchesPerCustomerCallsOnShop is TestPredictMatchesPerCustomerCalls
// on a simulated shop of thousands of histories, bit for bit, for the
// models whose histories share tabulated terms.
func TestPredictMatchesPerCustomerCallsOnShop(t *testing.T) {
	c, monetary := simulateGenShop(5_000, 31)
	gg := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	o := PredictOptions{Horizon: 90, MonthLength: 30, Months: 12, DiscountRate: 0.01}
	for _, tc := range []struct {
		name string
		m    PurchaseModel
	}{
		{"bgnbd", BGNBD{R: 1.1, Alpha: 13, A: 0.7, B: 6.5}},
		{"mbgnbd", MBGNBD{R: 1.1, Alpha: 13, A: 0.7, B: 6.5}},
		{"pareto_nbd", ParetoNBD{R: 1.1, Alpha: 13, S: 0.4, Beta: 60}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Predict(tc.m, gg, c, monetary, o)
			expected := Expected(tc.m, c, 90)
			for i := range c.Len() {
				x, tx, T := c.Frequency[i], c.Recency[i], c.T[i]
				next, ok := tc.m.NextOrderDays(x, tx, T)
				if !ok {
					next = math.Inf(1)
				}
				pa := tc.m.PAlive(x, tx, T)
				want := floatBits([]float64{pa, pa * tc.m.ExpectedIfAlive(90, x, T), tc.m.PNoPurchase(90, x, tx, T), next})
				got := floatBits([]float64{p.PAlive[i], p.ExpectedPurchases[i], p.PNoPurchase[i], p.NextOrderDays[i]})
				if !slices.Equal(got, want) || math.Float64bits(expected[i]) != want[1] {
					t.Fatalf("row %d (%g, %g, %g): p_alive, expected, p_no_purchase, next %v, per-customer calls %v",
						i, x, tx, T, []float64{p.PAlive[i], p.ExpectedPurchases[i], p.PNoPurchase[i], p.NextOrderDays[i]},
						[]float64{pa, pa * tc.m.ExpectedIfAlive(90, x, T), tc.m.PNoPurchase(90, x, tx, T), next})
				}
			}
		})
	}
}
