package segments

import (
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// TestJoinedColumnRows: a joined column's batches need not line up with
// customer_summary's, so a range of rows may lie in one batch (taken as a
// slice), span several (copied together) or none; nulls keep their place,
// and a batch goes once every row it holds is past.
func TestJoinedColumnRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	// Rows 0..8 in batches of 3, 2 and 4; row 4 is null.
	values := [][]float64{{0, 1, 2}, {3, 4}, {5, 6, 7, 8}}
	j := &joinedColumn{typ: arrow.PrimitiveTypes.Float64}
	var end int64
	for _, vs := range values {
		b := array.NewFloat64Builder(mem)
		for _, v := range vs {
			if v == 4 {
				b.AppendNull()
			} else {
				b.Append(v)
			}
		}
		j.parts = append(j.parts, b.NewArray())
		b.Release()
		end += int64(len(vs))
		j.ends = append(j.ends, end)
	}
	defer j.release()
	for _, tc := range []struct {
		name   string
		lo, hi int64
		want   []string
	}{
		{"within one batch", 0, 2, []string{"0", "1"}},
		{"one whole batch", 3, 5, []string{"3", "(null)"}},
		{"across three batches", 2, 7, []string{"2", "3", "(null)", "5", "6"}},
		{"the last rows", 8, 9, []string{"8"}},
		{"no rows", 9, 9, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := j.rows(mem, tc.lo, tc.hi)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release()
			var got []string
			for i := range a.Len() {
				got = append(got, a.ValueStr(i))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rows [%d, %d) = %v, want %v", tc.lo, tc.hi, got, tc.want)
			}
		})
	}
	j.releaseThrough(4)
	if j.parts[0] != nil || j.parts[1] == nil || j.parts[2] == nil {
		t.Errorf("through row 4, released %v; want the first batch only", []bool{j.parts[0] == nil, j.parts[1] == nil, j.parts[2] == nil})
	}
	a, err := j.rows(mem, 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	if a.Len() != 2 || a.ValueStr(0) != "5" || a.ValueStr(1) != "6" {
		t.Errorf("rows [5, 7) after a release: %v", a)
	}
}
