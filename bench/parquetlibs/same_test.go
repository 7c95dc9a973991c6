package parquetlibs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/arrow/go/v15/parquet/schema"
)

// TestBothWritersWriteTheSameTable reads both files back with pqarrow: the
// comparison is only fair if both hold the same rows, values and logical types.
func TestBothWritersWriteTheSameTable(t *testing.T) {
	rec, err := makeRecord(10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	if err := writePqarrow(rec, a); err != nil {
		t.Fatal(err)
	}
	if err := writeXitongsys(rec, b); err != nil {
		t.Fatal(err)
	}
	ta, sa := readBack(t, a)
	tb, sb := readBack(t, b)
	defer ta.Release()
	defer tb.Release()
	if ta.NumRows() != rec.NumRows() || tb.NumRows() != rec.NumRows() {
		t.Fatalf("rows: pqarrow %d, xitongsys %d, want %d", ta.NumRows(), tb.NumRows(), rec.NumRows())
	}
	for i := 0; i < sa.NumColumns(); i++ {
		ca, cb := sa.Column(i), sb.Column(i)
		if ca.Name() != cb.Name() || ca.LogicalType().String() != cb.LogicalType().String() || ca.PhysicalType() != cb.PhysicalType() {
			t.Errorf("column %d: pqarrow %s %s %s, xitongsys %s %s %s", i, ca.Name(), ca.PhysicalType(), ca.LogicalType(), cb.Name(), cb.PhysicalType(), cb.LogicalType())
		}
	}
	for i := 0; i < int(ta.NumCols()); i++ {
		if !array.ChunkedEqual(ta.Column(i).Data(), tb.Column(i).Data()) {
			t.Errorf("column %s differs", ta.Schema().Field(i).Name)
		}
	}
}

func readBack(t *testing.T, path string) (arrow.Table, *schema.Schema) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl, pr.MetaData().Schema
}
