package input

import (
	"context"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/engine/enginetest"
)

// TestEmitSourceOf: a batch's provenance round-trips through its metadata,
// a batch of rows without a position included (NoRow).
func TestEmitSourceOf(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name     string
		firstRow int64
	}{
		{"file rows", 65537},
		{"warehouse rows", NoRow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := array.NewInt64Builder(mem)
			b.AppendValues([]int64{1, 2}, nil)
			col := b.NewArray()
			b.Release()
			rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 2)
			col.Release()
			out := enginetest.NewEmitter()
			if err := Emit(context.Background(), out, "t", rec, "bigquery://p.d.t", tt.firstRow); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			got := out.Records["t"][0]
			source, first := SourceOf(got)
			if source != "bigquery://p.d.t" || first != tt.firstRow {
				t.Errorf("SourceOf = %q, %d; want bigquery://p.d.t, %d", source, first, tt.firstRow)
			}
			out.Release()
		})
	}
}

// TestOrderIDs: the count of distinct order ids survives Emit's tagging
// beside the provenance, and a batch without it says so.
func TestOrderIDs(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{1, 2}, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 2)
	col.Release()
	defer rec.Release()
	if n, ok := OrderIDsOf(rec); ok {
		t.Errorf("untagged batch says %d order ids", n)
	}
	tagged := WithOrderIDs(rec, 10_800_000)
	retagged := WithOrderIDs(tagged, 7)
	tagged.Release()
	out := enginetest.NewEmitter()
	defer out.Release()
	if err := Emit(context.Background(), out, "t", retagged, "orders/part-0.parquet", 1025); err != nil {
		t.Fatal(err)
	}
	retagged.Release()
	got := out.Records["t"][0]
	n, ok := OrderIDsOf(got)
	source, first := SourceOf(got)
	if n != 7 || !ok || source != "orders/part-0.parquet" || first != 1025 {
		t.Errorf("OrderIDsOf, SourceOf = %d, %v, %q, %d; want 7, true, orders/part-0.parquet, 1025", n, ok, source, first)
	}
}
