package btyd

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
)

// TestCompressPackedMatchesMap holds the packed-key table, and the
// bucketed two-worker form compressions use, to the plain map they
// replace: the same rows in the same order, the same weights and row map,
// for shops with and without weights, on one CPU and two.
func TestCompressPackedMatchesMap(t *testing.T) {
	c, _ := simulateGenShop(20_000, 5)
	weighted := c
	weighted.Weight = make([]float64, c.Len())
	for i := range weighted.Weight {
		weighted.Weight[i] = float64(i%7) + 0.5
	}
	for _, tc := range []struct {
		name string
		c    Customers
	}{{"unweighted", c}, {"weighted", weighted}, {"one row", Customers{Frequency: []float64{0}, Recency: []float64{0}, T: []float64{0}}},
		{"one history repeated", Customers{Frequency: []float64{3, 3, 3, 3}, Recency: []float64{9, 9, 9, 9}, T: []float64{40, 40, 40, 40}}},
		{"negative zero kept", Customers{Frequency: []float64{math.Copysign(0, -1), 0, 1}, Recency: []float64{0, 0, 2}, T: []float64{5, 5, 7}}},
		{"keys spread over buckets", Customers{Frequency: []float64{1, 0, 1, 2, 0, 1, 1}, Recency: []float64{3, 0, 3, 9, 0, 3, 0},
			T: []float64{9, 2, 9, 9, 0, 4, 9}, Weight: []float64{0.25, 1, 2, 3, 4, 5, 6}}}} {
		t.Run(tc.name, func(t *testing.T) {
			type key struct{ x, tx, T float64 }
			want, wantRows := compressBy(tc.c, func(i int) key { return key{tc.c.Frequency[i], tc.c.Recency[i], tc.c.T[i]} })
			check := func(how string, got Customers, gotRows []int32) {
				t.Helper()
				if !slices.Equal(floatBits(got.Frequency, got.Recency, got.T, got.Weight), floatBits(want.Frequency, want.Recency, want.T, want.Weight)) ||
					!slices.Equal(gotRows, wantRows) {
					t.Fatalf("%s compression differs from the map's: %d rows against %d", how, got.Len(), want.Len())
				}
			}
			got, gotRows := compressPackedSerial(tc.c)
			check("packed", got, gotRows)
			for _, procs := range []int{1, 2} {
				old := runtime.GOMAXPROCS(procs)
				got, gotRows = compressPackedBuckets(tc.c)
				runtime.GOMAXPROCS(old)
				check(fmt.Sprintf("bucketed on %d CPUs", procs), got, gotRows)
			}
		})
	}
}

func floatBits(cols ...[]float64) []uint64 {
	var out []uint64
	for _, col := range cols {
		for _, v := range col {
			out = append(out, math.Float64bits(v))
		}
	}
	return out
}

// outputs are everything a purchase model and Gamma-Gamma give on a shop.
type outputs struct {
	fit, ggFit Fit
	pu, gu     Uncertainty
	p          Predictions
	iv         PredictionIntervals
}

