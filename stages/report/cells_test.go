package report

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
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/exactsum"
	"retain/stages/internal/periods"
)

// purchaseDay is one customer's purchase day.
type purchaseDay struct {
	day                               int32
	orders                            int64
	revenue, refunded, runDate, later float64
}

type customer struct {
	id, country string
	days        []purchaseDay
}

// randomCustomers are histories over the four years before runDay: gaps
// from a day to a year, so spans both break and hold, amounts that are
// not whole cents, some refunds and unknown countries.
func randomCustomers(rng *rand.Rand, n int, runDay int32) []customer {
	countries := []string{"DE", "FR", "US", ""}
	out := make([]customer, n)
	for i := range out {
		c := customer{id: fmt.Sprintf("C%05d", i), country: countries[rng.IntN(len(countries))]}
		maxGap := []int{3, 30, 200, 400}[rng.IntN(4)]
		for d := runDay - int32(rng.IntN(4*365)); d <= runDay; d += 1 + int32(rng.IntN(maxGap)) {
			p := purchaseDay{day: d, orders: int64(1 + rng.IntN(3)*rng.IntN(2)), revenue: float64(rng.IntN(50000))/100 + rng.Float64()/1000}
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

// periodsTable is customer_periods for the customers in batches of
// batchRows: one cell per purchase day when g is nil, else the cells of
// g with exact money sums, as the customer summary writes them.
func periodsTable(mem memory.Allocator, cs []customer, g *periods.Grid, batchRows int) []arrow.Record {
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	var recs []arrow.Record
	rows := 0
	row := func(c customer, ds []purchaseDay) {
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
	sections := append([]config.Section{night.InputSection}, periods.Sections...)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, y := range jobs {
		for _, runDate := range []string{"2026-11-22", "2024-02-29", "2026-01-01"} {
			f, err := config.Decode([]byte("name: n\ninput: {orders: {path: o.csv}}\n"+y), t.TempDir(), sections)
			if err != nil {
				t.Fatal(err)
			}
			rt, _ := time.Parse(time.DateOnly, runDate)
			runDay := calendar.Day(rt)
			g, err := periods.For(f, runDay)
			if err != nil {
				t.Fatal(err)
			}
			cs := randomCustomers(rng, 300, runDay)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			days := periodsTable(mem, cs, nil, 64)
			cells := periodsTable(mem, cs, &g, 64)
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
