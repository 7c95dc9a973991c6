package btyd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLog1pNonNegMatchesLibrary holds log1pNonNeg to math.Log1p bit for
// bit: at the edges of each of its branches and at random points over
// every binade a likelihood's exp can give it, up to e⁷⁰⁰; and the
// arguments it hands to the library.
func TestLog1pNonNegMatchesLibrary(t *testing.T) {
	edges := []float64{0, math.SmallestNonzeroFloat64, 1.0 / (1 << 54), math.Nextafter(1.0/(1<<54), 0),
		1.0 / (1 << 29), math.Nextafter(1.0/(1<<29), 0), math.Sqrt2 - 1, math.Nextafter(math.Sqrt2-1, 0),
		math.Nextafter(math.Sqrt2-1, 1), 1, 2, math.Sqrt2, 1 << 53, math.Nextafter(1<<53, 0), 1 << 60, math.Exp(700),
		math.MaxFloat64, math.Inf(1), math.NaN(), -0.5, -1, -2, math.Inf(-1), math.Copysign(0, -1)}
	for _, x := range edges {
		if got, want := log1pNonNeg(x), math.Log1p(x); math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("log1pNonNeg(%v) = %v, math.Log1p %v", x, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2_000_000 {
		x := math.Exp(rng.Float64()*1445 - 745)
		if got, want := log1pNonNeg(x), math.Log1p(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("log1pNonNeg(%v) = %v, math.Log1p %v", x, got, want)
		}
	}
}
