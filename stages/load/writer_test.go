package load

import (
	"errors"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// errDiskFull stands in for the disk filling up under a table's file.
var errDiskFull = errors.New("no space left on device")

// failingWriter takes the first ok bytes (the file's magic number), then
// fails every write.
type failingWriter struct{ ok int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.ok {
		f.ok -= len(p)
		return len(p), nil
	}
	return 0, errDiskFull
}

// TestWriterFailsPromptly: once a table's file cannot be written, the next
// batches offered return the error within a queue's length, instead of the
// run reading its whole input before Finish reports it.
func TestWriterFailsPromptly(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	// Row groups smaller than a batch: every batch is flushed, so the first
	// write after the magic number fails.
	sink := &stickyWriter{w: &failingWriter{ok: 4}}
	fw, err := newFileWriter(schema, sink, 1024, mem)
	if err != nil {
		t.Fatal(err)
	}
	w := &tableWriter{table: "t", fw: fw, cols: newColumnWriter(fw, schema, arrowProperties(mem), 1024), sink: sink, recs: make(chan arrow.Record, queuedBatches), done: make(chan struct{}), failed: make(chan struct{})}
	go w.run()
	b := array.NewInt64Builder(mem)
	defer b.Release()
	failedAt := 0
	for i := 1; i <= 100 && failedAt == 0; i++ {
		for v := 0; v < 10_000; v++ {
			b.Append(int64(i*v + v*v))
		}
		col := b.NewArray()
		rec := array.NewRecord(schema, []arrow.Array{col}, int64(col.Len()))
		col.Release()
		if err := w.offer(rec); err != nil {
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("batch %d: %v, want the write error", i, err)
			}
			failedAt = i
		}
		rec.Release()
		if failedAt == 0 {
			// Let the writer's goroutine take the batch, as the stages
			// feeding it would between two batches.
			for len(w.recs) > 0 {
			}
		}
	}
	close(w.recs)
	<-w.done
	if err := guard(fw.Close); err == nil {
		t.Error("closing a file that cannot be written succeeded")
	}
	if failedAt == 0 || failedAt > queuedBatches+2 {
		t.Fatalf("write error seen at batch %d, want within %d", failedAt, queuedBatches+2)
	}
}

// TestWriterPanicIsAnError: the Parquet writer panics when even its magic
// number cannot be written; guard makes that an error.
func TestWriterPanicIsAnError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	err := guard(func() error {
		_, err := newFileWriter(schema, &failingWriter{}, 1, mem)
		return err
	})
	if err == nil {
		t.Fatal("no error from a writer that cannot write")
	}
}
