package extract

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/recovered"
)

// addHostile adds every input of the hostile cases whose name matches
// pattern as a seed; plain go test runs them with the seeds under
// testdata/fuzz/<FuzzName>/.
func addHostile(f *testing.F, pattern string) {
	paths, err := filepath.Glob(filepath.Join(hostile, "*", "input", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no hostile inputs %s: %v", pattern, err)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
}

const fuzzHeader = "order_id,customer_id,order_ts,amount,status\n"

// FuzzCSVReader reads arbitrary bytes as an orders CSV, as they are and
// after a valid header. The reader may reject a file but never panic,
// leak, or lose a record: every record an independent encoding/csv pass
// sees is a raw row with the same values or a malformed_row, in order.
//
//	go test -run '^$' -fuzz FuzzCSVReader -parallel 1 ./stages/extract/
func FuzzCSVReader(f *testing.F) {
	addHostile(f, "*.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, body := range [][]byte{data, append([]byte(fuzzHeader), data...)} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "orders.csv"), body, 0o644); err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			c, rc, err := runReaderWith(t, mem, dir, "name: f\ninput: {orders: {path: orders.csv, csv: {max_malformed_share: 1}}}\n", false)
			mem.AssertSize(t, 0)
			var p *recovered.Panic
			if errors.As(err, &p) {
				t.Fatalf("CSV reader panicked: %v\n%s", p.Value, string(p.Stack))
			}
			if err != nil && !errors.Is(err, night.ErrNoInput) {
				continue // a rejected file; rejections are the unit tests' business
			}
			checkAgainstCSV(t, body, c, rc)
		}
	})
}

// checkAgainstCSV holds what the reader emitted to what encoding/csv reads.
func checkAgainstCSV(t *testing.T, body []byte, c *collector, rc *night.Context) {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, utf8BOM)))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		if rc.Rows.Read != 0 {
			t.Fatalf("read %d rows of a file without records", rc.Rows.Read)
		}
		return
	}
	if err != nil {
		t.Fatalf("reader accepted a header encoding/csv rejects: %v", err)
	}
	var index []int
	for _, c := range schemas.Orders.Columns {
		if i := slices.Index(header, c.Name); i >= 0 {
			index = append(index, i)
		}
	}
	var row, malformed, good int64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row++
		if err != nil || len(rec) != len(header) {
			malformed++
			continue
		}
		if good >= int64(len(c.fields)) {
			t.Fatalf("record %d %q was not emitted", row, rec)
		}
		if c.nums[good] != row {
			t.Fatalf("record %d emitted as row %d", row, c.nums[good])
		}
		for k, i := range index {
			got, want := c.fields[good][k], rec[i]
			if null := want == "" || want == "NULL"; null != (got == nil) || (got != nil && *got != want) {
				t.Fatalf("record %d column %d: %v, want %q", row, i, got, want)
			}
		}
		good++
	}
	if good != int64(len(c.fields)) || malformed != rc.Rows.Quarantined[ReasonMalformedRow] || rc.Rows.Read != row ||
		int64(len(c.lines[schemas.Quarantine.Name])) != malformed {
		t.Fatalf("encoding/csv: %d records, %d malformed; reader: %d read, %d emitted, %d malformed, %d quarantine rows",
			row, malformed, rc.Rows.Read, len(c.fields), rc.Rows.Quarantined[ReasonMalformedRow], len(c.lines[schemas.Quarantine.Name]))
	}
}

// FuzzParquetReader reads arbitrary bytes as an orders Parquet file. The
// reader may reject a file but never crash the process, and a file it
// accepts has exactly the rows its footer declares.
//
//	go test -run '^$' -fuzz FuzzParquetReader -parallel 1 ./stages/extract/
func FuzzParquetReader(f *testing.F) {
	addHostile(f, "*.parquet")
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "orders.parquet")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		c, rc, err := runReaderWith(t, mem, dir, "name: f\ninput: {orders: {path: orders.parquet}}\n", false)
		if err != nil {
			return
		}
		// Arrow's own error paths may leave buffers behind (the Go
		// allocator collects them in production); an accepted file may not.
		mem.AssertSize(t, 0)
		var declared int64
		if err := guard(func() error {
			pr, err := file.OpenParquetFile(path, false)
			if err != nil {
				return err
			}
			defer pr.Close()
			declared = pr.NumRows()
			return nil
		}); err != nil {
			t.Fatalf("accepted a file whose footer does not read: %v", err)
		}
		if rc.Rows.Read != declared || c.rows[schemas.RawOrders] != declared {
			t.Fatalf("read %d rows (emitted %d), the footer declares %d", rc.Rows.Read, c.rows[schemas.RawOrders], declared)
		}
	})
}
