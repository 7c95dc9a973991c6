package load

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/schemas"
)

// TestColumnsInParallel fails when a new Arrow release drops the field
// columnWriter gives each goroutine's writer its own scratch through; the
// columns would then be written one after another.
func TestColumnsInParallel(t *testing.T) {
	if _, err := ctxField(); err != nil {
		t.Fatal(err)
	}
}

// TestColumnsWriteArrowsBytes: columnWriter writes the file
// pqarrow.FileWriter.WriteBuffered writes, byte for byte, with one core or
// several, for batches that fill a row group exactly, cross one or more
// boundaries, or hold no rows, in row groups of 1,000 and 4,096 rows.
func TestColumnsWriteArrowsBytes(t *testing.T) {
	TuneArrow()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tb := schemas.CustomerSegments
	if !hostileTypes(tb) {
		t.Fatalf("%s has a column hostileBatches cannot fill", tb.Name)
	}
	whole := hostileBatches(mem, tb.FileSchema(), 9_000)
	defer release(whole)
	src := whole[0]
	// Batch sizes in rows, cut in turn from src.
	sizes := []int64{700, 300, 0, 1000, 2500, 1, 999, 3000, 500}
	var recs []arrow.Record
	from := int64(0)
	for _, n := range sizes {
		recs = append(recs, src.NewSlice(from, from+n))
		from += n
	}
	defer release(recs)

	write := func(rowGroupRows int64, parallel bool) []byte {
		var buf bytes.Buffer
		fw, err := newFileWriter(tb.FileSchema(), struct{ io.Writer }{&buf}, rowGroupRows, mem)
		if err != nil {
			t.Fatal(err)
		}
		cw := newColumnWriter(fw, tb.FileSchema(), arrowProperties(mem), rowGroupRows)
		defer cw.release()
		for _, rec := range recs {
			if parallel {
				err = cw.WriteBuffered(rec)
			} else {
				err = fw.WriteBuffered(rec)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, rows := range []int64{1000, 4096} {
		want := write(rows, false)
		for _, procs := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("row_group_rows=%d/GOMAXPROCS=%d", rows, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				if got := write(rows, true); !bytes.Equal(got, want) {
					t.Errorf("file differs from WriteBuffered's (%d bytes, want %d)", len(got), len(want))
				}
			})
		}
	}
}
