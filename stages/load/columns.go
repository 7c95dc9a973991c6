package load

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// The last table a run emits (customer_segments) is encoded while little
// else is left to do, and Arrow's writer encodes and compresses a row
// group's columns one after another on one goroutine: the run's last
// seconds used one core of two. In a buffered row group every column has
// a page writer, buffer, statistics and metadata builder of its own, and
// a column's pages depend on its own values alone, so columns can be
// encoded at once and the file is the one writing them in turn gives
// (TestColumnsWriteArrowsBytes). pqarrow.FileWriter offers no way to
// address a column but its next one, and its scratch buffers sit in one
// context; columnWriter drives copies of it, one per goroutine, each with
// a write context of its own, and steps a copy over the columns other
// goroutines write by writing them zero rows, which touches nothing.

// errWriterLayout says the Parquet writer no longer has the field
// columnWriter gives each copy its own context through (a new Arrow
// release): the columns are then written one after another, and
// TestColumnsInParallel fails.
var errWriterLayout = errors.New("pqarrow.FileWriter has no ctx field")

// ctxField is the offset of pqarrow.FileWriter's write context.
var ctxField = sync.OnceValues(func() (uintptr, error) {
	f, ok := reflect.TypeOf(pqarrow.FileWriter{}).FieldByName("ctx")
	if !ok || f.Type != reflect.TypeOf((*context.Context)(nil)).Elem() {
		return 0, errWriterLayout
	}
	return f.Offset, nil
})

// columnWriter writes records as pqarrow.FileWriter.WriteBuffered does,
// with each row group's columns encoded on up to GOMAXPROCS goroutines.
type columnWriter struct {
	fw      *pqarrow.FileWriter
	schema  *arrow.Schema
	props   pqarrow.ArrowWriterProperties
	maxRows int64
	// open says whether fw has a row group being filled.
	open bool
	// none are a zero-length column per field, to step over it.
	none []*arrow.Chunked
}

func newColumnWriter(fw *pqarrow.FileWriter, schema *arrow.Schema, props pqarrow.ArrowWriterProperties, maxRows int64) *columnWriter {
	w := &columnWriter{fw: fw, schema: schema, props: props, maxRows: maxRows}
	for _, f := range schema.Fields() {
		w.none = append(w.none, arrow.NewChunked(f.Type, nil))
	}
	return w
}

// release lets go of the zero-length columns.
func (w *columnWriter) release() {
	for _, c := range w.none {
		c.Release()
	}
	w.none = nil
}

// WriteBuffered appends rec to the row group being filled, starting a new
// one each time MaxRowGroupLength rows are reached, as
// pqarrow.FileWriter.WriteBuffered does.
func (w *columnWriter) WriteBuffered(rec arrow.Record) error {
	if !rec.Schema().Equal(w.schema) {
		return fmt.Errorf("record schema does not match writer's. \nrecord: %s\nwriter: %s", rec.Schema(), w.schema)
	}
	var cur int64
	if w.open {
		n, err := w.fw.RowGroupNumRows()
		if err != nil {
			return err
		}
		cur = int64(n)
	} else {
		w.fw.NewBufferedRowGroup()
		w.open = true
	}
	// The parts WriteBuffered cuts: what fits the current row group, then
	// whole row groups.
	ends := []int64{rec.NumRows()}
	if cur+rec.NumRows() > w.maxRows {
		ends = ends[:0]
		for end := w.maxRows - cur; ; end += w.maxRows {
			ends = append(ends, min(end, rec.NumRows()))
			if end >= rec.NumRows() {
				break
			}
		}
	}
	from := int64(0)
	for i, end := range ends {
		if i > 0 {
			w.fw.NewBufferedRowGroup()
		}
		part := rec.NewSlice(from, end)
		err := w.writeColumns(part)
		part.Release()
		if err != nil {
			return err
		}
		from = end
	}
	return nil
}

// writeColumns writes every column of rec into the current row group. The
// error returned is that of the first column, in schema order, that
// failed, as when they are written in turn.
func (w *columnWriter) writeColumns(rec arrow.Record) error {
	cols := int(rec.NumCols())
	workers := min(runtime.GOMAXPROCS(0), cols)
	off, err := ctxField()
	if err != nil {
		workers = 1
	}
	errs := make([]error, cols)
	var next atomic.Int32
	// work writes the columns it takes through its own copy of the
	// writer, whose column index is the copy's alone.
	work := func(fw pqarrow.FileWriter) {
		at := 0 // the column fw writes next
		for {
			i := int(next.Add(1)) - 1
			if i >= cols {
				return
			}
			for ; at < i; at++ {
				// Only the column taken is this goroutine's to report on.
				if err := guard(func() error { return fw.WriteColumnChunked(w.none[at], 0, 0) }); err != nil {
					errs[i] = err
					return
				}
			}
			at++
			if errs[i] = guard(func() error { return fw.WriteColumnData(rec.Column(i)) }); errs[i] != nil {
				return
			}
		}
	}
	if workers == 1 {
		work(*w.fw)
	} else {
		var wg sync.WaitGroup
		for range workers {
			c := *w.fw
			*(*context.Context)(unsafe.Add(unsafe.Pointer(&c), off)) = pqarrow.NewArrowWriteContext(context.Background(), &w.props)
			wg.Add(1)
			go func() {
				defer wg.Done()
				work(c)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
