package history

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/schemas"
)

type row struct {
	id, country string
	first, last int32
	days        int64
	orders      int64
	revenue     float64
}

func periods(mem memory.Allocator, rows []row) arrow.Record {
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	for i, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.id)
		if r.country == "" {
			b.Field(1).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(r.country)
		}
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32(r.first))
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32(r.last))
		b.Field(4).(*array.Int64Builder).Append(r.days)
		b.Field(5).(*array.Int64Builder).Append(r.orders)
		b.Field(6).(*array.Float64Builder).Append(r.revenue)
		b.Field(7).(*array.Float64Builder).Append(float64(i))
		b.Field(8).(*array.Float64Builder).Append(float64(10 * i))
		b.Field(9).(*array.Float64Builder).Append(float64(100 * i))
		for j := 10; j < 14; j++ {
			b.Field(j).(*array.Float64Builder).AppendNull()
		}
	}
	return b.NewRecord()
}

// TestPeriodWalker regroups rows into customers across batch boundaries,
// the refund columns following their rows, and rejects unsorted or
// overlapping cells.
func TestPeriodWalker(t *testing.T) {
	rows := []row{
		{"A", "DE", 1, 1, 1, 1, 10}, {"A", "DE", 3, 7, 2, 2, 20},
		{"B", "", 2, 2, 1, 1, 5},
		{"C", "FR", 1, 1, 1, 1, 1}, {"C", "FR", 4, 4, 1, 3, 2}, {"C", "FR", 9, 20, 5, 6, 3},
	}
	want := []string{
		"A DE [1 3] [1 7] [1 2] [1 2] [10 20] [0 1] [0 10] [0 100] 3",
		"B  [2] [2] [1] [1] [5] [2] [20] [200] 1",
		"C FR [1 4 9] [1 4 20] [1 1 5] [1 3 6] [1 2 3] [3 4 5] [30 40 50] [300 400 500] 7",
	}
	tests := []struct {
		name    string
		rows    []row
		splits  []int // batch boundaries
		want    []string
		wantErr string
	}{
		{"one batch", rows, nil, want, ""},
		{"a batch per row", rows, []int{1, 2, 3, 4, 5}, want, ""},
		{"customers split across batches", rows, []int{1, 4}, want, ""},
		{"ids out of order", []row{{"B", "", 1, 1, 1, 1, 1}, {"A", "", 1, 1, 1, 1, 1}}, nil, nil, "not sorted by customer_id"},
		{"cells out of order across batches", []row{{"A", "", 2, 2, 1, 1, 1}, {"A", "", 2, 2, 1, 1, 1}}, []int{1}, nil, "not sorted by first_date"},
		{"cells out of order in a run", []row{{"A", "", 1, 1, 1, 1, 1}, {"A", "", 3, 3, 1, 1, 1}, {"A", "", 2, 2, 1, 1, 1}}, nil, nil, "not sorted by first_date"},
		{"overlapping cells", []row{{"A", "", 1, 5, 2, 2, 1}, {"A", "", 5, 6, 2, 2, 1}}, nil, nil, "overlapping cells"},
		{"a cell ending before it starts", []row{{"A", "", 5, 4, 2, 2, 1}}, nil, nil, "overlapping cells"},
		{"days before 1970", []row{{"A", "", -40, -40, 1, 1, 1}, {"A", "", -3, 2, 2, 2, 1}, {"B", "", -1, -1, 1, 1, 1}}, []int{1},
			[]string{"A  [-40 -3] [-40 2] [1 2] [1 2] [1 1] [0 1] [0 10] [0 100] 3", "B  [-1] [-1] [1] [1] [1] [2] [20] [200] 1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var got []string
			w := PeriodWalker{Visit: func(c *Cells) error {
				got = append(got, strings.TrimSpace(fmt.Sprint(c.ID, " ", c.Country, " ", c.First, " ", c.Last, " ", c.Days, " ", c.Orders, " ", c.Revenue, " ",
					c.Refunded, " ", c.RunDateRefunded, " ", c.PeriodDayLaterRefunded, " ", c.PurchaseDays(len(c.Days)))))
				return nil
			}}
			// Refund columns number rows over the whole input.
			all := periods(mem, tt.rows)
			defer all.Release()
			var err error
			from := 0
			for _, to := range append(slices.Clone(tt.splits), len(tt.rows)) {
				rec := all.NewSlice(int64(from), int64(to))
				err = w.Add(rec)
				rec.Release()
				from = to
				if err != nil {
					break
				}
			}
			if err == nil {
				err = w.Flush()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("visited\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// BenchmarkPeriodWalker regroups 200,000 customers of one to twenty cells
// each, in batches of 64k rows, as customer_periods arrives.
func BenchmarkPeriodWalker(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var rows []row
	for c := range 200_000 {
		id := fmt.Sprintf("C%08d", c)
		for d := range 1 + rng.IntN(20) {
			day := int32(19000 + 3*d)
			rows = append(rows, row{id, "DE", day, day + 1, 2, 2, 10})
		}
	}
	all := periods(memory.DefaultAllocator, rows)
	defer all.Release()
	var batches []arrow.Record
	for from := 0; from < len(rows); from += 64 * 1024 {
		batches = append(batches, all.NewSlice(int64(from), int64(min(from+64*1024, len(rows)))))
	}
	b.ResetTimer()
	for range b.N {
		cells := 0
		w := PeriodWalker{Visit: func(c *Cells) error { cells += len(c.First); return nil }}
		for _, rec := range batches {
			if err := w.Add(rec); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil || cells != len(rows) {
			b.Fatal(err, cells)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}

// TestPeriodWalkerResiduals follows the residual columns in each of the
// ways a batch holds them (no nulls, all null, some null) through views of
// one batch and copies across batches: a null is an exact sum, residual 0.
func TestPeriodWalkerResiduals(t *testing.T) {
	ids := []string{"A", "A", "B", "C", "C", "C", "D"}
	// valid says which rows of residual column r are set; row j's value is
	// j + 0.25·(r+1).
	valid := [4]func(j int) bool{
		func(int) bool { return true },
		func(int) bool { return false },
		func(j int) bool { return j%2 == 1 },
		func(j int) bool { return j == 4 },
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	for j, id := range ids {
		b.Field(0).(*array.StringBuilder).Append(id)
		b.Field(1).(*array.StringBuilder).AppendNull()
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32(10 * j))
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32(10*j + 1))
		for f := 4; f < 6; f++ {
			b.Field(f).(*array.Int64Builder).Append(1)
		}
		for f := 6; f < 10; f++ {
			b.Field(f).(*array.Float64Builder).Append(float64(j))
		}
		for r, ok := range valid {
			// AppendValues stores the value behind a null too, so a walker
			// that read a null slot's value would see it.
			b.Field(10+r).(*array.Float64Builder).AppendValues([]float64{float64(j) + 0.25*float64(r+1)}, []bool{ok(j)})
		}
	}
	all := b.NewRecord()
	defer all.Release()
	want := map[string][4][]float64{}
	for j, id := range ids {
		w := want[id]
		for r, ok := range valid {
			v := 0.0
			if ok(j) {
				v = float64(j) + 0.25*float64(r+1)
			}
			w[r] = append(w[r], v)
		}
		want[id] = w
	}
	for _, splits := range [][]int{nil, {1}, {2, 3}, {4}, {1, 2, 3, 4, 5, 6}} {
		got := map[string][4][]float64{}
		w := PeriodWalker{Visit: func(c *Cells) error {
			var r4 [4][]float64
			for r := range r4 {
				r4[r] = slices.Clone(c.Residuals[r])
			}
			got[c.ID] = r4
			return nil
		}}
		from := 0
		for _, to := range append(slices.Clone(splits), len(ids)) {
			rec := all.NewSlice(int64(from), int64(to))
			if err := w.Add(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			from = to
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("batches split at %v: residuals\n%v\nwant\n%v", splits, got, want)
		}
	}
}
