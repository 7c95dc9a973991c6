package segments

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/stages/actions/actionsconfig"
)

// TestChurnRisk: p_no_purchase grades every customer a model predicted,
// one-time buyers included; the gap rule grades the rest, with the shop's
// median gap for one-time buyers.
func TestChurnRisk(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := actionsconfig.ChurnRisk{PNoPurchaseHigh: 0.8, PNoPurchaseMedium: 0.5, GapHigh: 3, GapMedium: 1.5}
	c := columns{
		// Repeat buyers' gaps (recency / frequency): 10, 20, 30 → median 20.
		ids:       []string{"A", "B", "C", "D", "E", "F", "G", "H", "I"},
		frequency: []float64{1, 2, 3, 0, 0, 0, 2, 0, 0},
		recency:   []float64{10, 40, 90, 0, 0, 0, 40, 0, 0},
		daysSince: []float64{5, 100, 60, 61, 30, 10, 1000, 61, 30},
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues([]float64{0.81, 0.8, 0.79, 0.96, 0.5, 0.4999, 0, 0, 0}, []bool{true, true, true, true, true, true, false, false, false})
	pNoPurchase := b.NewFloat64Array()
	defer pNoPurchase.Release()
	got := churnRisk(cfg, c, pNoPurchase)
	want := []string{
		"high",   // A: 0.81 ≥ 0.8
		"high",   // B: exactly 0.8 is high
		"medium", // C: 0.79 is below it, above 0.5
		"high",   // D: a one-time buyer long silent, as BG/NBD's p_no_purchase says with p_alive 1
		"medium", // E: exactly 0.5 is medium
		"low",    // F: below 0.5
		"high",   // G: no prediction: 1000 / 20 > 3
		"high",   // H: no prediction, one-time buyer: 61 / median 20 > 3
		"low",    // I: no prediction, one-time buyer: 30 / 20 = 1.5 is not above GapMedium
	}
	if !slices.Equal(got, want) {
		t.Errorf("churn risk %v, want %v", got, want)
	}
}

// TestTopSpenders: the top percent by cents, ties at the cut all in, as
// the cut taken from the whole sorted list gives it.
func TestTopSpenders(t *testing.T) {
	tests := []struct {
		name    string
		cents   []float64
		percent float64
		want    []bool
	}{
		{"empty", nil, 10, []bool{}},
		{"at least one", []float64{5, 9, 1}, 10, []bool{false, true, false}},
		{"ties at the cut", []float64{3, 7, 7, 1, 7}, 40, []bool{false, true, true, false, true}},
		{"everyone", []float64{2, 1}, 100, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := topSpenders(tt.cents, tt.percent); !slices.Equal(got, tt.want) {
				t.Errorf("topSpenders(%v, %v) = %v, want %v", tt.cents, tt.percent, got, tt.want)
			}
		})
	}
	rng := rand.New(rand.NewPCG(8, 9))
	for trial := range 500 {
		cents := make([]float64, 1+rng.IntN(300))
		for i := range cents {
			cents[i] = float64(rng.IntN(1 + trial))
		}
		percent := 0.5 + rng.Float64()*99.5
		sorted := slices.Clone(cents)
		slices.SortFunc(sorted, func(a, b float64) int { return -cmpF(a, b) })
		cutoff := sorted[max(1, int(math.Ceil(percent/100*float64(len(cents)))))-1]
		got := topSpenders(cents, percent)
		for i, v := range cents {
			if got[i] != (v >= cutoff) {
				t.Fatalf("trial %d: customer %d (%v) marked %v with the cut at %v", trial, i, v, got[i], cutoff)
			}
		}
	}
}
