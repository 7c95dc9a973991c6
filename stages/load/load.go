// Package load is the sink stage: it writes every output table as zstd
// Parquet into the run's staging folder, from which the pipeline commits
// them atomically.
package load

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
	"retain/stages/internal/recovered"
)

// PartName is the file each table partition is written to.
const PartName = "part-00000.parquet"

// Register adds the load stage; it consumes every table in schemas.Outputs.
func Register(r *night.Registry) error {
	TuneArrow()
	var inputs []string
	for _, t := range schemas.Outputs() {
		inputs = append(inputs, t.Name)
	}
	return r.Register(night.Spec{
		Name:   "load",
		Doc:    "Writes every output table as Parquet (zstd, UTC microsecond timestamps, DATE dates, money rounded to the currency's minor unit and named in currency) to <output>/<table>/snapshot_date=<date>/, the date in the folder name only.",
		Inputs: inputs,
		// A table's files are an artifact of the same name, so the commit
		// publishes a table folder exactly when load wrote it.
		Artifacts: inputs,
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			return &loader{rc: rc, writers: map[string]*tableWriter{}}, nil
		},
	}, night.OutputSection, clvconfig.Section)
}

type loader struct {
	engine.BaseStage
	rc      *night.Context
	writers map[string]*tableWriter
	// ending are the writers of complete tables whose files are being
	// closed on a goroutine of their own (see TableDone).
	ending map[string]*ending
}

// ending is a table's file being completed while the run goes on.
type ending struct {
	w    *tableWriter
	done chan struct{}
	err  error // set before done is closed
}

// tableWriter encodes one table on a goroutine of its own: Parquet encoding
// and zstd are a large share of a run's CPU, and this way they overlap with
// the stages still computing instead of adding to them.
type tableWriter struct {
	table string
	file  io.WriteCloser
	buf   *bufio.Writer
	fw    *pqarrow.FileWriter
	// cols writes the batches into fw, a row group's columns at once.
	cols *columnWriter
	recs chan arrow.Record
	done chan struct{}
	// failed is closed at the first write error, so the next batch offered
	// returns it instead of the run reading the rest of its input first.
	failed chan struct{}
	err    error // set by the goroutine before failed or done is closed
	sink   *stickyWriter
	pub    *publisher
}

// stickyWriter keeps the first write error: the Parquet writer drops the
// error of a row group it flushes while starting the next, so a full disk
// would otherwise show only when the file is closed, after the whole input.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

// queuedBatches bounds the batches waiting per table, and so the memory a
// slow disk can hold up.
const queuedBatches = 4

func (w *tableWriter) run() {
	defer close(w.done)
	defer w.cols.release()
	for rec := range w.recs {
		if w.err == nil {
			err := guard(func() error { return w.cols.WriteBuffered(rec) })
			if err == nil {
				err = w.sink.err
			}
			if err != nil {
				w.err = fmt.Errorf("write %s: %w", w.table, err)
				close(w.failed)
			}
		}
		rec.Release() // after a failure, drain so senders never block
	}
}

// guardValue is guard for a function that also returns a value.
func guardValue[T any](fn func() (T, error)) (v T, err error) {
	err = guard(func() error {
		var ferr error
		v, ferr = fn()
		return ferr
	})
	return v, err
}

// guard turns a panic of the Parquet writer, which it raises on some
// failed writes (a full disk), into an error.
func guard(fn func() error) error { return recovered.Call("parquet writer", nil, fn) }

// finish waits for the queued batches and completes the file.
func (w *tableWriter) finish() error {
	close(w.recs)
	<-w.done
	if w.err != nil {
		_ = guard(w.fw.Close)
		w.file.Close()
		return w.err
	}
	return w.close()
}

// WriterProperties are the Parquet settings of every output file: zstd,
// statistics for predicate pushdown in readers, row groups large enough for
// scans yet bounded in writer memory, and no dictionary encoding.
//
// Without dictionaries the footer is a function of the data alone. A
// dictionary chunk whose dictionary outgrows its page limit (1 MiB) goes on
// in PLAIN, and the writer then lists the chunk's two data-page encodings in
// the footer in Go map order (ColumnChunkMetaDataBuilder.Finish in Arrow's
// parquet/metadata), so rewriting the same rows gives other bytes. No limit
// rules that out for text read from the input — a million distinct country
// values outgrow any — and a limit above a row group's data would put every
// distinct value of the group in one page. zstd takes up the repetition
// dictionaries would: the tables come out smaller than with them.
func WriterProperties(rowGroupRows int64) *parquet.WriterProperties {
	return parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithStats(true),
		parquet.WithDictionaryDefault(false),
		parquet.WithCreatedBy("retain"),
	)
}

// newFileWriter is the Parquet writer of every output file. The stored
// Arrow schema carries the column descriptions and the UTC zone of
// timestamps to Arrow-based readers.
func newFileWriter(schema *arrow.Schema, w io.Writer, rowGroupRows int64, mem memory.Allocator) (*pqarrow.FileWriter, error) {
	return pqarrow.NewFileWriter(schema, w, WriterProperties(rowGroupRows), arrowProperties(mem))
}

