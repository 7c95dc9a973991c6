// Package periodstest holds what the stages' tests of customer_periods
// share: random purchase histories, the table they make one cell per day
// or cut at a grid, and a check that a stage gives the same tables fed
// either way.
package periodstest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/calendar"
	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/exactsum"
	"retain/stages/internal/periods"
)

// Day is one customer's purchase day.
type Day struct {
	day                               int32
	orders                            int64
	revenue, refunded, runDate, later float64
}

// Customer is one customer's purchase days in time order.
type Customer struct {
	id, country string
	days        []Day
}

// RandomCustomers are n histories over the four years before runDay: gaps
// from a day to a year, so spans both break and hold, amounts that are
// not whole cents, some refunds and unknown countries.
func RandomCustomers(rng *rand.Rand, n int, runDay int32) []Customer {
	countries := []string{"DE", "FR", "US", ""}
	out := make([]Customer, n)
	for i := range out {
		c := Customer{id: fmt.Sprintf("C%05d", i), country: countries[rng.IntN(len(countries))]}
		maxGap := []int{3, 30, 200, 400}[rng.IntN(4)]
		for d := runDay - int32(rng.IntN(4*365)); d <= runDay; d += 1 + int32(rng.IntN(maxGap)) {
			p := Day{day: d, orders: int64(1 + rng.IntN(3)*rng.IntN(2)), revenue: float64(rng.IntN(50000))/100 + rng.Float64()/1000}
			if rng.IntN(5) == 0 {
				p.refunded = p.revenue * rng.Float64()
				p.runDate = p.refunded * float64(rng.IntN(2))
				p.later = p.refunded * float64(rng.IntN(2))
			}
			c.days = append(c.days, p)
		}
		out[i] = c
	}
	return out
}

// Table is customer_periods for the customers in batches of
// batchRows: one cell per purchase day when g is nil, else the cells of
// g with exact money sums, as the customer summary writes them.
func Table(mem memory.Allocator, cs []Customer, g *periods.Grid, batchRows int) []arrow.Record {
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	var recs []arrow.Record
	rows := 0
	row := func(c Customer, ds []Day) {
		b.Field(0).(*array.StringBuilder).Append(c.id)
		if c.country == "" {
			b.Field(1).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(c.country)
		}
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32(ds[0].day))
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32(ds[len(ds)-1].day))
		b.Field(4).(*array.Int64Builder).Append(int64(len(ds)))
		var orders int64
		var sums [4]exactsum.Sum
		for _, d := range ds {
			orders += d.orders
			for i, v := range []float64{d.revenue, d.refunded, d.runDate, d.later} {
				sums[i].Add(v)
			}
		}
		b.Field(5).(*array.Int64Builder).Append(orders)
		for i := range sums {
			b.Field(6 + i).(*array.Float64Builder).Append(sums[i].Float64())
			if r, ok := exactsum.Residual(sums[i]); ok {
				b.Field(10 + i).(*array.Float64Builder).Append(r)
			} else {
				b.Field(10 + i).(*array.Float64Builder).AppendNull()
			}
		}
		if rows++; rows%batchRows == 0 {
			recs = append(recs, b.NewRecord())
		}
	}
	for _, c := range cs {
		if g == nil {
			for i := range c.days {
				row(c, c.days[i:i+1])
			}
			continue
		}
		days := make([]int32, len(c.days))
		for i, d := range c.days {
			days[i] = d.day
		}
		g.Cells(days, func(from, to int) { row(c, c.days[from:to]) })
	}
	if rows%batchRows != 0 {
		recs = append(recs, b.NewRecord())
	}
	return recs
}

