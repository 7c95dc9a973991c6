package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"retain/engine"
	"retain/night"
	"retain/stages/internal/input"
)

// readParquet reads a file one row group at a time and holds every row
// group to the row count its footer declares. Arrow's reader ends a column
// quietly when a page header does not decode, so a corrupt file would
// otherwise read as fewer rows, or none, without an error.
func (r *reader) readParquet(ctx context.Context, f *plannedFile, out engine.Emitter) (int64, error) {
	decode, done, err := r.parquetDecoder(ctx, f)
	if err != nil {
		return 0, err
	}
	defer done()
	return r.stream(ctx, f, decode, out)
}

// parquetDecoder opens a file for reading f.columns, checked as readParquet
// says; done closes it.
func (r *reader) parquetDecoder(ctx context.Context, f *plannedFile) (decode decoder, done func(), err error) {
	var pr *file.Reader
	if err := guard(func() (err error) {
		pr, err = file.OpenParquetFile(f.path, false)
		return pathless(err)
	}); err != nil {
		return nil, nil, unreadable("not a readable Parquet file", err)
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	closers = append(closers, func() { guard(pr.Close) })
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	md := pr.MetaData()
	var declared int64
	for rg := range pr.NumRowGroups() {
		declared += md.RowGroup(rg).NumRows()
	}
	if declared != md.NumRows {
		return nil, nil, fmt.Errorf("%w: the footer declares %d rows but its %d row groups declare %d", ErrUnreadable, md.NumRows, pr.NumRowGroups(), declared)
	}
	leaves := make([]int, len(f.columns))
	for i, c := range f.columns {
		leaves[i] = md.Schema.ColumnIndexByName(c.source)
		if leaves[i] < 0 {
			return nil, nil, fmt.Errorf("%w: column %q is not a flat column", night.ErrInputSchema, c.source)
		}
	}
	// Parallel: false keeps every decoding call on the stream's goroutine,
	// where guard can recover its panics; with Parallel: true Arrow decodes
	// each column on a goroutine of its own, beyond any recover.
	var fr *pqarrow.FileReader
	if err := guard(func() (err error) {
		fr, err = pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: input.BatchRows}, r.rc.Mem)
		return err
	}); err != nil {
		return nil, nil, unreadable("not a readable Parquet file", err)
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, nil, pathless(err)
	}
	closers = append(closers, func() { fh.Close() })
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, pathless(err)
	}
	return func(send func(batch) bool) error {
		first := int64(1)
		for rg := range pr.NumRowGroups() {
			var n int64
			err := guard(func() (err error) {
				if err := checkPages(fh, st.Size(), md, rg, leaves); err != nil {
					return unreadable("", err)
				}
				n, err = readRowGroup(ctx, fr, leaves, rg, first, send, r.rc.Mem)
				return err
			})
			switch want := md.RowGroup(rg).NumRows(); {
			case err != nil:
				return fmt.Errorf("row group %d: %w", rg, err)
			case n < 0:
				return nil // the stage stopped listening
			case n != want:
				return fmt.Errorf("%w: row group %d: read %d of the %d rows the footer declares%s",
					ErrUnreadable, rg, n, want, pageError(pr, rg, f, leaves))
			}
			first += n
		}
		return nil
	}, closeAll, nil
}

// readRowGroup sends row group rg, whose first row is data row first of
// the file, and returns its rows, or -1 when send says the stage stopped.
func readRowGroup(ctx context.Context, fr *pqarrow.FileReader, leaves []int, rg int, first int64, send func(batch) bool, mem memory.Allocator) (int64, error) {
	rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
	if err != nil {
		return 0, unreadable("", err)
	}
	defer rr.Release()
	int96, err := int96Columns(fr.ParquetReader(), rg, leaves)
	if err != nil {
		return 0, unreadable("", err)
	}
	var n int64
	for rr.Next() {
		rec := rr.Record()
		if int96 != nil {
			if rec, err = withInt96(rec, int96, n, mem); err != nil {
				return n, err
			}
		} else {
			rec.Retain()
		}
		rows := rec.NumRows()
		if !send(batch{rec: rec, firstRow: first + n}) {
			return -1, nil
		}
		n += rows
	}
	// Arrow reports the end of a column as io.EOF; a column that ended
	// early shows in the row count instead.
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return n, unreadable("", err)
	}
	return n, nil
}

// pageError looks for why a row group came up short: the first page of
// its columns that does not read, as " (column x: reason)".
func pageError(pr *file.Reader, rg int, f *plannedFile, leaves []int) string {
	for i, leaf := range leaves {
		err := guard(func() error {
			pages, err := pr.RowGroup(rg).GetColumnPageReader(leaf)
			if err != nil {
				return err
			}
			for pages.Next() {
			}
			return pages.Err()
		})
		if err != nil {
			return fmt.Sprintf(" (column %q: %v)", f.columns[i].source, err)
		}
	}
	return ""
}

// unreadable wraps a decoder's error in ErrUnreadable once.
func unreadable(what string, err error) error {
	switch {
	case errors.Is(err, ErrUnreadable):
		return err
	case what == "":
		return fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreadable, what, err)
}
