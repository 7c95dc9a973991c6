package bqsink

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// writeParquet writes one Int64 column per name, values 0..rows-1.
func writeParquet(t *testing.T, path string, rows int, names ...string) {
	t.Helper()
	var fields []arrow.Field
	for _, n := range names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Int64})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for c := range names {
		for i := range rows {
			b.Field(c).(*array.Int64Builder).Append(int64(i))
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWithPartitionColumn: the upload holds snapshot_date first, the day on
// every row, then the committed file's columns unchanged, over more rows
// than one batch.
func TestWithPartitionColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	src := filepath.Join(dir, "part-00000.parquet")
	const rows = uploadBatchRows + 10
	writeParquet(t, src, rows, "customers", "orders")
	day := arrow.Date32FromTime(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	up, err := withPartitionColumn(src, day, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(up)
	pf, err := file.OpenParquetFile(up, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	s := tbl.Schema()
	if s.NumFields() != 3 || s.Field(0).Name != PartitionColumn || s.Field(0).Type.ID() != arrow.DATE32 || s.Field(1).Name != "customers" || s.Field(2).Name != "orders" {
		t.Fatalf("upload schema %s", s)
	}
	if tbl.NumRows() != rows {
		t.Fatalf("%d rows, want %d", tbl.NumRows(), rows)
	}
	var i int64
	for _, chunk := range tbl.Column(0).Data().Chunks() {
		for _, d := range chunk.(*array.Date32).Date32Values() {
			if d != day {
				t.Fatalf("row %d: snapshot_date %v, want %v", i, d, day)
			}
			i++
		}
	}
	i = 0
	for _, chunk := range tbl.Column(2).Data().Chunks() {
		for _, v := range chunk.(*array.Int64).Int64Values() {
			if v != i {
				t.Fatalf("row %d: orders %d", i, v)
			}
			i++
		}
	}

	// A file that already holds the column is refused, not loaded twice over.
	old := filepath.Join(dir, "old.parquet")
	writeParquet(t, old, 3, PartitionColumn, "orders")
	if _, err := withPartitionColumn(old, day, mem); !errors.Is(err, ErrLoad) {
		t.Fatalf("a file holding %s: %v, want ErrLoad", PartitionColumn, err)
	}
}

// BenchmarkWithPartitionColumn re-encodes every table file of one
// committed night for upload: RETAIN_BENCH_NIGHT names an output root and
// date as ROOT@YYYY-MM-DD (for instance a night of `retain gen --customers
// 200000`); without it the benchmark is skipped.
func BenchmarkWithPartitionColumn(b *testing.B) {
	night := os.Getenv("RETAIN_BENCH_NIGHT")
	root, date, ok := strings.Cut(night, "@")
	if !ok {
		b.Skip("RETAIN_BENCH_NIGHT=ROOT@YYYY-MM-DD not set")
	}
	files, err := filepath.Glob(filepath.Join(root, "*", "snapshot_date="+date, "part-00000.parquet"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no table files for %s: %v", night, err)
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		b.Fatal(err)
	}
	var in, out int64
	for b.Loop() {
		in, out = 0, 0
		for _, f := range files {
			up, err := withPartitionColumn(f, arrow.Date32FromTime(d), memory.DefaultAllocator)
			if err != nil {
				b.Fatal(err)
			}
			si, _ := os.Stat(f)
			so, _ := os.Stat(up)
			in, out = in+si.Size(), out+so.Size()
			os.Remove(up)
		}
	}
	b.ReportMetric(float64(in)/1e6, "MB-committed")
	b.ReportMetric(float64(out)/1e6, "MB-uploaded")
}