func arrowProperties(mem memory.Allocator) pqarrow.ArrowWriterProperties {
	return pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
}

func (l *loader) open(table string, out engine.Emitter) (*tableWriter, error) {
	if w, ok := l.writers[table]; ok {
		return w, nil
	}
	t, ok := schemas.LookupFor(table, clvconfig.Layout(l.rc.Job))
	if !ok {
		return nil, fmt.Errorf("table %q is not in schemas.Outputs", table)
	}
	f, err := out.Create(table, PartName)
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	// The sticky writer also hides Close from the Parquet writer, which
	// keeps the file open for the flush and fsync that must follow the footer.
	sink := &stickyWriter{w: buf}
	rowGroupRows := night.OutputSection.Of(l.rc.Job).RowGroupRows
	fw, err := guardValue(func() (*pqarrow.FileWriter, error) {
		return newFileWriter(t.FileSchema(), sink, rowGroupRows, l.rc.Mem)
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	// A table's rows come after validation has seen every order (they are
	// folded from them), so the night's currency is settled by the time
	// its first batch opens the file.
	pub := newPublisher(t, l.rc.Currency(), l.rc.Mem)
	cols := newColumnWriter(fw, t.FileSchema(), arrowProperties(l.rc.Mem), rowGroupRows)
	w := &tableWriter{table: table, file: f, buf: buf, sink: sink, fw: fw, cols: cols, pub: pub, recs: make(chan arrow.Record, queuedBatches), done: make(chan struct{}), failed: make(chan struct{})}
	go w.run()
	l.writers[table] = w
	return w, nil
}

func (l *loader) Process(_ context.Context, table string, rec arrow.Record, out engine.Emitter) error {
	if err := checkValues(table, rec); err != nil {
		return err
	}
	w, err := l.open(table, out)
	if err != nil {
		return err
	}
	pub, err := w.pub.record(rec)
	if err != nil {
		return err
	}
	defer pub.Release()
	return w.offer(pub)
}

// offer queues rec for the writer's goroutine, or returns its error.
func (w *tableWriter) offer(rec arrow.Record) error {
	select {
	case <-w.failed:
		return w.err
	default:
	}
	rec.Retain()
	w.recs <- rec
	return nil
}

// TableDone starts completing the file of a table whose every producer has
// finished: a writer holds its last row group's pages and a page buffer
// per column until the file is closed, and the tables made early
// (customer_summary, say) would otherwise hold theirs through every later
// stage. A table without rows so far is left to Finish, which writes it
// empty. The file's bytes are those Finish would write.
func (l *loader) TableDone(_ context.Context, table string, _ engine.Emitter) error {
	if w, ok := l.writers[table]; ok {
		l.end(w)
	}
	return nil
}

// end completes w's file on a goroutine of its own.
func (l *loader) end(w *tableWriter) *ending {
	delete(l.writers, w.table)
	e := &ending{w: w, done: make(chan struct{})}
	if l.ending == nil {
		l.ending = map[string]*ending{}
	}
	l.ending[w.table] = e
	go func() {
		defer close(e.done)
		e.err = w.finish()
	}()
	return e
}

// Finish completes every file, writing empty tables too, so a table with no
// rows today is an empty partition rather than a missing one. The files
// still open complete at once, each on a goroutine of its own: closing a
// file encodes and compresses its last row group's remaining pages and
// syncs it, and one table after another would leave a core idle. Each
// file's bytes are what closing them in turn writes; the error reported is
// that of the first table, in schema order, that failed, as when they
// closed in turn.
func (l *loader) Finish(_ context.Context, out engine.Emitter) error {
	tables := schemas.OutputsFor(clvconfig.Layout(l.rc.Job))
	for _, t := range tables {
		if _, ok := l.ending[t.Name]; ok {
			continue
		}
		if _, err := l.open(t.Name, out); err != nil {
			return err
		}
	}
	ends := make([]*ending, 0, len(tables))
	for _, t := range tables {
		e, ok := l.ending[t.Name]
		if !ok {
			e = l.end(l.writers[t.Name])
		}
		ends = append(ends, e)
	}
	for _, e := range ends {
		<-e.done
	}
	l.ending = nil
	for _, e := range ends {
		if e.err != nil {
			return fmt.Errorf("finish %s: %w", e.w.table, e.err)
		}
	}
	return nil
}

func (w *tableWriter) close() error {
	if err := guard(w.fw.Close); err != nil {
		w.file.Close()
		return err
	}
	if err := w.buf.Flush(); err != nil {
		w.file.Close()
		return err
	}
	return w.file.Close()
}

// Close releases writers left open by a failed run; their files are in the
// staging folder, which the pipeline removes.
func (l *loader) Close(context.Context) error {
	for _, e := range l.ending {
		<-e.done
	}
	l.ending = nil
	for _, w := range l.writers {
		close(w.recs)
		<-w.done
		_ = guard(w.fw.Close)
		w.file.Close()
	}
	return nil
}
