package btyd

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

var dailyPredictOptions = PredictOptions{Horizon: 90, MonthLength: 30, Months: 12, DiscountRate: 0.01}

// fittedShop is a simulated shop in days with its fits and their uncertainty.
type fittedShop struct {
	c        Customers
	monetary []float64
	bg       BGNBD
	gg       GammaGamma
	bu, gu   Uncertainty
}

func newFittedShop(t testing.TB, n int, seed uint64) fittedShop {
	t.Helper()
	c, rng := simulateBGNBD(BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, n, 730, seed)
	s := fittedShop{c: c, monetary: simulateSpend(GammaGamma{P: 6, Q: 4, Gamma: 15}, c.Frequency, rng)}
	var err error
	if s.bg, _, err = FitBGNBD(Compress(c)); err != nil {
		t.Fatal(err)
	}
	buyers := RepeatBuyers(c.Frequency, s.monetary)
	if s.gg, _, err = FitGammaGamma(buyers); err != nil {
		t.Fatal(err)
	}
	if s.bu, err = PurchaseUncertainty(s.bg, c, 0.9); err != nil {
		t.Fatal(err)
	}
	if s.gu, err = SpendUncertainty(s.gg, buyers, 0.9); err != nil {
		t.Fatal(err)
	}
	return s
}

// referenceIntervals is the plain definition: Predict under every draw,
// each customer's values sorted, type-7 quantiles, widened to the point.
func referenceIntervals(t *testing.T, pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty, c Customers, monetary []float64, o PredictOptions, opts IntervalOptions) PredictionIntervals {
	t.Helper()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	models, err := drawParams(pu, opts.Draws, rng, func(p []float64) (PurchaseModel, error) { return pm.WithParams(p) })
	if err != nil {
		t.Fatal(err)
	}
	spend := make([]GammaGamma, opts.Draws)
	for d := range spend {
		spend[d] = gg
	}
	if gu.Cov != nil {
		if spend, err = drawParams(gu, opts.Draws, rng, gg.withParams); err != nil {
			t.Fatal(err)
		}
	}
	n := c.Len()
	draws := make([]Predictions, opts.Draws)
	for d := range draws {
		draws[d] = Predict(models[d], spend[d], c, monetary, o)
	}
	point := Predict(pm, gg, c, monetary, o)
	var out PredictionIntervals
	quantile := func(v []float64, p float64) float64 {
		h := p * float64(len(v)-1)
		i := int(h)
		if i+1 == len(v) {
			return v[i]
		}
		return v[i] + (h-float64(i))*(v[i+1]-v[i])
	}
	for _, m := range []struct {
		iv  *Interval
		get func(p Predictions) []float64
	}{
		{&out.PAlive, func(p Predictions) []float64 { return p.PAlive }},
		{&out.ExpectedPurchases, func(p Predictions) []float64 { return p.ExpectedPurchases }},
		{&out.CLV, func(p Predictions) []float64 { return p.CLV }},
	} {
		m.iv.Low, m.iv.High = make([]float64, n), make([]float64, n)
		v := make([]float64, opts.Draws)
		for i := range n {
			for d := range draws {
				v[d] = m.get(draws[d])[i]
				if !finite(v[d]) {
					t.Fatalf("customer %d draw %d: %v", i, d, v[d])
				}
			}
			slices.Sort(v)
			pt := m.get(point)[i]
			m.iv.Low[i] = min(quantile(v, (1-opts.Level)/2), pt)
			m.iv.High[i] = max(quantile(v, (1+opts.Level)/2), pt)
		}
	}
	return out
}