// RunStage runs the stage registered by register on the job, fed recs,
// and returns what it emitted.
func RunStage(t *testing.T, register func(*night.Registry) error, f *config.File, runDate string, mem memory.Allocator, recs []arrow.Record) *enginetest.Emitter {
	t.Helper()
	reg := &night.Registry{}
	if err := register(reg); err != nil {
		t.Fatal(err)
	}
	spec := reg.Specs()[0]
	rc, err := night.New(f, "cells", runDate, mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := spec.New(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	out := enginetest.NewEmitter()
	for _, rec := range recs {
		if err := st.Process(ctx, schemas.CustomerPeriods.Name, rec, out); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Finish(ctx, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// SameTables checks every table of got matches want: ints, dates and
// strings exactly, floats within 1e-9 relative.
func SameTables(t *testing.T, what string, want, got *enginetest.Emitter) {
	t.Helper()
	if len(want.Records) != len(got.Records) {
		t.Fatalf("%s: tables %d, want %d", what, len(got.Records), len(want.Records))
	}
	for table, ws := range want.Records {
		gs := got.Records[table]
		if len(ws) != len(gs) {
			t.Fatalf("%s: %s: %d batches, want %d", what, table, len(gs), len(ws))
		}
		for bi := range ws {
			w, g := ws[bi], gs[bi]
			if w.NumRows() != g.NumRows() || w.NumCols() != g.NumCols() {
				t.Fatalf("%s: %s: %dx%d, want %dx%d", what, table, g.NumRows(), g.NumCols(), w.NumRows(), w.NumCols())
			}
			for ci := range int(w.NumCols()) {
				wc, gc := w.Column(ci), g.Column(ci)
				name := w.ColumnName(ci)
				for r := range wc.Len() {
					if wc.IsNull(r) != gc.IsNull(r) {
						t.Errorf("%s: %s row %d %s: null %v, want %v", what, table, r, name, gc.IsNull(r), wc.IsNull(r))
						continue
					}
					if wf, ok := wc.(*array.Float64); ok {
						a, b := wf.Value(r), gc.(*array.Float64).Value(r)
						if a != b && !(math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))) {
							t.Errorf("%s: %s row %d %s: %v, want %v", what, table, r, name, b, a)
						}
						continue
					}
					if wc.ValueStr(r) != gc.ValueStr(r) {
						t.Errorf("%s: %s row %d %s: %s, want %s", what, table, r, name, gc.ValueStr(r), wc.ValueStr(r))
					}
				}
			}
		}
	}
}

// Job decodes a job file of yaml with the sections the grid reads, and
// the grid of its night runDate.
func Job(t testing.TB, yaml, runDate string) (*config.File, periods.Grid, int32) {
	t.Helper()
	sections := append([]config.Section{night.InputSection}, periods.Sections...)
	f, err := config.Decode([]byte("name: n\ninput: {orders: {path: o.csv}}\n"+yaml), t.TempDir(), sections)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := time.Parse(time.DateOnly, runDate)
	if err != nil {
		t.Fatal(err)
	}
	runDay := calendar.Day(rt)
	g, err := periods.For(f, runDay)
	if err != nil {
		t.Fatal(err)
	}
	return f, g, runDay
}

// CheckCellsAsDays runs the stage register adds, under each job and run
// date on 300 random histories, fed one cell per purchase day and fed the
// grid's cells, and wants the same tables (SameTables): the figures the
// days gave, whichever way the grid cuts. The jobs need only name the
// sections they change.
func CheckCellsAsDays(t *testing.T, register func(*night.Registry) error, jobs, runDates []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, y := range jobs {
		for _, runDate := range runDates {
			f, g, runDay := Job(t, y, runDate)
			cs := RandomCustomers(rng, 300, runDay)
			func() {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				days := Table(mem, cs, nil, 64)
				cells := Table(mem, cs, &g, 64)
				defer func() {
					for _, r := range append(days, cells...) {
						r.Release()
					}
				}()
				if len(cells) >= len(days) {
					t.Fatalf("%q: the grid cut %d batches, the days %d: nothing folded", y, len(cells), len(days))
				}
				want := RunStage(t, register, f, runDate, mem, days)
				defer want.Release()
				got := RunStage(t, register, f, runDate, mem, cells)
				defer got.Release()
				SameTables(t, fmt.Sprintf("%q %s", y, runDate), want, got)
			}()
		}
	}
}
