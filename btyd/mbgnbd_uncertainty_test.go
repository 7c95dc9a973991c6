package btyd

import (
	"errors"
	"math"
	"testing"
)

// TestUncertaintyMBGNBD checks the MBG/NBD standard errors on CDNOW three
// ways: the central-difference Hessian of the analytic gradient against
// second differences of the likelihood alone, and against relativeSE, an
// independent inversion of the same Hessian; the interval is symmetric in
// logs around the estimate.
func TestUncertaintyMBGNBD(t *testing.T) {
	c, _ := cdnow(t)
	m, _, err := FitMBGNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	u, err := PurchaseUncertainty(m, c, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.Likelihood(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	l.Gradient = false
	u2, err := l.Uncertainty(0.95)
	if err != nil {
		t.Fatal(err)
	}
	d := newMBGNBDData(Compress(c))
	rel := relativeSE(d.nll, []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, d.weight)
	for i, name := range u.Names {
		t.Logf("%s: %.6g ± %.6g (second differences %.6g), 95%% interval [%.5g, %.5g]", name, u.Estimate[i], u.SE[i], u2.SE[i], u.Low[i], u.High[i])
		within(t, "mbgnbd se from second differences "+name, u2.SE[i], u.SE[i], 1e-3)
		within(t, "mbgnbd relative se "+name, u.SE[i]/u.Estimate[i], rel[i], 1e-6)
		if !(u.Low[i] < u.Estimate[i] && u.Estimate[i] < u.High[i]) {
			t.Errorf("%s interval [%v, %v] around %v", name, u.Low[i], u.High[i], u.Estimate[i])
		}
		if d := math.Log(u.High[i]/u.Estimate[i]) - math.Log(u.Estimate[i]/u.Low[i]); math.Abs(d) > 1e-12 {
			t.Errorf("%s interval not symmetric in logs (%v)", name, d)
		}
	}
	for _, p := range [][]float64{{1, 2, 1, 3}, {1, 2, 3}, {1, math.NaN(), 0.5, 2}} {
		if _, err := m.WithParams(p); !errors.Is(err, ErrBadInput) {
			t.Errorf("WithParams(%v): err = %v", p, err)
		}
	}
	// a + b below 1 is fine for MBG/NBD, unlike BG/NBD.
	if pm, err := m.WithParams([]float64{0.5, 6, 0.3, 0.4}); err != nil || pm.(MBGNBD) != (MBGNBD{0.5, 6, 0.3, 0.4}) {
		t.Errorf("WithParams: %v, %v", pm, err)
	}
}

// TestMBGNBDBatchFormulas holds MBG/NBD's faster forms to its one-at-a-time
// formulas, customers without repeat purchases (not surely alive) included.
func TestMBGNBDBatchFormulas(t *testing.T) {
	ts := []float64{0, 30, 60, 90, 180, 365, 730}
	dst := make([]float64, len(ts))
	for _, m := range []MBGNBD{{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, {R: 0.525, Alpha: 6.18, A: 0.891, B: 1.614}, {R: 2, Alpha: 100, A: 0.3, B: 9}} {
		for _, c := range [][3]float64{{0, 0, 0}, {0, 0, 400}, {1, 3, 5}, {4, 200, 700}, {40, 300, 300}, {3000, 999, 1000}} {
			x, tx, T := c[0], c[1], c[2]
			m.expectedIfAliveAt(dst, ts, x, T, nil, new([]float64))
			for h, hz := range ts {
				if want := m.ExpectedIfAlive(hz, x, T); math.Abs(dst[h]-want) > 1e-12*want {
					t.Errorf("%+v x %v T %v t %v: %v, one at a time %v", m, x, T, hz, dst[h], want)
				}
			}
			base, power, shift, alive := m.dropoutOdds(x, T)
			if alive {
				t.Fatalf("%+v (%v, %v, %v): reported surely alive", m, x, tx, T)
			}
			got := sigmoid(-(base - power*math.Log(tx+shift)))
			if want := m.PAlive(x, tx, T); math.Abs(got-want) > 1e-12*want {
				t.Errorf("%+v (%v, %v, %v): odds give P(alive) %v, PAlive %v", m, x, tx, T, got, want)
			}
		}
	}
}

// TestPredictIntervalsMBGNBD holds MBG/NBD's intervals, computed with the
// faster forms, to the plain definition (Predict per draw).
func TestPredictIntervalsMBGNBD(t *testing.T) {
	c := simulateMBGNBD(MBGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, 6000, 730, 21)
	s := newFittedShop(t, 6000, 21) // for its spend model only
	monetary := make([]float64, c.Len())
	for i := range monetary {
		if c.Frequency[i] > 0 {
			monetary[i] = 20 + float64(i%37)
		}
	}
	m, _, err := FitMBGNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	mu, err := PurchaseUncertainty(m, c, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	opts := IntervalOptions{Level: 0.8, Draws: 40, Seed: 5}
	got, err := PredictIntervals(m, mu, s.gg, s.gu, c, monetary, dailyPredictOptions, opts)
	if err != nil {
		t.Fatal(err)
	}
	compareIntervals(t, got, referenceIntervals(t, m, mu, s.gg, s.gu, c, monetary, dailyPredictOptions, opts), 1e-9)
}
