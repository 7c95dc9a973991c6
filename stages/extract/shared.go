package extract

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/ids"
	"retain/stages/internal/quarantine"
)

// findShared reads the order_id column of every file, and only that
// column, and returns the fingerprints of the ids (trimmed, non-blank) that
// more than one row has, so each batch can say which of its rows share an
// id with another row anywhere in the input (input.SharedOrderID). Two ids
// with one fingerprint are both called shared, which only makes validation
// hold their rows to the end; it tells them apart by the ids themselves.
// The set of every id is dropped before the rows are read; the set of
// shared ones is kept, which is small unless duplicates are common.
func (r *reader) findShared(ctx context.Context) (*fingerprint.Set, error) {
	start := time.Now()
	all := fingerprint.NewSetFor(int(r.parquetRows))
	var rows int64
	visit := func(keys []uint64, n int) {
		for k, key := range keys {
			if k%256 == 0 {
				all.Touch(keys[k:min(k+256, len(keys))])
			}
			if !all.AddKey(key, 0) {
				all.MarkKey(key, fingerprint.FlagA)
			}
		}
		rows += int64(n)
	}
	for i := range r.files {
		f := &r.files[i]
		if f.empty {
			continue
		}
		if err := r.scanOrderIDs(ctx, f, visit); err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	shared := all.Keep(fingerprint.FlagA)
	r.orderIDs = all.Len()
	r.rc.Log.Info().Str("stage", "extract").Str("input", r.where).Int64("rows", rows).Int("order_ids", all.Len()).Int("shared_order_ids", shared.Len()).
		Dur("took", time.Since(start)).Msg("order ids shared by several rows found")
	return shared, nil
}

// orderKeys appends the fingerprints of a's order ids, trimmed, to keys,
// leaving out null and blank ones.
func orderKeys(a arrow.Array, keys []uint64) []uint64 {
	var trimmed int64 // counted by validate, which trims them too
	for i := range a.Len() {
		id, ok := quarantine.RawText(a, i)
		if id = ids.Trim(id, &trimmed); ok && id != "" {
			keys = append(keys, fingerprint.Key(id))
		}
	}
	return keys
}

// scanOrderIDs hands visit the fingerprints of a file's order ids (see
// orderKeys) and the rows they came from, a batch at a time. A Parquet
// file's ids are read straight from their pages (see scanOrderIDKeys);
// where that fails, or the column is not plain strings, the Arrow reader's
// workers compute them beside the decoding.
func (r *reader) scanOrderIDs(ctx context.Context, f *plannedFile, visit func(keys []uint64, rows int)) error {
	only := *f
	only.columns = nil
	for _, c := range f.columns {
		if c.canonical == "order_id" {
			only.columns = []column{c}
		}
	}
	if len(only.columns) == 0 {
		return nil // a file without rows has no column to map
	}
	// Checked, and its panics recovered, as when every column is read.
	var keys []uint64
	send := func(b batch) bool {
		switch {
		case b.keys != nil:
			visit(b.keys, int(b.rec.NumRows()))
		case b.rec != nil:
			keys = orderKeys(b.rec.Column(0), keys[:0])
			visit(keys, int(b.rec.NumRows()))
		}
		b.release()
		return ctx.Err() == nil
	}
	if f.format != "csv" {
		handed, err := scanOrderIDKeys(ctx, f.path, only.columns[0].source, r.workers, visit)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		// The Arrow reader takes over after the rows the direct scan
		// handed over (whole row groups, which its batches never straddle),
		// and names the failure as a full read does.
		inner := send
		send = func(b batch) bool {
			if handed > 0 && b.rec != nil {
				handed -= b.rec.NumRows()
				b.release()
				return ctx.Err() == nil
			}
			return inner(b)
		}
		prepare := func(b *batch) {
			if b.rec != nil {
				b.keys = orderKeys(b.rec.Column(0), make([]uint64, 0, b.rec.NumRows()))
			}
		}
		decode, done, err := r.parquetDecoder(ctx, &only, prepare)
		if err != nil {
			return err
		}
		defer done()
		err = guard(func() error { return decode(send) })
		if err != nil {
			return err
		}
		return ctx.Err() // the decoder stops quietly when told to
	}
	cf, err := openCSV(f.path, r.src)
	if err != nil {
		return err
	}
	defer cf.Close()
	if err := guard(func() error { return r.csvDecoder(cf, &only)(send) }); err != nil {
		return err
	}
	return ctx.Err()
}

// prepareShared computes each batch's input.SharedOrderID column on the
// decoder's worker; nil for inputs other than orders, which have none.
func (r *reader) prepareShared(f *plannedFile) func(*batch) {
	if r.table != schemas.RawOrders {
		return nil
	}
	i := slices.IndexFunc(f.columns, func(c column) bool { return c.canonical == "order_id" })
	if i < 0 {
		return nil
	}
	source := f.columns[i].source
	return func(b *batch) {
		if b.rec == nil {
			return
		}
		// A missing column is emitBatch's to report.
		if idx := b.rec.Schema().FieldIndices(source); len(idx) > 0 {
			b.shared = r.sharedColumn(b.rec.Column(idx[0]))
		}
	}
}

// sharedColumn is the input.SharedOrderID column of a batch whose order
// ids are idCol. The keys are computed a block at a time and their slots
// read ahead of the probes (see fingerprint.Set.Touch): a set of many
// shared ids lives outside the caches, and one probe at a time would wait
// out a memory round trip per row.
func (r *reader) sharedColumn(idCol arrow.Array) arrow.Array {
	b := array.NewBooleanBuilder(r.rc.Mem)
	defer b.Release()
	n := idCol.Len()
	b.Reserve(n)
	if r.shared == nil || r.shared.Len() == 0 {
		for range n {
			b.UnsafeAppend(false)
		}
		return b.NewArray()
	}
	const block = 256
	var keys [block]uint64 // 0 for a null or blank id, which no member is
	var trimmed int64      // counted by validate
	for start := 0; start < n; start += block {
		end := min(start+block, n)
		for i := start; i < end; i++ {
			id, ok := quarantine.RawText(idCol, i)
			id = ids.Trim(id, &trimmed)
			keys[i-start] = 0
			if ok && id != "" {
				keys[i-start] = fingerprint.Key(id)
			}
		}
		r.shared.Prefetch(keys[:end-start])
		for _, k := range keys[:end-start] {
			b.UnsafeAppend(k != 0 && r.shared.HasKey(k))
		}
	}
	return b.NewArray()
}
