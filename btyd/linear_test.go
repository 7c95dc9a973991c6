package btyd

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestLinearIntervalsCloserThanDraws is why IntervalAuto linearises at
// small standard errors: on a 60k-customer shop, against 20,000 draws,
// the linear bounds are nearer than 200 draws' are, for every value.
func TestLinearIntervalsCloserThanDraws(t *testing.T) {
	s := newFittedShop(t, 60_000, 5)
	if m, _ := intervalMethod(IntervalAuto, s.bu, s.gu); m != IntervalLinear {
		t.Fatalf("auto chose %s at 60k customers (log-SEs %v, %v)", m, logSEs(s.bu), logSEs(s.gu))
	}
	// Every 120th customer: fits and uncertainties are the whole shop's.
	var sub Customers
	var monetary []float64
	for i := 0; i < s.c.Len(); i += 120 {
		sub.Frequency = append(sub.Frequency, s.c.Frequency[i])
		sub.Recency = append(sub.Recency, s.c.Recency[i])
		sub.T = append(sub.T, s.c.T[i])
		monetary = append(monetary, s.monetary[i])
	}
	run := func(opts IntervalOptions) PredictionIntervals {
		opts.Level = 0.8
		iv, err := PredictIntervals(s.bg, s.bu, s.gg, s.gu, sub, monetary, dailyPredictOptions, opts)
		if err != nil {
			t.Fatal(err)
		}
		if opts.Method != IntervalAuto && iv.Method != opts.Method {
			t.Fatalf("asked for %s, got %s", opts.Method, iv.Method)
		}
		return iv
	}
	ref := run(IntervalOptions{Method: IntervalDraws, Draws: 20_000, Seed: 99})
	lin := run(IntervalOptions{Method: IntervalLinear})
	var draws []PredictionIntervals
	for seed := range uint64(4) {
		draws = append(draws, run(IntervalOptions{Method: IntervalDraws, Draws: 200, Seed: seed + 1}))
	}
	// err is the median distance of a bound from the reference's, in
	// widths of the reference interval.
	err := func(get func(PredictionIntervals) Interval, ivs ...PredictionIntervals) (float64, float64) {
		want := get(ref)
		var d []float64
		for _, iv := range ivs {
			got := get(iv)
			for i := range want.Low {
				w := want.High[i] - want.Low[i]
				if !(w > 0) {
					continue
				}
				d = append(d, math.Abs(got.Low[i]-want.Low[i])/w, math.Abs(got.High[i]-want.High[i])/w)
			}
		}
		slices.Sort(d)
		return d[len(d)/2], d[len(d)*19/20]
	}
	for _, v := range []struct {
		name string
		get  func(PredictionIntervals) Interval
	}{
		{"p_alive", func(iv PredictionIntervals) Interval { return iv.PAlive }},
		{"expected_purchases", func(iv PredictionIntervals) Interval { return iv.ExpectedPurchases }},
		{"clv", func(iv PredictionIntervals) Interval { return iv.CLV }},
	} {
		l, l95 := err(v.get, lin)
		d, d95 := err(v.get, draws...)
		t.Logf("%s: error of a bound, in reference widths, median and 95th percentile: linear %.4f, %.4f; 200 draws %.4f, %.4f", v.name, l, l95, d, d95)
		if !(l < d) || !(l95 < d95) || !(l < 0.03) {
			t.Errorf("%s: linear %.4f, %.4f is not below 200 draws' %.4f, %.4f, or not below 0.03", v.name, l, l95, d, d95)
		}
	}
	for i := range sub.Len() {
		for _, iv := range []Interval{lin.PAlive, lin.ExpectedPurchases, lin.CLV} {
			if !(iv.Low[i] <= iv.High[i]) {
				t.Fatalf("customer %d: bounds out of order [%v, %v]", i, iv.Low[i], iv.High[i])
			}
		}
		if lin.PAlive.Low[i] < 0 || lin.PAlive.High[i] > 1 {
			t.Fatalf("customer %d: p_alive bounds [%v, %v] leave [0, 1]", i, lin.PAlive.Low[i], lin.PAlive.High[i])
		}
	}
}

