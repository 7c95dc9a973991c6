package exactsum

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// floor62 is floor(v*2^62), what Split keeps of v where it is exact.
func floor62(v float64) *big.Int {
	f := new(big.Float).SetPrec(0).SetFloat64(v)
	f.SetMantExp(f, 62)
	i, _ := f.Int(nil)
	if f.Sign() < 0 && !f.IsInt() {
		i.Sub(i, big.NewInt(1))
	}
	return i
}

// parts62 is u*2^62 + h*2^31 + l of Split(v), in big integers.
func parts62(v float64) *big.Int {
	u, h, l := Split(v)
	i := new(big.Int).Lsh(big.NewInt(u), 62)
	i.Add(i, new(big.Int).Lsh(big.NewInt(h), 31))
	return i.Add(i, big.NewInt(l))
}

// exact is the sum of the split terms, S*2^-62, as a big.Float.
func exact(vs []float64) *big.Float {
	s := new(big.Int)
	for _, v := range vs {
		s.Add(s, parts62(v))
	}
	r := new(big.Float).SetPrec(200).SetInt(s)
	return r.SetMantExp(r, -62)
}

func sumOf(vs []float64) Sum {
	var s Sum
	for _, v := range vs {
		s.Add(v)
	}
	return s
}

func check(t *testing.T, name string, vs []float64) {
	t.Helper()
	want, _ := exact(vs).Float64()
	if got := sumOf(vs).Float64(); math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("%s: Float64() = %v (%x), want %v (%x)", name, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

func repeat(v float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

func TestFloat64(t *testing.T) {
	tests := []struct {
		name string
		vs   []float64
		want float64 // checked only when not NaN
	}{
		{"empty", nil, 0},
		{"zero", []float64{0, 0}, 0},
		{"one", []float64{12.34}, 12.34},
		{"ten 0.1s", repeat(0.1, 10), math.NaN()},
		{"a million 0.1s", repeat(0.1, 1_000_000), math.NaN()},
		{"0.1+0.2", []float64{0.1, 0.2}, math.NaN()},
		{"cents", []float64{19.99, 5.01, 0.01}, math.NaN()},
		{"negatives", []float64{-0.5, -0.25, 1}, 0.25},
		{"negative total", []float64{-12.34, 2.34}, -10},
		{"cancel", []float64{1e15, 0.1, -1e15}, math.NaN()},
		{"tiny dropped", []float64{math.Ldexp(1, -63)}, 0},
		{"tiny kept", []float64{math.Ldexp(1, -62)}, math.Ldexp(1, -62)},
		{"huge", []float64{math.Ldexp(1, 60), math.Ldexp(1, 60), 1}, math.Ldexp(1, 61)},
		{"huge count", repeat(math.Ldexp(1, 40)-0.5, 1<<20), math.NaN()},
		{"max amount", repeat(1e9+0.37, 3_000_000), math.NaN()},
		// 2^53 + 1 is a tie between 2^53 and 2^53+2: even keeps 2^53;
		// 2^53 + 3 rounds to 2^53+4.
		{"tie to even down", []float64{math.Ldexp(1, 53), 1}, math.Ldexp(1, 53)},
		{"tie to even up", []float64{math.Ldexp(1, 53), 3}, math.Ldexp(1, 53) + 4},
		{"above tie", []float64{math.Ldexp(1, 53), 1, math.Ldexp(1, -62)}, math.Ldexp(1, 53) + 2},
		{"negative tie", []float64{-math.Ldexp(1, 53), -1}, -math.Ldexp(1, 53)},
	}
	for _, tt := range tests {
		check(t, tt.name, tt.vs)
		if !math.IsNaN(tt.want) {
			if got := sumOf(tt.vs).Float64(); got != tt.want {
				t.Errorf("%s: Float64() = %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	if got := sumOf(repeat(0.1, 10)).Float64(); got != 1 {
		t.Errorf("ten 0.1s = %v, want 1 (the float64 nearest the exact 10 × 0.1)", got)
	}
}

func TestFloat64Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := []func() float64{
		func() float64 { return math.Round(r.Float64()*100000) / 100 },               // cents
		func() float64 { return r.Float64() * 1000 },                                 // full mantissa
		func() float64 { return (r.Float64() - 0.5) * math.Ldexp(1, r.IntN(80)-20) }, // any scale, signed
		func() float64 { return math.Ldexp(float64(r.Uint64()>>11), r.IntN(60)-70) }, // bits near 2^-62
	}
	for i := range 20000 {
		g := gens[i%len(gens)]
		vs := make([]float64, 1+r.IntN(40))
		for j := range vs {
			vs[j] = g()
		}
		check(t, "random", vs)
		if t.Failed() {
			t.Fatalf("terms %v", vs)
		}
	}
}

// TestOrderFree: any order of the same terms, and any grouping of them into
// merged partial sums, gives the same parts and bits.
func TestOrderFree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		vs := make([]float64, 2+r.IntN(200))
		for j := range vs {
			vs[j] = r.Float64() * math.Ldexp(1, r.IntN(40)-10)
		}
		want := sumOf(vs)
		for range 5 {
			r.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
			cut := r.IntN(len(vs))
			a, b := sumOf(vs[:cut]), sumOf(vs[cut:])
			b.Merge(a)
			if got := sumOf(vs); got != want || b != want {
				t.Fatalf("shuffled %v, merged %v, want %v", got, b, want)
			}
			if math.Float64bits(b.Float64()) != math.Float64bits(want.Float64()) {
				t.Fatalf("bits differ")
			}
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		v       float64
		u, h, l int64
	}{
		{0, 0, 0, 0},
		{1.5, 1, 1 << 30, 0},
		{-0.25, -1, 3 << 29, 0},
		{math.Ldexp(1, -9) + math.Ldexp(1, -61), 0, 1 << 22, 2},
		{math.Ldexp(3, -32), 0, 1, 1 << 30},
		{-3.75, -4, 1 << 29, 0},
	}
	for _, tt := range tests {
		if u, h, l := Split(tt.v); u != tt.u || h != tt.h || l != tt.l {
			t.Errorf("Split(%v) = %d, %d, %d, want %d, %d, %d", tt.v, u, h, l, tt.u, tt.h, tt.l)
		}
	}
}

// TestSplitExact: the parts are floor(v*2^62) exactly for v >= 0 and
// v <= -1, which is every amount summed; in (-1, 0) v - floor(v) rounds to
// 2^-53, in Go as in SQL, so both still agree.
func TestSplitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100000 {
		v := math.Ldexp(r.Float64(), r.IntN(100)-60)
		if i%2 == 1 {
			v = -1 - v
		}
		if got, want := parts62(v), floor62(v); got.Cmp(want) != 0 {
			t.Fatalf("Split(%v) = %v, want %v", v, got, want)
		}
	}
}

// TestAddParts: parts summed elsewhere (as SQL SUMs them, without carrying)
// give the same sum as adding the amounts.
func TestAddParts(t *testing.T) {
	vs := []float64{0.1, 0.7, 19.99, 1234.5678, 0.999999999}
	var U, H, L int64
	for _, v := range vs {
		u, h, l := Split(v)
		U, H, L = U+u, H+h, L+l
	}
	var s Sum
	s.AddParts(U, H, L)
	if want := sumOf(vs); s != want {
		t.Errorf("AddParts = %v, want %v", s, want)
	}
	if n := s.Neg(); n.Float64() != -s.Float64() {
		t.Errorf("Neg = %v, want %v", n.Float64(), -s.Float64())
	}
	n := s.Neg()
	n.Merge(s)
	if !n.IsZero() {
		t.Errorf("s + -s = %v, want 0", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	var s Sum
	for i := range b.N {
		s.Add(float64(i%10000) * 0.01)
	}
	_ = s.Float64()
}

func BenchmarkFloat64(b *testing.B) {
	s := sumOf(repeat(0.1, 1000))
	var x float64
	for range b.N {
		x += s.Float64()
	}
	_ = x
}

// TestResidualRoundTrip: a float64 and its residual give back the exact
// sum, for sums of amounts whose float sum rounds, both signs of residual
// and a sum of cells grouped two ways.
func TestResidualRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var s Sum
		var parts []Sum
		var part Sum
		for j := range 1 + rng.IntN(8) {
			v := float64(rng.IntN(100000)) / 100 // cents, rarely binary fractions
			if rng.IntN(5) == 0 {
				v = -v
			}
			s.Add(v)
			part.Add(v)
			if j%3 == 2 {
				parts = append(parts, part)
				part = Sum{}
			}
		}
		parts = append(parts, part)
		r, ok := Residual(s)
		if ok != (r != 0) {
			t.Fatalf("residual %v, ok %v", r, ok)
		}
		if got := OfPair(s.Float64(), r); got != s {
			t.Fatalf("OfPair(%v, %v) = %+v, want %+v", s.Float64(), r, got, s)
		}
		// Cells of the same amounts, each rounded with its residual, sum
		// back to the same exact total.
		var back Sum
		for _, p := range parts {
			r, _ := Residual(p)
			back.Merge(OfPair(p.Float64(), r))
		}
		if back.Float64() != s.Float64() {
			t.Fatalf("cells sum to %v, the amounts to %v", back.Float64(), s.Float64())
		}
	}
}