// everyOutput fits model name and Gamma-Gamma on c and computes their
// uncertainty, point predictions and intervals with opts.
func everyOutput(t *testing.T, name string, c Customers, monetary []float64, opts IntervalOptions) outputs {
	t.Helper()
	var o outputs
	pm, fit, err := fitPurchaseModel(name, c)
	if err != nil {
		t.Fatal(err)
	}
	spend := RepeatBuyers(c.Frequency, monetary)
	gg, ggFit, err := FitGammaGamma(spend)
	if err != nil {
		t.Fatal(err)
	}
	if o.pu, err = PurchaseUncertainty(pm, c, 0.8); err != nil {
		t.Fatal(err)
	}
	if o.gu, err = SpendUncertainty(gg, spend, 0.8); err != nil {
		t.Fatal(err)
	}
	o.fit, o.ggFit = fit, ggFit
	o.p = Predict(pm, gg, c, monetary, dailyPredictOptions)
	if o.iv, err = PredictIntervals(pm, o.pu, gg, o.gu, c, monetary, dailyPredictOptions, opts); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestSameBitsOnOneAndTwoCPUs runs every purchase model's fit, its
// uncertainty, the point predictions and the intervals on one CPU and on
// two: work is split into chunks fixed by the data and reduced in a fixed
// order, so the bits must not differ.
func TestSameBitsOnOneAndTwoCPUs(t *testing.T) {
	c, monetary := simulateGenShop(8_000, 9)
	run := func(name string) []uint64 {
		o := everyOutput(t, name, c, monetary, IntervalOptions{Draws: 20, Seed: 3})
		return slices.Concat(floatBits(o.fit.Params, []float64{o.fit.LogLikelihood}, o.ggFit.Params, o.pu.SE, o.gu.SE,
			o.p.PAlive, o.p.ExpectedPurchases, o.p.CLV, o.p.PNoPurchase, o.p.NextOrderDays), bitsOf(o.iv))
	}
	for _, name := range benchModels {
		t.Run(name, func(t *testing.T) {
			procs := runtime.GOMAXPROCS(1)
			one := run(name)
			runtime.GOMAXPROCS(2)
			two := run(name)
			runtime.GOMAXPROCS(procs)
			if !slices.Equal(one, two) {
				t.Error("one CPU and two give different bits")
			}
		})
	}
}

// TestCountTableMatchesSorted holds the direct-index table to the sorted
// one it replaces for whole-number columns, and checks it declines others.
func TestCountTableMatchesSorted(t *testing.T) {
	c, _ := simulateGenShop(20_000, 6)
	sorted := func(col []float64) table {
		values := slices.Clone(col)
		slices.Sort(values)
		values = slices.Compact(values)
		tb := table{values: values, index: make([]int32, len(col))}
		for i, v := range col {
			j, _ := slices.BinarySearch(values, v)
			tb.index[i] = int32(j)
		}
		return tb
	}
	for _, tc := range []struct {
		name  string
		col   []float64
		count bool
	}{
		{"frequency", c.Frequency, true}, {"recency", c.Recency, true}, {"T", c.T, true},
		{"one zero", []float64{0}, true},
		{"weeks", []float64{1.5, 0, 3}, false}, {"negative zero", []float64{1, math.Copysign(0, -1)}, false},
		{"too large", []float64{1 << 21}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := newCountTable(tc.col)
			if ok != tc.count {
				t.Fatalf("count table taken: %v, want %v", ok, tc.count)
			}
			if !ok {
				return
			}
			want := sorted(tc.col)
			if !slices.Equal(floatBits(got.values), floatBits(want.values)) || !slices.Equal(got.index, want.index) {
				t.Error("count table differs from the sorted one")
			}
		})
	}
}

// TestExpectedMatchesPerCustomerCalls holds Expected, which shares work
// between customers, to one PAlive and one ExpectedIfAlive call per
// customer, bit for bit, for every purchase model.
func TestExpectedMatchesPerCustomerCalls(t *testing.T) {
	c, _ := simulateGenShop(3_000, 21)
	for _, name := range benchModels {
		t.Run(name, func(t *testing.T) {
			pm, _, err := fitPurchaseModel(name, c)
			if err != nil {
				t.Fatal(err)
			}
			got := Expected(pm, c, 90)
			for i := range c.Len() {
				x, tx, T := c.Frequency[i], c.Recency[i], c.T[i]
				if want := pm.PAlive(x, tx, T) * pm.ExpectedIfAlive(90, x, T); math.Float64bits(got[i]) != math.Float64bits(want) {
					t.Fatalf("customer %d (%v, %v, %v): %v, per-customer calls give %v", i, x, tx, T, got[i], want)
				}
			}
		})
	}
}

// TestWarmFitsSameBitsOnOneAndTwoCPUs runs the fits large enough to end
// in Newton steps from a warm start (BG/NBD and MBG/NBD from 24k histories,
// Gamma-Gamma from 50k repeat buyers, Pareto/NBD from 5k) on one CPU and on
// two: their bits must not differ either.
func TestWarmFitsSameBitsOnOneAndTwoCPUs(t *testing.T) {
	c, monetary := simulateGenShop(70_000, 21)
	cc := Compress(c)
	spend := RepeatBuyers(c.Frequency, monetary)
	if cc.Len() < warmStep*coldRows || len(spend.Frequency) < 2*warmRows {
		t.Fatalf("shop too small to warm-start: %d histories, %d repeat buyers", cc.Len(), len(spend.Frequency))
	}
	run := func() []uint64 {
		var out []float64
		for _, name := range benchModels {
			_, f, err := fitPurchaseModel(name, c)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, f.Params...)
			out = append(out, f.LogLikelihood)
		}
		_, f, err := FitGammaGamma(spend)
		if err != nil {
			t.Fatal(err)
		}
		return floatBits(out, f.Params, []float64{f.LogLikelihood})
	}
	procs := runtime.GOMAXPROCS(1)
	one := run()
	runtime.GOMAXPROCS(2)
	two := run()
	runtime.GOMAXPROCS(procs)
	if !slices.Equal(one, two) {
		t.Error("one CPU and two give different bits")
	}
}
