package segments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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
	"retain/stages/internal/history"
	"retain/stages/internal/periods"
)

// dayHistory is one customer's purchase days in time order, one entry a
// day, which the tests cut into the grid's cells.
type dayHistory struct {
	ID, Country string
	Days        []int32
	Orders      []int64
	Revenue     []float64
	// Refunded, RunDateRefunded and PeriodDayLaterRefunded are each day's
	// refunds, as customer_periods sums them per cell.
	Refunded, RunDateRefunded, PeriodDayLaterRefunded []float64
}

// cellsOf is customer c cut at grid g, as customer_summary writes it to
// customer_periods: money summed exactly per cell, rounded once.
func cellsOf(g *periods.Grid, c *dayHistory) *history.Cells {
	out := &history.Cells{ID: c.ID, Country: c.Country}
	money := func(v []float64, from, to int) float64 {
		var s exactsum.Sum
		for _, x := range v[min(from, len(v)):min(to, len(v))] {
			s.Add(x)
		}
		return s.Float64()
	}
	g.Cells(c.Days, func(from, to int) {
		out.First = append(out.First, c.Days[from])
		out.Last = append(out.Last, c.Days[to-1])
		out.Days = append(out.Days, int64(to-from))
		var orders int64
		for _, o := range c.Orders[from:to] {
			orders += o
		}
		out.Orders = append(out.Orders, orders)
		out.Revenue = append(out.Revenue, money(c.Revenue, from, to))
		out.Refunded = append(out.Refunded, money(c.Refunded, from, to))
		out.RunDateRefunded = append(out.RunDateRefunded, money(c.RunDateRefunded, from, to))
		out.PeriodDayLaterRefunded = append(out.PeriodDayLaterRefunded, money(c.PeriodDayLaterRefunded, from, to))
	})
	return out
}

// everyDay is the grid that makes each purchase day a cell of its own: the
// per-day history.
var everyDay = periods.Grid{Unit: calendar.Month, DailyFrom: math.MinInt32}

// decodeJob is the job file of yaml with the sections the stage and the
// grid read.
func decodeJob(t testing.TB, yaml string) *config.File {
	t.Helper()
	reg := &night.Registry{}
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	var sections []config.Section
	seen := map[string]bool{}
	for _, s := range append(append(reg.SectionsOf("segments"), periods.Sections...), night.InputSection) {
		if !seen[s.Key()] {
			seen[s.Key()] = true
			sections = append(sections, s)
		}
	}
	f, err := config.Decode([]byte("name: n\ninput: {orders: {path: o.csv}}\n"+yaml), "/", sections)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// randomHistory is n customers' purchase days up to runDay, several in the
// lookback for some, with amounts in cents whose sums in another order
// differ in the last bits, and refunds on some days.
func randomHistory(rng *rand.Rand, n int, runDay int32) []dayHistory {
	out := make([]dayHistory, n)
	for i := range out {
		c := dayHistory{ID: fmt.Sprintf("C%04d", i)}
		if rng.IntN(4) > 0 {
			c.Country = []string{"DE", "FR", "US"}[rng.IntN(3)]
		}
		last := runDay - int32(rng.IntN(10))
		if rng.IntN(3) == 0 {
			last = runDay - int32(rng.IntN(400))
		}
		first := last - int32(rng.IntN(700))
		gap := 1 + rng.IntN(30)
		for d := first; d <= last; d++ {
			if d != first && d != last && rng.IntN(gap) != 0 {
				continue
			}
			c.Days = append(c.Days, d)
			c.Orders = append(c.Orders, int64(1+rng.IntN(3)))
			rev := float64(rng.IntN(30000)) / 100
			var ref, runRef, laterRef float64
			if rng.IntN(6) == 0 {
				ref = math.Round(rev*rng.Float64()*100) / 100
				if rng.IntN(2) == 0 {
					runRef = ref
				}
				if rng.IntN(2) == 0 {
					laterRef = ref
				}
			}
			c.Revenue = append(c.Revenue, rev)
			c.Refunded = append(c.Refunded, ref)
			c.RunDateRefunded = append(c.RunDateRefunded, runRef)
			c.PeriodDayLaterRefunded = append(c.PeriodDayLaterRefunded, max(runRef, laterRef))
		}
		out[i] = c
	}
	return out
}

// build appends one row per customer to a record of table t, each column
// filled by fill or, when it returns false, by a value of the column's
// type that depends on the row only.
func build(mem memory.Allocator, t schemas.Table, n int, fill func(col string, i int, b array.Builder) bool) arrow.Record {
	rb := array.NewRecordBuilder(mem, t.Schema())
	defer rb.Release()
	for k, c := range t.Columns {
		b := rb.Field(k)
		for i := range n {
			if fill(c.Name, i, b) {
				continue
			}
			switch b := b.(type) {
			case *array.StringBuilder:
				b.Append(fmt.Sprintf("%s-%d", c.Name, i%3))
			case *array.Float64Builder:
				b.Append(float64(i%7) / 7)
			case *array.Int64Builder:
				b.Append(int64(i % 5))
			case *array.BooleanBuilder:
				b.Append(i%2 == 0)
			case *array.Date32Builder:
				b.Append(arrow.Date32(20000 + i%11))
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(int64(i) * 1e6))
			default:
				b.AppendNull()
			}
		}
	}
	return rb.NewRecord()
}

