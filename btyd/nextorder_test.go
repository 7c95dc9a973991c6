package btyd

import (
	"math"
	"sync"
	"testing"
)

// TestNextOrderDays: the returned time has even odds of a purchase by it,
// and there is none exactly when the odds of ever buying again are below
// even, over a sweep of histories that crosses that line many times.
func TestNextOrderDays(t *testing.T) {
	models := []struct {
		name string
		m    PurchaseModel
	}{
		{"bgnbd", npBG},
		{"pareto_nbd", npPN},
		{"pareto_nbd(α>β)", npPN2},
		{"pareto_nbd(α≪β)", ParetoNBD{R: 0.2, Alpha: 2, S: 0.3, Beta: 400}},
	}
	for _, md := range models {
		var found, none int
		check := func(x, tx, T float64) {
			h, ok := md.m.NextOrderDays(x, tx, T)
			never := md.m.PNoPurchase(math.Inf(1), x, tx, T)
			if ok != (never < 0.5) {
				t.Errorf("%s x=%g t_x=%g T=%g: ok %v with P(never again) %v", md.name, x, tx, T, ok, never)
			}
			if !ok {
				none++
				if !math.IsInf(h, 1) {
					t.Errorf("%s x=%g t_x=%g T=%g: no next order but h = %v", md.name, x, tx, T, h)
				}
				return
			}
			found++
			if p := md.m.PNoPurchase(h, x, tx, T); !(h > 0 && !math.IsInf(h, 0)) || math.Abs(p-0.5) > 1e-9 {
				t.Errorf("%s x=%g t_x=%g T=%g: h = %v with P₀(h) = %.12f", md.name, x, tx, T, h, p)
			}
		}
		for _, x := range []float64{0, 1, 2, 4, 10, 30, 100, 1000, 5000} {
			for _, T := range []float64{0, 7, 30, 365, 730, 3000, 10_000} {
				for _, f := range []float64{0, 0.1, 0.25, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.999, 1} {
					tx := math.Round(f * T)
					if x == 0 {
						tx = 0
					}
					check(x, tx, T)
				}
			}
		}
		// Right at the line, where the even-odds day runs off to
		// millions of days: t_x where P(never again) crosses 1/2, found
		// by bisection, and offsets from it on both sides.
		for _, x := range []float64{1, 4, 30, 1000} {
			const T = 730
			lo, hi := 0.0, float64(T)
			for range 100 {
				if mid := (lo + hi) / 2; md.m.PNoPurchase(math.Inf(1), x, mid, T) < 0.5 {
					hi = mid
				} else {
					lo = mid
				}
			}
			for _, d := range []float64{-1, -1e-6, 0, 1e-9, 1e-6, 1e-3, 1} {
				check(x, min(T, max(0, hi+d)), T)
			}
		}
		t.Logf("%s: %d histories with a next order, %d without", md.name, found, none)
		if found == 0 || none == 0 {
			t.Errorf("%s: the sweep should have histories on both sides", md.name)
		}
	}
}

// benchData is the benchmarks' 1M simulated customers (days, up to two
// years of tenure) and a Pareto/NBD fitted to them.
var benchData = sync.OnceValues(func() (Customers, ParetoNBD) {
	c, _ := simulateBGNBD(BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, 1_000_000, 730, 11)
	pn, _, err := FitParetoNBD(Compress(c))
	if err != nil {
		panic(err)
	}
	return c, pn
})

var benchSink float64

// BenchmarkNoPurchase1M computes PNoPurchase over 90 days and NextOrderDays
// for 1M customers, one at a time on one goroutine; ns/customer is the cost
// of one call.
func BenchmarkNoPurchase1M(b *testing.B) {
	c, pn := benchData()
	models := []struct {
		name string
		m    PurchaseModel
	}{{"bgnbd", BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}}, {"pareto_nbd", pn}}
	for _, md := range models {
		b.Run(md.name+"/PNoPurchase", func(b *testing.B) {
			var s float64
			for b.Loop() {
				for i := range c.Len() {
					s += md.m.PNoPurchase(90, c.Frequency[i], c.Recency[i], c.T[i])
				}
			}
			benchSink = s
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.Len()), "ns/customer")
		})
		b.Run(md.name+"/NextOrderDays", func(b *testing.B) {
			var s float64
			for b.Loop() {
				for i := range c.Len() {
					if h, ok := md.m.NextOrderDays(c.Frequency[i], c.Recency[i], c.T[i]); ok {
						s += h
					}
				}
			}
			benchSink = s
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.Len()), "ns/customer")
		})
	}
}
