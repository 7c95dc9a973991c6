package btyd

import (
	"math"
	"slices"
	"testing"
)

// TestSpendNLLReusesLogsExactly holds one Gamma-Gamma objective, which
// keeps ln(xm+γ) between evaluations at the same γ, to a fresh objective
// per evaluation: the same values and gradients, bit for bit, along a walk
// that changes γ, keeps it, and returns to it.
func TestSpendNLLReusesLogsExactly(t *testing.T) {
	c, monetary := simulateGenShop(20_000, 41)
	s := RepeatBuyers(c.Frequency, monetary)
	l, err := GammaGamma{P: 6, Q: 4, Gamma: 15}.Likelihood(s)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(lp, grad []float64) float64 {
		f, err := GammaGamma{}.Likelihood(s)
		if err != nil {
			t.Fatal(err)
		}
		return f.NLL(lp, grad)
	}
	center := []float64{math.Log(6), math.Log(4), math.Log(15)}
	step := func(i int, by float64) []float64 {
		p := slices.Clone(center)
		p[i] += by
		return p
	}
	for _, tc := range []struct {
		name string
		lp   []float64
		grad bool
	}{
		{"center", center, true}, {"p up", step(0, 1e-5), true}, {"p down", step(0, -1e-5), false},
		{"q up", step(1, 1e-5), true}, {"gamma up", step(2, 1e-5), true}, {"gamma up again", step(2, 1e-5), false},
		{"q down", step(1, -1e-5), true}, {"center again", center, true},
	} {
		var got, want []float64
		if tc.grad {
			got, want = make([]float64, 3), make([]float64, 3)
		}
		v, w := l.NLL(tc.lp, got), fresh(tc.lp, want)
		if math.Float64bits(v) != math.Float64bits(w) || !slices.Equal(floatBits(got), floatBits(want)) {
			t.Errorf("%s: %v %v, a fresh objective %v %v", tc.name, v, got, w, want)
		}
	}
}
