package extract

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/ids"
)

// errNoDirectScan says a file's order ids are not a plain string column,
// which only the Arrow reader turns into the text validation sees.
var errNoDirectScan = errors.New("order ids are not a flat string column")

// keysBatch is how many order ids scanOrderIDKeys decodes at a time.
const keysBatch = 8 << 10

// scanOrderIDKeys hands visit the fingerprints of a Parquet file's order
// ids as orderKeys computes them, one row group at a time in file order,
// decoding the column straight from its pages. The pass over the order ids
// needs nothing but their bytes, and Arrow's reader would copy every id into
// an array first: for the longest column of the file that copy is most of
// the pass.
//
// It returns the rows of the row groups it handed over. An error leaves the
// rest to the Arrow reader, which fails where a full read fails, with the
// same words; the ids of a row group that did not decode in full are never
// handed over. errNoDirectScan, before any row group, says the column's
// text is not its bytes.
func scanOrderIDKeys(ctx context.Context, path, source string, workers int, visit func(keys []uint64, rows int)) (handed int64, err error) {
	open := func() (*parquetSource, error) {
		// The ids of a batch may span pages. Pages the Go allocator holds
		// are never reused while anything points into them, so every id
		// stays valid until it is hashed.
		mem := memory.NewGoAllocator()
		return openParquetSource(path, mem, file.WithReadProps(parquet.NewReaderProperties(mem)))
	}
	first, err := open()
	if err != nil {
		return 0, err
	}
	sources := []*parquetSource{first}
	defer func() {
		for _, s := range sources {
			s.close()
		}
	}()
	md := first.pr.MetaData()
	leaf := md.Schema.ColumnIndexByName(source)
	if leaf < 0 || md.Schema.Column(leaf).PhysicalType() != parquet.Types.ByteArray || md.Schema.Column(leaf).MaxRepetitionLevel() != 0 {
		return 0, errNoDirectScan
	}
	sc, err := first.fr.Schema()
	if err != nil {
		return 0, err
	}
	idx := sc.FieldIndices(source)
	if len(idx) != 1 || sc.Field(idx[0]).Type.ID() != arrow.STRING {
		return 0, errNoDirectScan
	}
	rowGroups := first.pr.NumRowGroups()
	for len(sources) < min(workers, rowGroups) {
		s, err := open()
		if err != nil {
			return 0, err
		}
		sources = append(sources, s)
	}

	ctx, cancel := context.WithCancel(ctx)
	type job struct {
		source int
		keys   []uint64
		rows   int64
		err    error
		done   chan struct{}
	}
	free := make(chan int, len(sources))
	for i := range sources {
		free <- i
	}
	queue := make(chan *job, len(sources))
	go func() {
		defer close(queue)
		for rg := range rowGroups {
			j := &job{done: make(chan struct{})}
			select {
			case j.source = <-free:
			case <-ctx.Done():
				return
			}
			go func() {
				defer close(j.done)
				j.err = guard(func() (err error) {
					j.keys, j.rows, err = rowGroupKeys(ctx, sources[j.source], rg, leaf)
					return err
				})
			}()
			queue <- j
		}
	}()
	defer func() {
		cancel()
		for j := range queue {
			<-j.done
		}
	}()
	for j := range queue {
		<-j.done
		if j.err != nil {
			return handed, j.err
		}
		if err := ctx.Err(); err != nil {
			return handed, err
		}
		visit(j.keys, int(j.rows))
		handed += j.rows
		free <- j.source
	}
	return handed, nil
}

// rowGroupKeys decodes row group rg's order ids, held to the row count the
// footer declares as a full read holds them.
func rowGroupKeys(ctx context.Context, s *parquetSource, rg, leaf int) ([]uint64, int64, error) {
	md := s.pr.MetaData()
	if err := checkPages(s.fh, s.size, md, rg, []int{leaf}); err != nil {
		return nil, 0, err
	}
	cr, err := s.pr.RowGroup(rg).Column(leaf)
	if err != nil {
		return nil, 0, err
	}
	col, ok := cr.(*file.ByteArrayColumnChunkReader)
	if !ok {
		return nil, 0, errNoDirectScan
	}
	want := md.RowGroup(rg).NumRows()
	// The footer's count only hints the size: a corrupt one must not.
	keys := make([]uint64, 0, min(max(want, 0), 1<<20))
	vals := make([]parquet.ByteArray, keysBatch)
	var defs []int16
	if col.Descriptor().MaxDefinitionLevel() > 0 {
		defs = make([]int16, keysBatch)
	}
	var rows, trimmed int64 // trimmed ids are counted by validate
	for col.HasNext() {
		total, n, err := col.ReadBatch(keysBatch, vals, defs, nil)
		if err != nil {
			return nil, 0, err
		}
		if total == 0 {
			break
		}
		rows += total
		for _, v := range vals[:n] {
			if len(v) == 0 {
				continue
			}
			if id := ids.Trim(unsafe.String(&v[0], len(v)), &trimmed); id != "" {
				keys = append(keys, fingerprint.Key(id))
			}
		}
		clear(vals[:n]) // they point into the pages
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
	}
	if rows != want {
		return nil, 0, fmt.Errorf("%w: read %d of the %d rows", ErrUnreadable, rows, want)
	}
	return keys, rows, nil
}