func logSEs(u Uncertainty) []float64 {
	var out []float64
	for i := range u.Names {
		out = append(out, u.LogSE(i))
	}
	return out
}

// TestLinearBounds checks the reduction by hand.
func TestLinearBounds(t *testing.T) {
	z := 1.2815515655446004 // the 90% quantile: an 80% interval
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	for _, c := range []struct {
		name        string
		v           []float64
		point       float64
		probability bool
		lo, hi      float64
		steps       []float64 // one per pair; 1 when nil
	}{
		// Half-differences on the log scale ln(1.1/0.9)/2 and ln(1.05/0.95)/2.
		{"log scale", []float64{1.1, 0.9, 1.05, 0.95}, 1, false,
			math.Exp(-z * math.Hypot(math.Log(1.1/0.9)/2, math.Log(1.05/0.95)/2)), math.Exp(z * math.Hypot(math.Log(1.1/0.9)/2, math.Log(1.05/0.95)/2)), nil},
		{"logit scale", []float64{0.6, 0.4}, 0.5, true,
			1 / (1 + math.Exp(z*(logit(0.6)-logit(0.4))/2)), 1 / (1 + math.Exp(-z*(logit(0.6)-logit(0.4))/2)), nil},
		{"a pair that does not move", []float64{2, 2, 2.2, 1.8}, 2, false,
			2 * math.Exp(-z*math.Log(2.2/1.8)/2), 2 * math.Exp(z*math.Log(2.2/1.8)/2), nil},
		{"P(alive) of exactly 1", []float64{1, 1, 1, 1}, 1, true, 1, 1, nil},
		{"no purchases expected", []float64{0, 0}, 0, false, 0, 0, nil},
		// An edge value among the pairs: the value's own scale, clamped.
		{"at the edge, clamped", []float64{1, 0.9}, 0.95, true, 0.95 - z*0.05, 1, nil},
		{"a pair not finite adds nothing", []float64{math.NaN(), 1, 1.1, 0.9}, 1, false,
			math.Exp(-z * math.Log(1.1/0.9) / 2), math.Exp(z * math.Log(1.1/0.9) / 2), nil},
		{"a point not finite", []float64{1.1, 0.9}, math.Inf(1), false, math.Inf(1), math.Inf(1), nil},
		// A pair half a standard deviation apart counts twice its difference.
		{"half a step", []float64{1.05, 0.95}, 1, false, math.Exp(-z * math.Log(1.05/0.95)), math.Exp(z * math.Log(1.05/0.95)), []float64{0.5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := linearBounds{z: z, steps: c.steps}
			if b.steps == nil {
				b.steps = []float64{1, 1}
			}
			lo, hi := b.bounds(c.v, c.point, c.probability)
			if math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 && !(math.IsInf(hi, 1) && math.IsInf(c.hi, 1)) {
				t.Fatalf("got [%v, %v], want [%v, %v]", lo, hi, c.lo, c.hi)
			}
		})
	}
}

// TestLinearAxesShrink: on a small shop a dropout parameter's standard
// error is wide enough that one standard deviation leaves the model's
// domain; the axis shrinks instead of the intervals failing, and they
// still hold their points.
func TestLinearAxesShrink(t *testing.T) {
	s := newFittedShop(t, 60, 3)
	models, spend, steps, err := axisParams(s.bg, s.bu, s.gg, s.gu)
	if err != nil {
		t.Fatal(err)
	}
	if len(models)-1+len(spend) != 2*len(steps) || slices.Min(steps) >= 1 {
		t.Fatalf("steps %v for %d models: no axis shrank (log-SEs %v)", steps, len(models), logSEs(s.bu))
	}
	p, iv, err := PredictWithIntervals(s.bg, s.bu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, IntervalOptions{Method: IntervalLinear})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.CLV {
		for _, c := range []struct {
			v  float64
			iv Interval
		}{{p.PAlive[i], iv.PAlive}, {p.ExpectedPurchases[i], iv.ExpectedPurchases}, {p.CLV[i], iv.CLV}} {
			if !(c.iv.Low[i] <= c.v && c.v <= c.iv.High[i]) {
				t.Fatalf("customer %d: %v outside [%v, %v]", i, c.v, c.iv.Low[i], c.iv.High[i])
			}
		}
	}
}