// runStage runs the segments stage on shop for the job's night runDay,
// with customer_periods cut at grid g, and returns its output tables.
func runStage(t *testing.T, mem memory.Allocator, f *config.File, runDay int32, shop []dayHistory, g *periods.Grid) map[string][]arrow.Record {
	t.Helper()
	ctx := context.Background()
	rc, err := night.New(f, "equivalence", calendar.Date(runDay).Format(time.DateOnly), mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	st, err := reg.Specs()[0].New(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	n := len(shop)
	summary := build(mem, schemas.CustomerSummary, n, func(col string, i int, b array.Builder) bool {
		c := &shop[i]
		k := len(c.Days)
		switch col {
		case "customer_id":
			b.(*array.StringBuilder).Append(c.ID)
		case "country":
			if c.Country == "" {
				b.AppendNull()
			} else {
				b.(*array.StringBuilder).Append(c.Country)
			}
		case "order_count":
			var o int64
			for _, x := range c.Orders {
				o += x
			}
			b.(*array.Int64Builder).Append(o)
		case "total_revenue", "net_revenue":
			var s exactsum.Sum
			for j, x := range c.Revenue {
				s.Add(x)
				if col == "net_revenue" {
					s.Add(-c.Refunded[j])
				}
			}
			b.(*array.Float64Builder).Append(s.Float64())
		case "frequency":
			b.(*array.Int64Builder).Append(int64(k - 1))
		case "recency_days":
			b.(*array.Int64Builder).Append(int64(c.Days[k-1] - c.Days[0]))
		case "tenure_days":
			b.(*array.Int64Builder).Append(int64(runDay - c.Days[0]))
		default:
			return false
		}
		return true
	})
	id := func(col string, i int, b array.Builder) bool {
		if col == "customer_id" {
			b.(*array.StringBuilder).Append(shop[i].ID)
			return true
		}
		return false
	}
	predictions := build(mem, schemas.CustomerPredictions, n, id)
	actions := build(mem, schemas.CustomerActions, n, id)
	cells := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	for i := range shop {
		c := cellsOf(g, &shop[i])
		for j := range c.First {
			cells.Field(0).(*array.StringBuilder).Append(c.ID)
			if c.Country == "" {
				cells.Field(1).AppendNull()
			} else {
				cells.Field(1).(*array.StringBuilder).Append(c.Country)
			}
			cells.Field(2).(*array.Date32Builder).Append(arrow.Date32(c.First[j]))
			cells.Field(3).(*array.Date32Builder).Append(arrow.Date32(c.Last[j]))
			cells.Field(4).(*array.Int64Builder).Append(c.Days[j])
			cells.Field(5).(*array.Int64Builder).Append(c.Orders[j])
			for k, v := range [][]float64{c.Revenue, c.Refunded, c.RunDateRefunded, c.PeriodDayLaterRefunded} {
				cells.Field(6 + k).(*array.Float64Builder).Append(v[j])
				cells.Field(10 + k).(*array.Float64Builder).AppendNull()
			}
		}
	}
	periodsRec := cells.NewRecord()
	cells.Release()
	out := enginetest.NewEmitter()
	for _, in := range []struct {
		table string
		rec   arrow.Record
	}{{schemas.CustomerSummary.Name, summary}, {schemas.CustomerPredictions.Name, predictions},
		{schemas.CustomerActions.Name, actions}, {schemas.CustomerPeriods.Name, periodsRec}} {
		// Batches of a few rows, so customers cross batch boundaries.
		for lo := int64(0); lo < in.rec.NumRows(); lo += 7 {
			part := in.rec.NewSlice(lo, min(lo+7, in.rec.NumRows()))
			err := st.Process(ctx, in.table, part, out)
			part.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		in.rec.Release()
	}
	if err := st.Finish(ctx, out); err != nil {
		t.Fatal(err)
	}
	return out.Records
}

// TestCellsAgreeWithDays: on random histories under jobs of every kpis
// period, short churn windows, a holdout and change tracking on and off,
// the stage fed the grid's cells publishes what it publishes fed each
// purchase day as a cell of its own: integers, strings and dates exactly,
// floats within 1e-9 relative, segment_since_date and segment_transitions
// exactly.
func TestCellsAgreeWithDays(t *testing.T) {
	// The default rules do not read M: these do, so the revenue summed
	// per cell moves segments too.
	const byValue = "rules: [{name: Big, r: [1, 5], f: [1, 5], m: [4, 5]}, {name: Recent, r: [4, 5], f: [1, 5], m: [1, 3]}, {name: Mid, r: [1, 3], f: [2, 5], m: [2, 3]}]"
	jobs := []string{
		"",
		"kpis: {period: week, churn_days: 5}\nsegments: {" + byValue + "}\n",
		"kpis: {period: quarter}\nclv: {holdout_days: 30}\nsegments: {" + byValue + "}\n",
		"kpis: {churn_days: 12}\nsegments: {since_lookback_days: 10, " + byValue + "}\n",
		"kpis: {period: week}\ncohorts: {period: quarter}\nsegments: {since_lookback_days: 45}\n",
		"segments: {change_tracking: false}\nkpis: {period: quarter, churn_days: 20}\n",
	}
	runDays := []string{"2026-11-22", "2026-03-31", "2024-03-01"}
	for ji, y := range jobs {
		f := decodeJob(t, y)
		for ri, run := range runDays {
			t.Run(fmt.Sprintf("job%d/%s", ji, run), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				d, _ := time.Parse(time.DateOnly, run)
				runDay := calendar.Day(d)
				g, err := periods.For(f, runDay)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(uint64(ji), uint64(ri)))
				shop := randomHistory(rng, 150, runDay)
				multi := 0
				for i := range shop {
					c := cellsOf(&g, &shop[i])
					for j := range c.First {
						if c.Days[j] > 1 {
							multi++
						}
					}
				}
				if multi == 0 {
					t.Fatal("no cell holds more than one day: the comparison would not test the cells")
				}
				byDay := runStage(t, mem, f, runDay, shop, &everyDay)
				byCell := runStage(t, mem, f, runDay, shop, &g)
				defer releaseAll(byDay)
				defer releaseAll(byCell)
				compareOutputs(t, byDay, byCell)
			})
		}
	}
}

func releaseAll(tables map[string][]arrow.Record) {
	for _, recs := range tables {
		for _, r := range recs {
			r.Release()
		}
	}
}

// compareOutputs checks that two runs' tables hold the same rows, floats
// within 1e-9 relative.
func compareOutputs(t *testing.T, want, got map[string][]arrow.Record) {
	t.Helper()
	tables := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	if len(tables) != 3 || len(got) != len(want) {
		t.Fatalf("tables %v and %d others, want the stage's three", tables, len(got))
	}
	for _, table := range tables {
		w, g := flatten(want[table]), flatten(got[table])
		if len(w) != len(g) {
			t.Fatalf("%s: %d rows by cell, %d by day", table, len(g), len(w))
		}
		for r := range w {
			for c := range w[r] {
				wv, gv := w[r][c], g[r][c]
				if wf, ok := wv.(float64); ok {
					gf := gv.(float64)
					if wf == gf || math.Abs(wf-gf) <= 1e-9*math.Max(math.Abs(wf), math.Abs(gf)) {
						continue
					}
				} else if wv == gv {
					continue
				}
				t.Fatalf("%s row %d column %d: %v by cell, %v by day", table, r, c, gv, wv)
			}
		}
	}
}

// flatten is a table's rows as Go values (nil for null), float64 for
// floats so they can be compared within a tolerance.
func flatten(recs []arrow.Record) [][]any {
	var rows [][]any
	for _, rec := range recs {
		for i := range int(rec.NumRows()) {
			row := make([]any, rec.NumCols())
			for c, col := range rec.Columns() {
				switch {
				case col.IsNull(i):
				case col.DataType().ID() == arrow.FLOAT64:
					row[c] = col.(*array.Float64).Value(i)
				default:
					row[c] = col.ValueStr(i)
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// TestNightsErrors: a cell across the nights replayed one by one, and
// customer_periods out of line with customer_summary, fail by name rather
// than date totals to the wrong night.
func TestNightsErrors(t *testing.T) {
	const runDay, lookback = 20000, 10 // 2024-10-04; first night 2024-09-24
	one := func(first, last []int32) *history.Cells {
		n := len(first)
		return &history.Cells{ID: "A", First: first, Last: last, Days: make([]int64, n), Orders: make([]int64, n), Revenue: make([]float64, n),
			Refunded: make([]float64, n), RunDateRefunded: make([]float64, n), PeriodDayLaterRefunded: make([]float64, n)}
	}
	tests := []struct {
		name        string
		first, last []int32
		ids         []string
		want        string
	}{
		{"cell across the first night", []int32{19980, 19985}, []int32{19980, 19991}, []string{"A"},
			`customer_periods: customer "A" has a cell from 2024-09-19 to 2024-09-25, across nights segments replays one by one (the lookback from 2024-09-24)`},
		{"cell of two replayed nights", []int32{19980, 19995}, []int32{19980, 19996}, []string{"A"},
			`customer_periods: customer "A" has a cell from 2024-09-29 to 2024-09-30`},
		{"more summary customers", []int32{19980}, []int32{19980}, []string{"A", "B"},
			"customer_periods has 1 customers, customer_summary 2"},
		{"another customer", []int32{19980}, []int32{19980}, []string{"B"},
			"customer_periods does not line up with customer_summary at customer 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNights(runDay, lookback)
			err := n.visit(one(tt.first, tt.last))
			if err == nil {
				c := columns{ids: tt.ids, daysSince: make([]float64, len(tt.ids)), orders: make([]float64, len(tt.ids))}
				_, err = n.segmentHistory(DefaultRules, c, make([]float64, len(tt.ids)), make([]string, len(tt.ids)))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
