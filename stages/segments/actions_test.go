package segments

import (
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/stages/actions/actionsconfig"
)

// TestChurnRisk: p_alive grades where it carries information; the gap rule
// grades the rest, with the shop's median gap for one-time buyers.
func TestChurnRisk(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := actionsconfig.ChurnRisk{PAliveHigh: 0.3, PAliveMedium: 0.7, GapHigh: 3, GapMedium: 1.5}
	c := columns{
		// Repeat buyers' gaps (recency / frequency): 10, 20, 30 → median 20.
		ids:       []string{"A", "B", "C", "D", "E", "F", "G"},
		frequency: []float64{1, 2, 3, 0, 0, 0, 2},
		recency:   []float64{10, 40, 90, 0, 0, 0, 40},
		daysSince: []float64{5, 100, 60, 61, 30, 10, 1000},
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues([]float64{0.29, 0.3, 0.7, 1, 1, 0.5, 0}, []bool{true, true, true, true, true, true, false})
	pAlive := b.NewFloat64Array()
	defer pAlive.Release()
	got := churnRisk(cfg, c, pAlive)
	want := []string{
		"high",   // A: p_alive 0.29 < 0.3
		"medium", // B: exactly 0.3 is not below it
		"low",    // C: exactly 0.7
		"high",   // D: one-time buyer at p_alive 1: 61 days / median 20 > 3
		"low",    // E: one-time buyer, 30 / 20 = 1.5 is not above GapMedium
		"medium", // F: one-time buyer, p_alive 0.5 from Pareto/NBD counts
		"high",   // G: no prediction: 1000 / 20 > 3
	}
	if !slices.Equal(got, want) {
		t.Errorf("churn risk %v, want %v", got, want)
	}
}
