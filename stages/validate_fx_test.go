package stages_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"retain/jobfile"
	"retain/night"
	"retain/stages/extract"
	"retain/stages/validate"
)

// TestValidateNewStopsWhenCanceled: the FX rates are read in the validate
// stage's constructor, so a run canceled then (SIGTERM from the scheduler)
// must stop there, with the cancellation in the error, not read on
// regardless.
func TestValidateNewStopsWhenCanceled(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fx.csv"), []byte("date,currency,rate_to_reporting\n2026-01-01,USD,0.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := jobfile.Parse([]byte("name: t\ninput: {orders: {path: orders.csv}, fx_rates: {path: fx.csv}, reporting_currency: EUR}\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := validate.Register(reg, extract.ReadAll); err != nil {
		t.Fatal(err)
	}
	spec := reg.Specs()[0]
	for _, tc := range []struct {
		name   string
		cancel bool
	}{
		{"running", false},
		{"canceled", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rc, err := night.New(j, "t", "2026-11-22", mem, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			st, err := spec.New(ctx, rc)
			if err == nil {
				defer st.Close(ctx)
			}
			if !tc.cancel {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "input.fx_rates") {
				t.Errorf("New on a canceled run: err = %v, want input.fx_rates and context.Canceled", err)
			}
		})
	}
}
