package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"retain/engine"
	"retain/night"
	"retain/stages/internal/input"
)

// readParquet reads a file by row groups, several decoding at once (see
// parquetDecoder), and holds every row group to the row count its footer
// declares. Arrow's reader ends a column
// quietly when a page header does not decode, so a corrupt file would
// otherwise read as fewer rows, or none, without an error.
func (r *reader) readParquet(ctx context.Context, f *plannedFile, out engine.Emitter) (int64, error) {
	decode, done, err := r.parquetDecoder(ctx, f, r.prepareShared(f))
	if err != nil {
		return 0, err
	}
	defer done()
	return r.stream(ctx, f, decode, out)
}

// decodeWorkers is how many row groups of a file decode at once, one per
// core of the machine the job is sized for. Each worker holds one row group
// at most, decoded or being decoded, until the stage has taken it, which
// bounds what the parallelism costs in memory.
const decodeWorkers = 2

// parquetSource is one open handle on a Parquet file. Every worker decodes
// through a source of its own, so no reader state, buffers or file offsets
// are shared between goroutines.
type parquetSource struct {
	pr   *file.Reader
	fr   *pqarrow.FileReader
	fh   *os.File
	size int64
}

// openParquetSource opens path; the caller closes the source. opts are
// the Parquet reader's.
func openParquetSource(path string, mem memory.Allocator, opts ...file.ReadOption) (*parquetSource, error) {
	s := &parquetSource{}
	if err := guard(func() (err error) {
		s.pr, err = file.OpenParquetFile(path, false, opts...)
		return pathless(err)
	}); err != nil {
		return nil, unreadable("not a readable Parquet file", err)
	}
	// Parallel: false keeps every decoding call on the worker's goroutine,
	// where guard can recover its panics; with Parallel: true Arrow decodes
	// each column on a goroutine of its own, beyond any recover.
	if err := guard(func() (err error) {
		s.fr, err = pqarrow.NewFileReader(s.pr, pqarrow.ArrowReadProperties{BatchSize: input.BatchRows}, mem)
		return err
	}); err != nil {
		s.close()
		return nil, unreadable("not a readable Parquet file", err)
	}
	fh, err := os.Open(path)
	if err != nil {
		s.close()
		return nil, pathless(err)
	}
	s.fh = fh
	st, err := fh.Stat()
	if err != nil {
		s.close()
		return nil, pathless(err)
	}
	s.size = st.Size()
	return s, nil
}

// readDict makes the source's Arrow reader read the given leaves as
// dictionary arrays (see dictionaryLeaves).
func (s *parquetSource) readDict(leaves []int, mem memory.Allocator) error {
	props := pqarrow.ArrowReadProperties{BatchSize: input.BatchRows}
	for _, leaf := range leaves {
		props.SetReadDict(leaf, true)
	}
	return guard(func() (err error) {
		fr, err := pqarrow.NewFileReader(s.pr, props, mem)
		if err != nil {
			return unreadable("not a readable Parquet file", err)
		}
		s.fr = fr
		return nil
	})
}

func (s *parquetSource) close() {
	if s.fh != nil {
		s.fh.Close()
	}
	guard(s.pr.Close)
}

