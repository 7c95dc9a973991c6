package clv

import (
	"context"
	"math"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/btyd"
	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
)

// edgeModel predicts like a fit at the edge of its parameter space: an
// infinite expectation for repeat buyers, finite values otherwise.
type edgeModel struct{}

func (edgeModel) PAlive(x, tx, T float64) float64 { return 0.5 }
func (edgeModel) ExpectedPurchases(t, x, tx, T float64) float64 {
	if x > 0 {
		return math.Inf(1)
	}
	return 0.25
}
func (m edgeModel) ExpectedIfAlive(t, x, T float64) float64 {
	return 2 * m.ExpectedPurchases(t, x, 0, T)
}
func (edgeModel) PNoPurchase(h, x, tx, T float64) float64 { return 0.5 }
func (edgeModel) NextOrderDays(x, tx, T float64) (float64, bool) {
	return 10, true
}

var _ btyd.PurchaseModel = edgeModel{}

// TestInfinitePredictionsAreNull: a customer whose prediction is infinite
// gets nulls in those columns, not +Inf, which the writer would refuse and
// fail the night with; the other customers keep their values.
func TestInfinitePredictionsAreNull(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f, err := config.Decode([]byte("name: t\n"), "/", []config.Section{clvconfig.Section})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(f, "t", "2026-11-22", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s := &stage{rc: rc, runDay: 20_000}
	s.ids = []string{"A", "B"}
	s.full.add(3, 40, 100, 25)
	s.full.add(0, 0, 100, 0)
	s.full.join()
	out := enginetest.NewEmitter()
	defer out.Release()
	if err := s.emitPredictions(context.Background(), out, &fitted{name: "bgnbd", model: edgeModel{}}, spendFit{}, func() {}); err != nil {
		t.Fatal(err)
	}
	recs := out.Records[schemas.CustomerPredictions.Name]
	if len(recs) != 1 || recs[0].NumRows() != 2 {
		t.Fatalf("customer_predictions: %v", recs)
	}
	expected := recs[0].Column(schemas.CustomerPredictions.MustIndex("expected_purchases")).(*array.Float64)
	if expected.IsValid(0) || !expected.IsValid(1) || expected.Value(1) != 0.25 {
		t.Errorf("expected_purchases = %v, want [null 0.25]", expected)
	}
	for i, col := range recs[0].Columns() {
		if fc, ok := col.(*array.Float64); ok {
			for r := 0; r < fc.Len(); r++ {
				if fc.IsValid(r) && (math.IsInf(fc.Value(r), 0) || math.IsNaN(fc.Value(r))) {
					t.Errorf("%s row %d = %v", recs[0].ColumnName(i), r, fc.Value(r))
				}
			}
		}
	}
}
