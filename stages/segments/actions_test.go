package segments

import (
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
