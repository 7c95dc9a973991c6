package report

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/periodstest"
)

// nightsOf runs the stage on the job fed recs and returns the tiles'
// figures of each night.
func nightsOf(t *testing.T, f *config.File, runDate string, mem memory.Allocator, recs []arrow.Record) [nightCount]nightFigures {
	t.Helper()
	reg := &night.Registry{}
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(f, "cells", runDate, mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := reg.Specs()[0].New(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*stage)
	for _, rec := range recs {
		if err := s.Process(ctx, schemas.CustomerPeriods.Name, rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.chg.walk.Flush(); err != nil {
		t.Fatal(err)
	}
	return s.chg.nights
}

// TestCellsAsDays checks, on random histories under several jobs, that
// the tiles' figures of each night from the grid's cells are those from
// one cell per purchase day: counts exactly, revenue within 1e-9.
func TestCellsAsDays(t *testing.T) {
	jobs := []string{
		"",
		"kpis: {period: week, churn_days: 10}\nactions: {winback_days: [5, 10, 20, 30]}\n",
		"kpis: {period: quarter, churn_days: 45}\nclv: {holdout_days: 60}\nsegments: {change_tracking: false}\n",
		"kpis: {period: month, churn_days: 20}\nsegments: {change_tracking: true, since_lookback_days: 10}\n",
		"kpis: {period: week, churn_days: 400}\nsegments: {change_tracking: false}\ncohorts: {period: quarter}\n",
		"kpis: {period: quarter, churn_days: 120}\nclv: {holdout_days: 0}\ncohorts: {period: week}\nactions: {winback_days: [30, 60, 90, 120]}\n",
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, y := range jobs {
		for _, runDate := range []string{"2026-11-22", "2024-02-29", "2026-01-01"} {
			f, g, runDay := periodstest.Job(t, y, runDate)
			cs := periodstest.RandomCustomers(rng, 300, runDay)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			days := periodstest.Table(mem, cs, nil, 64)
			cells := periodstest.Table(mem, cs, &g, 64)
			if len(cells) >= len(days) {
				t.Fatalf("%q: the grid cut %d batches, the days %d: nothing folded", y, len(cells), len(days))
			}
			want := nightsOf(t, f, runDate, mem, days)
			got := nightsOf(t, f, runDate, mem, cells)
			for _, r := range append(days, cells...) {
				r.Release()
			}
			mem.AssertSize(t, 0)
			for k := range want {
				w, g := want[k], got[k]
				if d := math.Abs(w.revenue - g.revenue); d > 1e-9*math.Abs(w.revenue) {
					t.Errorf("%q %s night %d: revenue %v, want %v", y, runDate, k, g.revenue, w.revenue)
				}
				w.revenue, g.revenue = 0, 0
				if w != g {
					t.Errorf("%q %s night %d: %+v, want %+v", y, runDate, k, g, w)
				}
			}
			if want[tonight].customers == 0 || want[previousPeriod].start == 0 && want[tonight].start == 0 {
				t.Errorf("%q %s: no customers or spans to compare: %+v", y, runDate, want)
			}
		}
	}
}