// TestIntervalMethod checks how auto chooses and that a bad method fails.
func TestIntervalMethod(t *testing.T) {
	cov := func(se float64) *mat.SymDense { return mat.NewSymDense(2, []float64{se * se, 0, 0, se * se}) }
	small, large := Uncertainty{Cov: cov(0.01)}, Uncertainty{Cov: cov(0.1)}
	for _, c := range []struct {
		name   string
		m      IntervalMethod
		pu, gu Uncertainty
		want   IntervalMethod
	}{
		{"small errors", IntervalAuto, small, small, IntervalLinear},
		{"default is auto", "", small, Uncertainty{}, IntervalLinear},
		{"a large purchase error", IntervalAuto, large, small, IntervalDraws},
		{"a large spend error", IntervalAuto, small, large, IntervalDraws},
		{"no purchase covariance", IntervalAuto, Uncertainty{}, small, IntervalDraws},
		{"asked for draws", IntervalDraws, small, small, IntervalDraws},
		{"asked for linear", IntervalLinear, large, large, IntervalLinear},
	} {
		if got, err := intervalMethod(c.m, c.pu, c.gu); err != nil || got != c.want {
			t.Errorf("%s: got %s, %v; want %s", c.name, got, err, c.want)
		}
	}
	if _, err := intervalMethod("bootstrap", small, small); !errors.Is(err, ErrBadInput) {
		t.Fatalf("unknown method: %v", err)
	}
}

func predictionBits(p Predictions) []uint64 {
	var b []uint64
	for _, s := range [][]float64{p.PAlive, p.ExpectedPurchases, p.ExpectedAvgValue, p.CLV, p.PNoPurchase, p.NextOrderDays} {
		for _, v := range s {
			b = append(b, math.Float64bits(v))
		}
	}
	return b
}

// TestPredictWithIntervalsSameBits: the one call gives what Predict and
// PredictIntervals give apart, for every model and both methods, and the
// linear intervals the same bits on one CPU as on several.
func TestPredictWithIntervalsSameBits(t *testing.T) {
	s := newFittedShop(t, 4000, 17)
	mbg, _, err := FitMBGNBD(Compress(s.c))
	if err != nil {
		t.Fatal(err)
	}
	pn, _, err := FitParetoNBD(Compress(s.c))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Estimable{s.bg, mbg, pn} {
		pu, err := PurchaseUncertainty(m, s.c, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []IntervalMethod{IntervalDraws, IntervalLinear} {
			opts := IntervalOptions{Draws: 40, Seed: 3, Method: method}
			p, iv, err := PredictWithIntervals(m, pu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, opts)
			if err != nil {
				t.Fatal(err)
			}
			apart, err := PredictIntervals(m, pu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(predictionBits(p), predictionBits(Predict(m, s.gg, s.c, s.monetary, dailyPredictOptions))) {
				t.Errorf("%T %s: predictions differ from Predict's", m, method)
			}
			if !slices.Equal(bitsOf(iv), bitsOf(apart)) || iv.Method != method {
				t.Errorf("%T %s: intervals differ from PredictIntervals'", m, method)
			}
			procs := runtime.GOMAXPROCS(1)
			_, one, err := PredictWithIntervals(m, pu, s.gg, s.gu, s.c, s.monetary, dailyPredictOptions, opts)
			runtime.GOMAXPROCS(procs)
			if err != nil || !slices.Equal(bitsOf(iv), bitsOf(one)) {
				t.Errorf("%T %s: one CPU gives other intervals (%v)", m, method, err)
			}
		}
	}
}
