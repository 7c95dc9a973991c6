package clv

import (
	"errors"
	"math"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/btyd"
	"retain/config"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
)

// TestDrift: a parameter that moved by more than clv.drift_threshold
// (0.25 by default) of its previous value flags the row; the change is
// relative to |before|; a previous fit that failed, or none at all, leaves
// the previous columns null and the row not drifted.
func TestDrift(t *testing.T) {
	fit := func(r, alpha float64) btyd.Fit {
		return btyd.Fit{Model: "bgnbd", Names: []string{"r", "alpha", "a", "b"}, Params: []float64{r, alpha, 1, 2}, Converged: true}
	}
	tests := []struct {
		name      string
		prev      map[[2]string]prevFit
		drifted   bool
		rChange   float64
		hasChange bool
	}{
		{"small move", map[[2]string]prevFit{{"bgnbd", "full"}: {fit(0.8, 10), nil}}, false, 0.25, true},
		{"alpha moved", map[[2]string]prevFit{{"bgnbd", "full"}: {fit(0.8, 7.9), nil}}, true, 0.25, true},
		{"r halved", map[[2]string]prevFit{{"bgnbd", "full"}: {fit(2, 10), nil}}, true, -0.5, true},
		{"previous fit failed", map[[2]string]prevFit{{"bgnbd", "full"}: {btyd.Fit{}, errors.New("no")}}, false, 0, false},
		{"first night", map[[2]string]prevFit{}, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			s := &stage{rc: rc}
			s.prev.fits = tt.prev
			b := array.NewRecordBuilder(mem, schemas.ModelFit.Schema())
			defer b.Release()
			s.putDrift(b, fitRow{model: "bgnbd", scope: "full", fit: fit(1, 10)}, true, zerolog.Nop())
			m := schemas.ModelFit
			drift := b.Field(m.MustIndex("is_drifted")).NewArray()
			defer drift.Release()
			change := b.Field(m.MustIndex("r_change")).NewArray().(*array.Float64)
			defer change.Release()
			if got := drift.(*array.Boolean).Value(0); got != tt.drifted {
				t.Errorf("is_drifted %v, want %v", got, tt.drifted)
			}
			if change.IsValid(0) != tt.hasChange || tt.hasChange && math.Abs(change.Value(0)-tt.rChange) > 1e-12 {
				t.Errorf("r_change %v (valid %v), want %v (valid %v)", change.Value(0), change.IsValid(0), tt.rChange, tt.hasChange)
			}
		})
	}
}
