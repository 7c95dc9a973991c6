package clv

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
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

// purchaseDay is a customer's orders of one day.
type purchaseDay struct {
	day                          int32
	orders                       int64
	revenue, refunded, run, late float64
}

type shopper struct {
	id, country string
	days        []purchaseDay
}

// randomShoppers are n histories up to runDay, with some days on the run
// date, the night before and every night the grid cuts at, where a port
// that puts a cell on the wrong side of a night goes wrong.
func randomShoppers(r *rand.Rand, runDay int32, cuts []int32, n int) []shopper {
	out := make([]shopper, n)
	for i := range out {
		s := shopper{id: fmt.Sprintf("C%04d", i)}
		if r.IntN(5) > 0 {
			s.country = []string{"DE", "FR", "US"}[r.IntN(3)]
		}
		var days []int32
		d := runDay - int32(r.IntN(900))
		for d <= runDay {
			days = append(days, d)
			switch r.IntN(4) {
			case 0:
				d += 1 + int32(r.IntN(3))
			case 1:
				d += 1 + int32(r.IntN(30))
			default:
				d += 1 + int32(r.IntN(150))
			}
		}
		if r.IntN(3) == 0 {
			// A run of close days whose first and last lie on either
			// side of a silence threshold (win-back, won-back) as of
			// the night before, then maybe an order tonight.
			w := []int32{7, 14, 30, 45, 60, 90, 120, 180, 270, 365}[r.IntN(10)]
			end := runDay - 1 - w + int32(r.IntN(10))
			for d := end - int32(r.IntN(12)); d <= end && d < runDay; d += 1 + int32(r.IntN(2)) {
				days = append(days, d)
			}
			if r.IntN(2) == 0 {
				days = append(days, runDay)
			}
		}
		for _, c := range append([]int32{runDay, runDay - 1}, cuts...) {
			if c > days[0] && c <= runDay && r.IntN(3) == 0 {
				days = append(days, c-int32(r.IntN(2)))
			}
		}
		days = sortedDistinct(days)
		// Customers differ in what they spend on average, as the spend
		// model assumes; without that its fit runs off along a ridge
		// where the last bits of the inputs move its estimates.
		mean := 10 + 90*r.Float64()
		for _, d := range days {
			v := math.Round(mean*(0.5+r.Float64())*100) / 100
			p := purchaseDay{day: d, orders: 1 + int64(r.IntN(3)), revenue: v}
			if r.IntN(4) == 0 {
				// Refunds made before, after the same day of the
				// previous period and on the run date.
				q := int(v * 25)
				a, b, c := float64(r.IntN(q+1))/100, float64(r.IntN(q+1))/100, float64(r.IntN(q+1))/100
				p.refunded, p.late, p.run = a+b+c, b+c, c
			}
			s.days = append(s.days, p)
		}
		out[i] = s
	}
	return out
}

func sortedDistinct(v []int32) []int32 {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	out := v[:0]
	for i, d := range v {
		if i == 0 || d != out[len(out)-1] {
			out = append(out, d)
		}
	}
	return out
}

// periodsRecord is the shoppers' customer_periods table cut by cells, which
// calls cell with a customer's days and gets back the cells' day ranges.
func periodsRecord(mem memory.Allocator, shoppers []shopper, cells func(days []int32, cell func(from, to int))) arrow.Record {
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	for _, s := range shoppers {
		days := make([]int32, len(s.days))
		for i, p := range s.days {
			days[i] = p.day
		}
		cells(days, func(from, to int) {
			var orders int64
			var rev, ref, run, late exactsum.Sum
			for _, p := range s.days[from:to] {
				orders += p.orders
				rev.Add(p.revenue)
				ref.Add(p.refunded)
				run.Add(p.run)
				late.Add(p.late)
			}
			b.Field(0).(*array.StringBuilder).Append(s.id)
			if s.country == "" {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(s.country)
			}
			b.Field(2).(*array.Date32Builder).Append(arrow.Date32(s.days[from].day))
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32(s.days[to-1].day))
			b.Field(4).(*array.Int64Builder).Append(int64(to - from))
			b.Field(5).(*array.Int64Builder).Append(orders)
			for k, v := range []exactsum.Sum{rev, ref, run, late} {
				b.Field(6 + k).(*array.Float64Builder).Append(v.Float64())
				if r, ok := exactsum.Residual(v); ok {
					b.Field(10 + k).(*array.Float64Builder).Append(r)
				} else {
					b.Field(10 + k).(*array.Float64Builder).AppendNull()
				}
			}
		})
	}
	return b.NewRecord()
}

// daily cuts every purchase day into a cell of its own: the per-day
// history as customer_periods.
func daily(days []int32, cell func(from, to int)) {
	for i := range days {
		cell(i, i+1)
	}
}

