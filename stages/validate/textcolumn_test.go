package validate

import (
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// TestTextColumn: gathered values, taken from the raw column in runs or
// added one by one, come out as the String array a builder makes of
// them, nulls and empty values included, batch after batch from the same
// reused buffers.
func TestTextColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	none := "\x00null"
	var tc textColumn
	for _, batch := range []struct {
		name string
		vals []string
	}{
		{"values", []string{"O1", "customer", "", "DE"}},
		{"nulls", []string{none, "a", none, "", "bc", none}},
		{"one null", []string{none}},
		{"empty", nil},
		{"after nulls", []string{"x", "yz"}},
		{"runs", []string{"a", "bb", "ccc", "dddd", "", "e", none, "f", "gg", "hhh", "iiii", "j"}},
	} {
		t.Run(batch.name, func(t *testing.T) {
			src := array.NewStringBuilder(mem)
			defer src.Release()
			for _, v := range batch.vals {
				if v == none {
					src.AppendNull()
				} else {
					src.Append(v)
				}
			}
			want := src.NewStringArray()
			defer want.Release()
			tc.reserve(want.Len(), want)
			for i := range want.Len() {
				switch {
				case want.IsNull(i):
					tc.addNull()
				case i%4 == 3:
					tc.add(want.Value(i))
				default:
					tc.take(i, want.Value(i))
				}
			}
			got := tc.array(mem)
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), arrow.BinaryTypes.String) || !array.Equal(got, want) || got.NullN() != want.NullN() {
				t.Errorf("got %v (%d nulls), want %v (%d nulls)", got, got.NullN(), want, want.NullN())
			}
		})
	}
}

// BenchmarkTextColumn gathers a batch of order ids, every 50th row left
// out, value by value (add) and in runs of raw rows (take).
//
//	go test -run '^$' -bench TextColumn ./stages/validate/
func BenchmarkTextColumn(b *testing.B) {
	mem := memory.NewGoAllocator()
	src := array.NewStringBuilder(mem)
	const n = 64 << 10
	for i := range n {
		src.Append(fmt.Sprintf("O%09d", i))
	}
	ids := src.NewStringArray()
	defer ids.Release()
	src.Release()
	for _, tc := range []struct {
		name string
		runs bool
	}{{"add", false}, {"take", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var t textColumn
			for range b.N {
				t.reserve(n, ids)
				for i := range n {
					switch {
					case i%50 == 0:
					case tc.runs:
						t.take(i, ids.Value(i))
					default:
						t.add(ids.Value(i))
					}
				}
				t.array(mem).Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
