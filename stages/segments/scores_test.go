package segments

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuintileScoresHand: hand-computed scores, ties sharing one.
func TestQuintileScoresHand(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		higher bool
		want   []int8
	}{
		{"empty", nil, true, []int8{}},
		{"one", []float64{7}, true, []int8{1}},
		{"two", []float64{3, 1}, true, []int8{5, 1}},
		{"two, lower better", []float64{3, 1}, false, []int8{1, 5}},
		// worse 0,1,2,3,4,5 of n−1 = 5: 1 + worse, capped at 5.
		{"six distinct", []float64{6, 1, 5, 2, 4, 3}, true, []int8{5, 1, 5, 2, 4, 3}},
		{"all equal", []float64{2, 2, 2, 2}, true, []int8{1, 1, 1, 1}},
		// worse of 9 is 4 of n−1 = 4 → 5; of 1 is 0 → 1.
		{"ties", []float64{1, 1, 1, 1, 9}, true, []int8{1, 1, 1, 1, 5}},
		{"ties, lower better", []float64{1, 1, 1, 1, 9}, false, []int8{2, 2, 2, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quintileScores(tt.values, tt.higher); !slices.Equal(got, tt.want) {
				t.Errorf("quintileScores(%v, %v) = %v, want %v", tt.values, tt.higher, got, tt.want)
			}
		})
	}
}

// TestQuintileScoresMatchSort: selection gives what sorting gives, on
// many sizes and spreads of values, few distinct ones (order counts),
// signed zeros and NaN included.
func TestQuintileScoresMatchSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		n := rng.IntN(60)
		if trial%100 == 0 {
			n = 5000 + rng.IntN(5000)
		}
		distinct := 1 + rng.IntN(1+n)
		values := make([]float64, n)
		for i := range values {
			values[i] = float64(rng.IntN(distinct)) - float64(distinct/3)
			switch rng.IntN(50) {
			case 0:
				values[i] = math.Copysign(0, -1)
			case 1:
				if trial%7 == 0 {
					values[i] = math.NaN()
				}
			}
		}
		for _, higher := range []bool{true, false} {
			in := slices.Clone(values)
			got, want := quintileScores(in, higher), quintileScoresSorted(values, higher)
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d, higher %v: %v gives %v, want %v", trial, higher, values, got, want)
			}
			if !slices.EqualFunc(in, values, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
				t.Fatalf("trial %d: the values were changed", trial)
			}
		}
	}
}