// parquetDecoder opens a file for reading f.columns, checked as readParquet
// says; done closes it. The decoder reads up to decodeWorkers row groups at
// once and hands their batches on in file order, each row group's as a
// sequential read cuts them, so what the stage sees does not depend on the
// number of workers. prepare, unless nil, is called on each batch on the
// worker that decoded it, so work that needs nothing but the batch runs
// beside the decoding instead of on the goroutine the batches flow through.
func (r *reader) parquetDecoder(ctx context.Context, f *plannedFile, prepare func(*batch)) (decode decoder, done func(), err error) {
	first, err := openParquetSource(f.path, r.rc.Mem)
	if err != nil {
		return nil, nil, err
	}
	sources := []*parquetSource{first}
	closeAll := func() {
		for _, s := range sources {
			s.close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	pr := first.pr
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
	dict := dictionaryLeaves(pr, first.fr, leaves)
	if len(dict) > 0 {
		if err := first.readDict(dict, r.rc.Mem); err != nil {
			return nil, nil, err
		}
	}
	for len(sources) < min(r.workers, pr.NumRowGroups()) {
		s, err := openParquetSource(f.path, r.rc.Mem)
		if err != nil {
			return nil, nil, err
		}
		sources = append(sources, s)
		if len(dict) > 0 {
			if err := s.readDict(dict, r.rc.Mem); err != nil {
				return nil, nil, err
			}
		}
	}
	return func(send func(batch) bool) error {
		return decodeRowGroups(ctx, sources, f, leaves, r.rc.Mem, prepare, send)
	}, closeAll, nil
}

// rowGroup is a row group a worker decodes: its batches in order and, once
// batches is closed, how the decoding ended.
type rowGroup struct {
	index int
	// first is the file's data row the row group starts at.
	first int64
	// source is the worker's, free again once the stage has taken every
	// batch.
	source  int
	batches chan batch
	// stopped says the stage stopped listening; err is the row group's
	// failure, named as a sequential read names it.
	stopped bool
	err     error
}

// maxQueuedBatches caps a row group's batch queue, which is sized to hold
// a whole row group so that a worker decodes on while the stage is still
// taking the previous one; the cap keeps a corrupt footer's row count from
// sizing it. A worker with a full queue waits.
const maxQueuedBatches = 256

// decodeRowGroups decodes the row groups of a file on one worker per
// source, and sends their batches in file order on the calling goroutine.
// A row group whose decoding failed ends the read at its place in the
// file, after the batches before it, as a sequential read would; the rows
// of any later one being decoded are dropped.
func decodeRowGroups(ctx context.Context, sources []*parquetSource, f *plannedFile, leaves []int, mem memory.Allocator, prepare func(*batch), send func(batch) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	md := sources[0].pr.MetaData()
	free := make(chan int, len(sources))
	for i := range sources {
		free <- i
	}
	// Every row group in the queue, and the one being taken, holds a
	// source, so the queue never holds more than there are sources.
	queue := make(chan *rowGroup, len(sources))
	var wg sync.WaitGroup
	var taking *rowGroup
	defer func() {
		cancel()
		wg.Wait()
		if taking != nil {
			for b := range taking.batches {
				b.release()
			}
		}
		for g := range queue {
			for b := range g.batches {
				b.release()
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		first := int64(1)
		for rg := range sources[0].pr.NumRowGroups() {
			g := &rowGroup{index: rg, first: first}
			rows := md.RowGroup(rg).NumRows()
			first += rows
			select {
			case g.source = <-free:
			case <-ctx.Done():
				return
			}
			g.batches = make(chan batch, max(1, min(maxQueuedBatches, (rows+input.BatchRows-1)/input.BatchRows)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(g.batches)
				g.decode(ctx, sources[g.source], f, leaves, mem, prepare)
			}()
			queue <- g
		}
	}()
	for g := range queue {
		taking = g
		for b := range g.batches {
			if !send(b) {
				return nil // the stage stopped listening
			}
		}
		taking = nil
		switch {
		case g.stopped:
			return nil
		case g.err != nil:
			return g.err
		}
		free <- g.source
	}
	return nil
}

// decode reads the row group through s, held to the row count its footer
// declares, into g.batches; it runs on a worker's goroutine, under guard.
func (g *rowGroup) decode(ctx context.Context, s *parquetSource, f *plannedFile, leaves []int, mem memory.Allocator, prepare func(*batch)) {
	send := func(b batch) bool {
		if prepare != nil {
			prepare(&b)
		}
		select {
		case g.batches <- b:
			return true
		case <-ctx.Done():
			b.release()
			return false
		}
	}
	var n int64
	err := guard(func() (err error) {
		if err := checkPages(s.fh, s.size, s.pr.MetaData(), g.index, leaves); err != nil {
			return unreadable("", err)
		}
		n, err = readRowGroup(ctx, s.fr, leaves, g.index, g.first, send, mem)
		return err
	})
	switch want := s.pr.MetaData().RowGroup(g.index).NumRows(); {
	case err != nil:
		g.err = fmt.Errorf("row group %d: %w", g.index, err)
	case n < 0:
		g.stopped = true
	case n != want:
		g.err = fmt.Errorf("%w: row group %d: read %d of the %d rows the footer declares%s",
			ErrUnreadable, g.index, n, want, pageError(s.pr, g.index, f, leaves))
	}
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
		plain := plainStrings(rec, mem)
		if plain != nil {
			rec = plain
		}
		switch {
		case int96 != nil:
			rec, err = withInt96(rec, int96, n, mem)
			if plain != nil {
				plain.Release()
			}
			if err != nil {
				return n, err
			}
		case plain == nil:
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
