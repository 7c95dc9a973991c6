package kpis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTop20ShareMatchesSort: the radix path gives the comparison sort's
// bits on ties, zeros of both signs, negatives, infinities and NaNs, and
// on both sides of the small-input cut-over.
func TestTop20ShareMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gen := func(n int, pick func() float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = pick()
		}
		return v
	}
	cents := func() float32 { return float32(float64(r.IntN(50000)) / 100) }
	special := []float32{0, float32(math.Copysign(0, -1)), -3.5, 7.25, float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}
	tests := []struct {
		name string
		in   []float32
	}{
		{"one", []float32{42}},
		{"hand", []float32{10, 40, 30, 20, 0}},
		{"small", gen(100, cents)},
		{"cut-over", gen(256, cents)},
		{"large", gen(200_000, cents)},
		{"ties", gen(50_000, func() float32 { return float32(r.IntN(5)) })},
		{"constant", gen(10_000, func() float32 { return 19.99 })},
		{"wide", gen(50_000, func() float32 { return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-10))) })},
		{"zeros", gen(5_000, func() float32 { return special[r.IntN(2)] * float32(r.IntN(2)) })},
		{"special", gen(5_000, func() float32 { return special[r.IntN(len(special))] })},
		{"refunds", gen(5_000, func() float32 { return cents() - 250 })},
		{"nan", append(gen(1_000, cents), float32(math.NaN()))},
	}
	s := &stage{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, total := range []float64{0, 1} {
				got, gotOK := s.top20Share(slices.Clone(tt.in), total)
				want, wantOK := top20ShareSorted(slices.Clone(tt.in), total)
				if gotOK != wantOK || math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("total %v: top20Share = %v, %v (%#x); sort gives %v, %v (%#x)", total, got, gotOK, math.Float64bits(got), want, wantOK, math.Float64bits(want))
				}
			}
		})
	}
	// 10, 40, 30, 20, 0: the top ceil(20% of 5) = 1 is 40 of 100.
	if got, _ := s.top20Share([]float32{10, 40, 30, 20, 0}, 100); got != 0.4 {
		t.Errorf("hand case: %v, want 0.4", got)
	}
}

// TestSortKeys: the keys come back ascending and decode to the input's
// values.
func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	in := make([]float32, 3_000)
	for i := range in {
		in[i] = float32(r.NormFloat64() * 1e4)
	}
	var scratch []uint32
	keys, ok := sortKeys(in, &scratch)
	if !ok {
		t.Fatal("no NaN, yet not sorted")
	}
	got := make([]float32, len(keys))
	for i, k := range keys {
		got[i] = fromKey(k)
	}
	want := slices.Sorted(slices.Values(in))
	if !slices.Equal(got, want) {
		t.Error("keys do not decode to the sorted values")
	}
}

// TestPeriodsIndex: the cached period index is calendar.Unit.Index for
// TestDimensionCells: cells grow both ways and keep what they hold.
func TestDimensionCells(t *testing.T) {
	var d dimension
	for i, idx := range []int{100, 103, 97, 100, 90, 110} {
		d.at(idx).orders += int64(i + 1)
	}
	want := map[int]int64{90: 5, 97: 3, 100: 1 + 4, 103: 2, 110: 6}
	for idx := 85; idx < 115; idx++ {
		c := d.get(idx)
		if c == nil {
			if want[idx] != 0 {
				t.Errorf("period %d: no cell, want orders %d", idx, want[idx])
			}
			continue
		}
		if c.orders != want[idx] {
			t.Errorf("period %d: orders %d, want %d", idx, c.orders, want[idx])
		}
	}
}
