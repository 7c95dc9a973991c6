package extract

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"retain/schemas"
)

// writeRowGroups writes n orders in row groups of rowGroup rows; every
// 50th order id repeats one of the first 1,000, so rows share ids across
// row groups.
func writeRowGroups(t *testing.T, path string, n, rowGroup int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("O%d", i)
		if i%50 == 0 {
			id = fmt.Sprintf("O%d", i%1000+1)
		}
		b.Field(0).(*array.StringBuilder).Append(id)
		if i%777 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("C%d", i%97))
		}
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(1_790_000_000_000_000 + int64(i)*1_000_000))
		b.Field(3).(*array.Float64Builder).Append(float64(i) / 4)
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rowGroup)))
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
}

// TestParallelRowGroups: decoding row groups on two workers emits the
// batches a sequential read emits — the same cuts, row numbers, values and
// shared-id flags, in the same order — with one core or two, and so does
// the order id pass; an unreadable row group fails the read at its place,
// after the batches before it, with the sequential read's error.
func TestParallelRowGroups(t *testing.T) {
	dir := t.TempDir()
	// Three row groups, two batches each (65,536 rows and the rest) but the
	// last; two files, so the workers start over per file.
	const n, rowGroup = 150_000, 66_000
	writeRowGroups(t, filepath.Join(dir, "orders", "a.parquet"), n, rowGroup)
	writeRowGroups(t, filepath.Join(dir, "orders", "b.parquet"), 2*rowGroup, rowGroup)
	job := "name: t\ninput: {orders: {path: orders}}\n"

	broken := filepath.Join(dir, "broken")
	writeRowGroups(t, filepath.Join(broken, "orders", "o.parquet"), n, rowGroup)
	corruptRowGroup(t, filepath.Join(broken, "orders", "o.parquet"), 2)

	type result struct {
		batches, lines []string
		err            string
	}
	read := func(t *testing.T, dir string, workers, procs int) result {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		c, rc, err := runWorkers(t, mem, dir, job, false, workers)
		res := result{batches: c.batches, lines: c.lines[schemas.RawOrders]}
		if err != nil {
			res.err = err.Error()
		}
		if c.rows[schemas.RawOrders] != rc.Rows.Read {
			t.Errorf("emitted %d rows, counted %d", c.rows[schemas.RawOrders], rc.Rows.Read)
		}
		return res
	}

	seq := read(t, dir, 1, 1)
	if seq.err != "" {
		t.Fatal(seq.err)
	}
	wantBatches := []string{schemas.RawOrders + " 1 65536", schemas.RawOrders + " 65537 464", schemas.RawOrders + " 66001 65536"}
	if !slices.Equal(seq.batches[:3], wantBatches) || len(seq.batches) != 5+4 || len(seq.lines) != n+2*rowGroup {
		t.Fatalf("sequential read: %d batches %v…, %d rows", len(seq.batches), seq.batches[:3], len(seq.lines))
	}
	// Order O1 is on rows 1, 1000, 2000… of a.parquet and in b.parquet;
	// O140001 is on row 140,001 of a.parquet alone.
	if !strings.HasPrefix(seq.lines[0], "1:O1|") || !strings.HasSuffix(seq.lines[0], "|true") ||
		!strings.HasPrefix(seq.lines[140_000], "140001:O140001|") || !strings.HasSuffix(seq.lines[140_000], "|false") {
		t.Fatalf("shared flags: %q, %q", seq.lines[0], seq.lines[140_000])
	}
	badSeq := read(t, broken, 1, 1)
	if !strings.Contains(badSeq.err, `row group 2: unreadable input file: column "amount": page header`) || len(badSeq.lines) != 2*rowGroup {
		t.Fatalf("broken file, sequential: %d rows, err %q", len(badSeq.lines), badSeq.err)
	}
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			got := read(t, dir, decodeWorkers, procs)
			if got.err != "" || !slices.Equal(got.batches, seq.batches) || !slices.Equal(got.lines, seq.lines) {
				t.Errorf("parallel read differs from the sequential one: err %q, %d batches, %d rows", got.err, len(got.batches), len(got.lines))
			}
			bad := read(t, broken, decodeWorkers, procs)
			if bad.err != badSeq.err || !slices.Equal(bad.lines, badSeq.lines) {
				t.Errorf("broken file: %d rows, err %q; sequential: %d rows, err %q", len(bad.lines), bad.err, len(badSeq.lines), badSeq.err)
			}
		})
	}
}

// corruptRowGroup overwrites the first data page header of row group rg's
// amount chunk, which the page walk then refuses; the order id pass, which
// reads another column, does not see it.
func corruptRowGroup(t *testing.T, path string, rg int) {
	t.Helper()
	corruptChunk(t, path, rg, 3)
}

// corruptChunk overwrites the first data page header of column col's chunk
// in row group rg.
func corruptChunk(t *testing.T, path string, rg, col int) {
	t.Helper()
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pr.MetaData().RowGroup(rg).ColumnChunk(col)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	pr.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(raw[off:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
