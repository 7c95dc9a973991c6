package extract

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"retain/schemas"
)

// TestDictionaryColumns: string columns whose pages are all dictionary
// pages are read as dictionaries and emitted as the same strings, nulls
// included, row group after row group; an id column written without a
// dictionary, and a column that is not text, read as before.
func TestDictionaryColumns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in", "o.parquet")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_ts", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	b := array.NewRecordBuilder(mem, sc)
	const n = 2500
	var want []string
	for i := range n {
		id, cust, status := fmt.Sprintf("O%d", i), fmt.Sprintf("C%d", i%7), []string{"completed", "", "refunded"}[i%3]
		b.Field(0).(*array.StringBuilder).Append(id)
		if i%11 == 0 {
			b.Field(1).AppendNull()
			cust = "∅"
		} else {
			b.Field(1).(*array.StringBuilder).Append(cust)
		}
		b.Field(2).(*array.StringBuilder).Append("2026-11-01")
		b.Field(3).(*array.Float64Builder).Append(float64(i))
		if i%13 == 0 {
			b.Field(4).AppendNull()
			status = "∅"
		} else {
			b.Field(4).(*array.StringBuilder).Append(status)
		}
		want = append(want, fmt.Sprintf("%s|%s|2026-11-01|%d|%s", id, cust, i, status))
	}
	rec := b.NewRecord()
	b.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(1000), parquet.WithDictionaryFor("order_id", false))
	fw, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	mem.AssertSize(t, 0)

	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dictionaryLeaves(pr, fr, []int{0, 1, 2, 3, 4}); !slices.Equal(got, []int{1, 2, 4}) {
		t.Errorf("dictionary leaves %v, want [1 2 4]", got)
	}
	pr.Close()

	c, _, err := runReader(t, dir, "name: t\ninput: {orders: {path: in}}\n", false)
	if err != nil {
		t.Fatal(err)
	}
	lines := c.lines[schemas.RawOrders]
	if len(lines) != n {
		t.Fatalf("%d rows, want %d", len(lines), n)
	}
	for i, l := range lines {
		// row number first, input.SharedOrderID last
		if w := fmt.Sprintf("%d:%s|false", i+1, want[i]); l != w {
			t.Fatalf("row %d: %s, want %s", i+1, l, w)
		}
	}
}
