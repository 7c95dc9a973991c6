package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/pipeline"
)

// readParquet reads a file one row group at a time and holds every row
// group to the row count its footer declares. Arrow's reader ends a column
// quietly when a page header does not decode, so a corrupt file would
// otherwise read as fewer rows, or none, without an error.
func (r *reader) readParquet(ctx context.Context, f *plannedFile, out pipeline.Emitter) (int64, error) {
	var pr *file.Reader
	if err := guard(func() (err error) {
		pr, err = file.OpenParquetFile(f.path, false)
		return err
	}); err != nil {
		return 0, unreadable("not a readable Parquet file", err)
	}
	defer guard(pr.Close)
	md := pr.MetaData()
	var declared int64
	for rg := range pr.NumRowGroups() {
		declared += md.RowGroup(rg).NumRows()
	}
	if declared != md.NumRows {
		return 0, fmt.Errorf("%w: the footer declares %d rows but its %d row groups declare %d", ErrUnreadable, md.NumRows, pr.NumRowGroups(), declared)
	}
	leaves := make([]int, len(f.columns))
	for i, c := range f.columns {
		leaves[i] = md.Schema.ColumnIndexByName(c.source)
		if leaves[i] < 0 {
			return 0, fmt.Errorf("%w: column %q is not a flat column", ErrInputSchema, c.source)
		}
	}
	// Parallel: false keeps every decoding call on the stream's goroutine,
	// where guard can recover its panics; with Parallel: true Arrow decodes
	// each column on a goroutine of its own, beyond any recover.
	var fr *pqarrow.FileReader
	if err := guard(func() (err error) {
		fr, err = pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: BatchRows}, r.rc.Mem)
		return err
	}); err != nil {
		return 0, unreadable("not a readable Parquet file", err)
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return 0, err
	}
	var read int64
	for rg := range pr.NumRowGroups() {
		want := md.RowGroup(rg).NumRows()
		if err := guard(func() error { return checkPages(fh, st.Size(), md, rg, leaves) }); err != nil {
			return read, fmt.Errorf("row group %d: %w", rg, unreadable("", err))
		}
		n, err := r.stream(ctx, f, fmt.Sprintf("row group %d", rg), rowGroupDecoder(ctx, fr, leaves, rg, read+1), out)
		if err != nil {
			return read + n, err
		}
		if n != want {
			return read + n, fmt.Errorf("%w: row group %d: read %d of the %d rows the footer declares%s",
				ErrUnreadable, rg, n, want, pageError(pr, rg, f, leaves))
		}
		read += n
	}
	return read, nil
}

// rowGroupDecoder reads row group rg, whose first row is data row firstRow
// of the file.
func rowGroupDecoder(ctx context.Context, fr *pqarrow.FileReader, leaves []int, rg int, firstRow int64) decoder {
	return func(send func(batch) bool) error {
		rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
		if err != nil {
			return unreadable("", err)
		}
		defer rr.Release()
		for rr.Next() {
			rec := rr.Record()
			rec.Retain()
			n := rec.NumRows()
			if !send(batch{rec: rec, firstRow: firstRow}) {
				return nil
			}
			firstRow += n
		}
		// Arrow reports the end of a column as io.EOF; a column that ended
		// early shows in the row count instead.
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return unreadable("", err)
		}
		return nil
	}
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