func compareIntervals(t *testing.T, got, want PredictionIntervals, relTol float64) {
	t.Helper()
	for _, m := range []struct {
		name      string
		got, want Interval
	}{{"p_alive", got.PAlive, want.PAlive}, {"expected", got.ExpectedPurchases, want.ExpectedPurchases}, {"clv", got.CLV, want.CLV}} {
		var worst float64
		for i := range m.want.Low {
			for _, pair := range [][2]float64{{m.got.Low[i], m.want.Low[i]}, {m.got.High[i], m.want.High[i]}} {
				d := math.Abs(pair[0]-pair[1]) / math.Max(math.Abs(pair[1]), 1e-300)
				if !(d <= relTol) {
					t.Fatalf("%s customer %d: got [%v, %v], reference [%v, %v]", m.name, i, m.got.Low[i], m.got.High[i], m.want.Low[i], m.want.High[i])
				}
				worst = max(worst, d)
			}
		}
		t.Logf("%s: largest relative difference from the reference %.2g", m.name, worst)
	}
}

// TestPredictIntervalsMatchReference holds the grouped, tabulated and
// interpolated computation to the plain definition (Predict per draw).
func TestPredictIntervalsMatchReference(t *testing.T) {
	s := newFittedShop(t, 6000, 21)
	// Heavy buyers, whose odds and series leave the tables and take the
	// one-at-a-time formulas.
	for _, h := range [][4]float64{{3000, 999, 1000, 20}, {3000, 400, 1000, 25}, {600, 700, 720, 30}} {
		s.c.Frequency, s.c.Recency, s.c.T = append(s.c.Frequency, h[0]), append(s.c.Recency, h[1]), append(s.c.T, h[2])
		s.monetary = append(s.monetary, h[3])
	}
	opts := IntervalOptions{Level: 0.8, Draws: 40, Seed: 5}
	got, err := PredictIntervals(s.bg, s.bu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, opts)
	if err != nil {
		t.Fatal(err)
	}
	compareIntervals(t, got, referenceIntervals(t, s.bg, s.bu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, opts), 1e-9)

	// A model without the faster forms (Pareto/NBD), a horizon that is no
	// whole number of months, and the spend model held fixed.
	c, zbar := cdnow(t)
	pn, _, err := FitParetoNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	pu, err := PurchaseUncertainty(pn, c, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	gg, _, _ := FitGammaGamma(RepeatBuyers(c.Frequency, zbar))
	weeks := PredictOptions{Horizon: 39, MonthLength: 4.35, Months: 6, DiscountRate: 0.01}
	opts = IntervalOptions{Level: 0.9, Draws: 20, Seed: 9}
	got, err = PredictIntervals(pn, pu, gg, Uncertainty{}, c, zbar, weeks, opts)
	if err != nil {
		t.Fatal(err)
	}
	compareIntervals(t, got, referenceIntervals(t, pn, pu, gg, Uncertainty{}, c, zbar, weeks, opts), 1e-12)
}

// TestPredictIntervalsContainPoint: every interval holds Predict's value,
// and those that can vary have width.
func TestPredictIntervalsContainPoint(t *testing.T) {
	c, zbar := cdnow(t)
	bg, _, _ := FitBGNBD(Compress(c))
	buyers := RepeatBuyers(c.Frequency, zbar)
	gg, _, _ := FitGammaGamma(buyers)
	bu, err := PurchaseUncertainty(bg, c, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	gu, err := SpendUncertainty(gg, buyers, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	weeks := PredictOptions{Horizon: 39, MonthLength: 30.0 / 7, Months: 12, DiscountRate: 0.01}
	iv, err := PredictIntervals(bg, bu, gg, gu, c, zbar, weeks, IntervalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if iv.Level != 0.8 || iv.Draws != 200 {
		t.Errorf("defaults: level %v, draws %d", iv.Level, iv.Draws)
	}
	p := Predict(bg, gg, c, zbar, weeks)
	var width [3]float64
	for i := range c.Len() {
		for m, v := range []struct {
			iv    Interval
			point float64
		}{{iv.PAlive, p.PAlive[i]}, {iv.ExpectedPurchases, p.ExpectedPurchases[i]}, {iv.CLV, p.CLV[i]}} {
			lo, hi := v.iv.Low[i], v.iv.High[i]
			if !(lo <= v.point && v.point <= hi) {
				t.Fatalf("metric %d customer %d: %v outside [%v, %v]", m, i, v.point, lo, hi)
			}
			// P(alive) is exactly 1 without repeat purchases; the rest varies.
			if !(lo < hi) && (m > 0 || c.Frequency[i] > 0) {
				t.Fatalf("metric %d customer %d: empty interval [%v, %v]", m, i, lo, hi)
			}
			width[m] += (hi - lo) / v.point / float64(c.Len())
		}
	}
	t.Logf("mean width relative to the point: p_alive %.3f, expected purchases %.3f, clv %.3f", width[0], width[1], width[2])
}

func bitsOf(iv PredictionIntervals) []uint64 {
	var b []uint64
	for _, s := range [][]float64{iv.PAlive.Low, iv.PAlive.High, iv.ExpectedPurchases.Low, iv.ExpectedPurchases.High, iv.CLV.Low, iv.CLV.High} {
		for _, v := range s {
			b = append(b, math.Float64bits(v))
		}
	}
	return b
}

// TestPredictIntervalsDeterministic: a seed gives the same bits on any
// number of CPUs; another seed other intervals.
func TestPredictIntervalsDeterministic(t *testing.T) {
	s := newFittedShop(t, 5000, 33)
	run := func(seed uint64) []uint64 {
		iv, err := PredictIntervals(s.bg, s.bu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, IntervalOptions{Draws: 30, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return bitsOf(iv)
	}
	first := run(1)
	if !slices.Equal(first, run(1)) {
		t.Error("same seed, different intervals")
	}
	procs := runtime.GOMAXPROCS(1)
	one := run(1)
	runtime.GOMAXPROCS(procs)
	if !slices.Equal(first, one) {
		t.Error("one CPU gives different intervals")
	}
	if slices.Equal(first, run(2)) {
		t.Error("another seed, same intervals")
	}
}

func TestPredictIntervalsErrors(t *testing.T) {
	s := newFittedShop(t, 2000, 3)
	for _, opts := range []IntervalOptions{{Level: 1}, {Level: -0.2}, {Draws: 1}} {
		if _, err := PredictIntervals(s.bg, s.bu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, opts); !errors.Is(err, ErrBadInput) {
			t.Errorf("%+v: err = %v", opts, err)
		}
	}
	if _, err := PredictIntervals(s.bg, s.bu, s.gg, s.gu, s.c, s.monetary[1:], dailyPredictOptions, IntervalOptions{}); !errors.Is(err, ErrBadInput) {
		t.Errorf("short monetary: err = %v", err)
	}
	if _, err := PredictIntervals(s.bg, Uncertainty{}, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, IntervalOptions{}); !errors.Is(err, ErrBadInput) {
		t.Errorf("no purchase uncertainty: err = %v", err)
	}
	// An estimate so far below 1 that every Gamma-Gamma draw has q <= 1.
	wide := s.gu
	wide.Cov = mat.NewSymDense(3, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1})
	wide.Estimate = []float64{6, 1e-6, 15}
	if _, err := PredictIntervals(s.bg, s.bu, s.gg, wide, s.c, s.monetary, dailyPredictOptions, IntervalOptions{Draws: 20}); !errors.Is(err, ErrDegenerate) {
		t.Errorf("draws outside the domain: err = %v", err)
	}
}

// TestIntervalQuantiles holds the bucketed quantiles to sorting.
func TestIntervalQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	q := newQuantileScratch(300)
	gens := []func() float64{
		rng.NormFloat64,
		func() float64 { return math.Exp(3 * rng.NormFloat64()) },
		func() float64 { return float64(rng.IntN(4)) }, // ties
		func() float64 { return 1 },
		func() float64 {
			if rng.IntN(50) == 0 {
				return 1e12 // one far outlier squeezes the rest into a bucket
			}
			return rng.Float64()
		},
	}
	for _, n := range []int{1, 2, 3, 5, 17, 200, 300} {
		for g, gen := range gens {
			for _, p := range [][2]float64{{0.1, 0.9}, {0.05, 0.95}, {0.45, 0.55}, {0, 1}} {
				v := make([]float64, n)
				for i := range v {
					v[i] = gen()
				}
				sorted := slices.Sorted(slices.Values(v))
				want := func(p float64) float64 {
					i, f := quantileRank(p, n)
					if f > 0 {
						return sorted[i] + f*(sorted[i+1]-sorted[i])
					}
					return sorted[i]
				}
				lo, hi := q.bounds(slices.Clone(v), p[0], p[1], math.NaN()) // a NaN point widens nothing
				if lo != want(p[0]) || hi != want(p[1]) {
					t.Fatalf("n %d, generator %d, p %v: got [%v, %v], want [%v, %v]", n, g, p, lo, hi, want(p[0]), want(p[1]))
				}
			}
		}
	}
	// Values that are not finite are left out; the point widens.
	lo, hi := q.bounds([]float64{math.NaN(), 1, 2, math.Inf(1), 3}, 0.5, 0.5, 7)
	if lo != 2 || hi != 7 {
		t.Errorf("got [%v, %v], want [2, 7]", lo, hi)
	}
	if lo, hi := q.bounds([]float64{math.NaN()}, 0.1, 0.9, 4); lo != 4 || hi != 4 {
		t.Errorf("no finite value: [%v, %v]", lo, hi)
	}
}

// TestBGNBDBatchFormulas holds the faster forms to the one-at-a-time ones,
// heavy buyers (the fallback series) and a zero horizon included.
func TestBGNBDBatchFormulas(t *testing.T) {
	ts := []float64{0, 30, 60, 90, 180, 365, 730}
	dst := make([]float64, len(ts))
	for _, m := range []BGNBD{{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, {R: 0.24, Alpha: 4.4, A: 1.3, B: 2.4}, {R: 2, Alpha: 100, A: 0.3, B: 9}} {
		for _, c := range [][3]float64{{0, 0, 0}, {0, 0, 400}, {1, 3, 5}, {4, 200, 700}, {40, 300, 300}, {3000, 999, 1000}} {
			x, tx, T := c[0], c[1], c[2]
			m.expectedIfAliveAt(dst, ts, x, T, nil, new([]float64))
			for h, hz := range ts {
				if want := m.ExpectedIfAlive(hz, x, T); math.Abs(dst[h]-want) > 1e-12*want {
					t.Errorf("%+v x %v T %v t %v: %v, one at a time %v", m, x, T, hz, dst[h], want)
				}
			}
			base, power, shift, alive := m.dropoutOdds(x, T)
			got := 1.0
			if !alive {
				got = sigmoid(-(base - power*math.Log(tx+shift)))
			}
			if want := m.PAlive(x, tx, T); math.Abs(got-want) > 1e-12*want {
				t.Errorf("%+v (%v, %v, %v): odds give P(alive) %v, PAlive %v", m, x, tx, T, got, want)
			}
		}
	}
}

// BenchmarkPredictIntervals1M times, on the 1M simulated customers of
// BenchmarkFitAndPredict1M, Predict's point predictions and
// PredictIntervals with 200 draws (P(alive), expected purchases over 90
// days and 12-month CLV, both models uncertain), reporting both and their
// ratio; the fits and their uncertainty are outside the timing.
func BenchmarkPredictIntervals1M(b *testing.B) {
	s := newFittedShop(b, 1_000_000, 11)
	b.ResetTimer()
	var predict, intervals time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p := Predict(s.bg, s.gg, s.c, s.monetary, dailyPredictOptions)
		t1 := time.Now()
		iv, err := PredictIntervals(s.bg, s.bu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, IntervalOptions{Seed: 1})
		t2 := time.Now()
		if err != nil || len(iv.CLV.Low) != len(p.CLV) {
			b.Fatal(err)
		}
		predict, intervals = predict+t1.Sub(t0), intervals+t2.Sub(t1)
	}
	b.ReportMetric(predict.Seconds()/float64(b.N), "predict-s")
	b.ReportMetric(intervals.Seconds()/float64(b.N), "intervals-s")
	b.ReportMetric(intervals.Seconds()/predict.Seconds(), "ratio")
}
