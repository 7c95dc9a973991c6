package validate

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// TestTextColumn: gathered values come out as the String array a builder
// makes of them, nulls and empty values included, batch after batch from
// the same reused buffers.
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
				if want.IsNull(i) {
					tc.addNull()
				} else {
					tc.add(want.Value(i))
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