// visited is what the stage gathered of its customers before fitting: the
// BTYD inputs of each night and the holdout's purchase days.
type visited struct {
	full, cal       inputs
	actual, holdout []float64
	prev, period    previous
}

// runStage runs the stage of the job on one customer_periods record and
// returns what it gathered and what it emitted.
func runStage(t *testing.T, f *config.File, runDate string, mem memory.Allocator, in arrow.Record) (visited, *enginetest.Emitter) {
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
	out := enginetest.NewEmitter()
	// Batches of 7 rows split customers across batches.
	for i := int64(0); i < in.NumRows(); i += 7 {
		part := in.NewSlice(i, min(i+7, in.NumRows()))
		err := st.Process(ctx, schemas.CustomerPeriods.Name, part, out)
		part.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	s := st.(*stage)
	// The last customer is visited on Flush, which Finish calls again,
	// as it does joinVisits, to no effect; Finish lets go of the period day's inputs once fitted.
	if err := s.walk.Flush(); err != nil {
		t.Fatal(err)
	}
	s.joinVisits()
	v := visited{full: s.full, cal: s.cal, actual: s.actual, holdout: s.holdoutDays, prev: s.prev, period: s.period}
	if err := st.Finish(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return v, out
}

// spendColumns are the outputs that hang on the Gamma-Gamma fit. Its
// optimiser stops within its tolerance of the optimum, and where it stops
// moves with the last bits of the mean repeat values (sums of days in one
// run, of cells in the other): about 1e-7 relative on these histories,
// more along a flat ridge of the likelihood.
var spendColumns = map[string][]string{
	schemas.CustomerPredictions.Name: {"expected_avg_order_value", "predicted_clv", "predicted_clv_low", "predicted_clv_high", "predicted_clv_margin", "previous_predicted_clv"},
	schemas.PeriodDayPrediction.Name: {"predicted_clv"},
}

// tolerance is how far apart the runs' value of a column may be, relative;
// negative for one not compared.
func tolerance(table string, rec arrow.Record, row int, col string) float64 {
	if table == schemas.ModelFit.Name {
		if m := rec.Column(schemas.ModelFit.MustIndex("model")).(*array.String); m.Value(row) == "gamma_gamma" {
			if col == "iterations" {
				return -1
			}
			return 1e-4
		}
	}
	if slices.Contains(spendColumns[table], col) {
		return 1e-4
	}
	return 1e-9
}

// sameOutput compares the tables two runs emitted: floats within the
// column's tolerance, everything else exactly.
func sameOutput(t *testing.T, days, cells *enginetest.Emitter) {
	t.Helper()
	for table, recs := range days.Records {
		other := cells.Records[table]
		if days.Rows(table) != cells.Rows(table) {
			t.Errorf("%s: %d rows by day, %d by cell", table, days.Rows(table), cells.Rows(table))
			continue
		}
		row := func(recs []arrow.Record, i int64) (arrow.Record, int) {
			for _, r := range recs {
				if i < r.NumRows() {
					return r, int(i)
				}
				i -= r.NumRows()
			}
			panic("row out of range")
		}
		bad := 0
		for i := int64(0); i < days.Rows(table) && bad < 10; i++ {
			a, ai := row(recs, i)
			b, bi := row(other, i)
			for c := range int(a.NumCols()) {
				x, y := a.Column(c), b.Column(c)
				name := a.ColumnName(c)
				tol := tolerance(table, a, ai, name)
				if tol < 0 {
					continue
				}
				if fx, ok := x.(*array.Float64); ok && x.IsValid(ai) && y.IsValid(bi) {
					u, v := fx.Value(ai), y.(*array.Float64).Value(bi)
					if u != v && !(math.Abs(u-v) <= tol*math.Max(math.Abs(u), math.Abs(v))) {
						t.Errorf("%s row %d %s: %v by day, %v by cell", table, i, name, u, v)
						bad++
					}
					continue
				}
				if x.ValueStr(ai) != y.ValueStr(bi) || x.IsNull(ai) != y.IsNull(bi) {
					t.Errorf("%s row %d %s: %s by day, %s by cell", table, i, name, x.ValueStr(ai), y.ValueStr(bi))
					bad++
				}
			}
		}
	}
	for table := range cells.Records {
		if _, ok := days.Records[table]; !ok {
			t.Errorf("%s: emitted by cell only", table)
		}
	}
}

// sameInputs compares one night's BTYD inputs: frequency, recency and T
// are whole days and agree exactly; the mean repeat values are sums, of
// days in one run and of cells in the other.
func sameInputs(t *testing.T, night string, days, cells inputs) {
	t.Helper()
	sameFloats(t, night+" frequency", days.Frequency, cells.Frequency, 0)
	sameFloats(t, night+" recency", days.Recency, cells.Recency, 0)
	sameFloats(t, night+" T", days.T, cells.T, 0)
	sameFloats(t, night+" monetary", days.monetary, cells.monetary, 1e-9)
}

func sameFloats(t *testing.T, what string, days, cells []float64, tol float64) {
	t.Helper()
	if len(days) != len(cells) {
		t.Errorf("%s: %d values by day, %d by cell", what, len(days), len(cells))
		return
	}
	for i, u := range days {
		if v := cells[i]; u != v && !(math.Abs(u-v) <= tol*math.Max(math.Abs(u), math.Abs(v))) {
			t.Errorf("%s %d: %v by day, %v by cell", what, i, u, v)
			return
		}
	}
}

// TestCellsAgreeWithDays: on random histories, for jobs that move every cut
// of the grid (the holdout's calibration ends and daily window, the
// previous night and period day), the stage fed customer_periods cut at the
// night's grid emits what it emits fed one cell per purchase day, the
// per-day table it read before. Frequency, recency and T are whole days
// either way, so only the spend model's inputs can move, in their last bits.
func TestCellsAgreeWithDays(t *testing.T) {
	if testing.Short() {
		t.Skip("fits eight nights of 400 customers")
	}
	jobs := []struct{ run, yaml string }{
		{"2026-11-22", "kpis: {period: month}\nclv: {interval_draws: 50}\n"},
		{"2026-11-22", "kpis: {period: week, churn_days: 5}\nclv: {holdout_days: 30, interval_method: linear}\nsegments: {change_tracking: true}\n"},
		{"2024-02-29", "kpis: {period: quarter, churn_days: 40}\ncohorts: {period: month}\nclv: {model: pareto_nbd, holdout_days: 45, interval_draws: 0}\nsegments: {change_tracking: true, since_lookback_days: 20}\n"},
		{"2026-12-31", "kpis: {period: month, churn_days: 12}\ncohorts: {period: quarter}\nactions: {decline_window_days: 7}\nclv: {model: mbgnbd, holdout_days: 90, interval_method: linear}\nsegments: {change_tracking: true}\n"},
	}
	for n, job := range jobs {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			raw := "name: cells\ninput: {orders: {path: orders.csv}}\n" + job.yaml
			f, err := config.Decode([]byte(raw), filepath.Join(t.TempDir()), append([]config.Section{night.InputSection}, periods.Sections...))
			if err != nil {
				t.Fatal(err)
			}
			rt, err := time.Parse(time.DateOnly, job.run)
			if err != nil {
				t.Fatal(err)
			}
			runDay := calendar.Day(rt)
			g, err := periods.For(f, runDay)
			if err != nil {
				t.Fatal(err)
			}
			shoppers := randomShoppers(rand.New(rand.NewPCG(uint64(n), 7)), runDay, g.Cuts, 400)
			byDay, byCell := periodsRecord(mem, shoppers, daily), periodsRecord(mem, shoppers, g.Cells)
			defer byDay.Release()
			defer byCell.Release()
			if byCell.NumRows() >= byDay.NumRows() {
				t.Fatalf("%d cells for %d purchase days: the grid folds nothing", byCell.NumRows(), byDay.NumRows())
			}
			dayIn, days := runStage(t, f, job.run, mem, byDay)
			cellIn, cells := runStage(t, f, job.run, mem, byCell)
			defer days.Release()
			defer cells.Release()
			sameInputs(t, "tonight", dayIn.full, cellIn.full)
			sameInputs(t, "calibration", dayIn.cal, cellIn.cal)
			sameFloats(t, "holdout purchase days", dayIn.actual, cellIn.actual, 0)
			sameFloats(t, "holdout purchase days by day", dayIn.holdout, cellIn.holdout, 0)
			for _, p := range []struct {
				name        string
				days, cells previous
			}{{"night before", dayIn.prev, cellIn.prev}, {"period day", dayIn.period, cellIn.period}} {
				sameInputs(t, p.name, p.days.full, p.cells.full)
				sameInputs(t, p.name+" calibration", p.days.cal, p.cells.cal)
				sameFloats(t, p.name+" holdout purchase days", p.days.actual, p.cells.actual, 0)
				if !slices.Equal(p.days.at, p.cells.at) {
					t.Errorf("%s: customers' places differ", p.name)
				}
			}
			if len(dayIn.full.Frequency) != 400 || (strings.Contains(job.yaml, "holdout") && len(dayIn.cal.Frequency) == 0) ||
				(strings.Contains(job.yaml, "change_tracking: true") && len(dayIn.prev.full.Frequency) == 0) {
				t.Fatalf("the histories miss a night: %d customers tonight, %d in calibration, %d the night before",
					len(dayIn.full.Frequency), len(dayIn.cal.Frequency), len(dayIn.prev.full.Frequency))
			}
			sameOutput(t, days, cells)
		})
	}
}
