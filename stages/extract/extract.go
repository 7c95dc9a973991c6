// Package extract is the source stage: it streams the job's input files
// (Parquet or CSV) as Arrow record batches with canonical column names.
package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/input"
	"retain/stages/internal/quarantine"
	"retain/stages/internal/recovered"
)

// RegisterItems adds the stage that reads input.order_items. The engine
// starts it after validation, since product affinity, which reads its
// batches, needs validation's used orders before the first item. wh reads
// the items when the job file names a BigQuery table (nil: such jobs fail).
func RegisterItems(r *night.Registry, wh input.SideInput) error {
	return r.Register(night.Spec{
		Name:    "extract_items",
		Doc:     "Reads input.order_items (files or a BigQuery table), when configured, after every order has been validated.",
		Outputs: []string{schemas.RawItems, schemas.Quarantine.Name},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			src := night.InputOf(rc.Job).OrderItems
			if src == nil {
				return engine.BaseStage{}, nil
			}
			if src.BigQuery != nil {
				if wh == nil {
					return nil, fmt.Errorf("%w: input.order_items.bigquery", ErrNoWarehouse)
				}
				return &warehouseItems{rc: rc, src: src, read: wh}, nil
			}
			r, err := newReader(rc, night.InputOf(rc.Job).OrderItems, schemas.OrderItems, schemas.OrderItemsRequired)
			if err != nil {
				return nil, sideInput("input.order_items", err)
			}
			r.table, r.acct = schemas.RawItems, rc.Items
			return r, nil
		},
	}, night.InputSection)
}

// warehouseItems reads input.order_items from a warehouse table and emits
// its batches as the file reader does.
type warehouseItems struct {
	engine.BaseStage
	rc   *night.Context
	src  *night.Source
	read input.SideInput
}

// Finish reads the table whole; it holds the items to having rows as the
// file reader does.
func (w *warehouseItems) Finish(ctx context.Context, out engine.Emitter) error {
	var rows int64
	err := w.read(ctx, w.rc, w.src, schemas.OrderItems, schemas.OrderItemsRequired, func(rec arrow.Record) error {
		rows += rec.NumRows()
		if input.AggregateOf(rec) == "" {
			// Rows counted in SQL are added by the reader.
			w.rc.Items.Read += rec.NumRows()
		}
		source, firstRow := input.SourceOf(rec)
		return input.Emit(ctx, out, schemas.RawItems, rec, source, firstRow)
	})
	if err != nil {
		return err // named by the reader
	}
	if used := w.rc.Rows.Used; rows == 0 && used > 0 {
		return fmt.Errorf("%w: input.order_items: bigquery://%s holds no rows while %d orders are used; product_affinity would be empty", ErrNoRows, w.src.BigQuery.Ref(), used)
	}
	return nil
}

// SideInputs returns the input.SideInput a stage reads side inputs with:
// ReadAll for files, wh for a BigQuery table (nil: such jobs fail). Either
// way a side input without rows fails with ErrNoRows.
func SideInputs(wh input.SideInput) input.SideInput {
	return func(ctx context.Context, rc *night.Context, src *night.Source, t schemas.Table, required []string, visit func(arrow.Record) error) error {
		if src.BigQuery == nil {
			return ReadAll(ctx, rc, src, t, required, visit)
		}
		where := "input." + t.Name
		if wh == nil {
			return fmt.Errorf("%w: %s.bigquery", ErrNoWarehouse, where)
		}
		var rows int64
		err := wh(ctx, rc, src, t, required, func(rec arrow.Record) error {
			rows += rec.NumRows()
			return visit(rec)
		})
		if err != nil {
			return err // named by the reader
		}
		if rows == 0 && ctx.Err() == nil {
			return fmt.Errorf("%s: %w: bigquery://%s holds no rows", where, ErrNoRows, src.BigQuery.Ref())
		}
		return nil
	}
}

// sideInput names the side input a reader's error is about, and keeps a
// missing side input from reading as "no orders for this date": without
// its items or rates the night's output would be wrong, so the run fails
// instead of being skipped.
func sideInput(name string, err error) error {
	if errors.Is(err, night.ErrNoInput) {
		return fmt.Errorf("%s: %v", name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ErrNoWarehouse is wrapped when a job reads orders from a warehouse that
// this build of the stage was not given.
var ErrNoWarehouse = errors.New("no warehouse reader")

// Register adds the extract stage; wh reads orders when the job file names a
// BigQuery table (nil: such jobs fail). Only a warehouse reader with
// pushdown emits order_cells.
func Register(r *night.Registry, wh input.Warehouse) error {
	return r.Register(night.Spec{
		Name:    "extract",
		Doc:     "Reads input.orders (Parquet or CSV: a file, folder or glob; or a BigQuery table) and emits its rows with canonical column names.",
		Outputs: []string{schemas.RawOrders, schemas.OrderCells.Name, schemas.Quarantine.Name},
		New: func(ctx context.Context, rc *night.Context) (engine.Stage, error) {
			if night.InputOf(rc.Job).Orders.BigQuery != nil {
				if wh == nil {
					return nil, fmt.Errorf("%w: input.orders.bigquery", ErrNoWarehouse)
				}
				return wh(ctx, rc)
			}
			return newReader(rc, &night.InputOf(rc.Job).Orders, schemas.Orders, schemas.OrdersRequired)
		},
	}, night.InputSection)
}

// column is a canonical column found in a file.
type column struct {
	canonical, source string
	// index is the column's position in a CSV file's header.
	index int
	// typ is set for Parquet timestamps: what their values mean, which the
	// batches are given (see timestampMeaning).
	typ arrow.DataType
}

type plannedFile struct {
	inputFile
	columns []column
	// size is the file's bytes, which progress lines count when rows
	// cannot be known up front.
	size int64
	// empty is a CSV file without even a header: an export that wrote
	// nothing, which holds no rows (and so needs no columns).
	empty bool
	// malformed counts the file's records quarantined as malformed_row;
	// firstMalformed is the line of the first.
	malformed, firstMalformed int64
}

type reader struct {
	engine.BaseStage
	rc *night.Context
	// where names the input in messages (input.orders).
	where    string
	src      *night.Source
	location string
	files    []plannedFile
	// table is what batches are emitted as; only orders count as rows read.
	table string
	// sourceTable is the input's name in the quarantine table.
	sourceTable string
	// acct counts the input's rows that the reader quarantines (malformed
	// CSV records); without it (FX rates) any malformed record fails.
	acct       *night.Accounting
	quarantine *quarantine.Builder
	progress   readProgress
	// shared are the fingerprints of order ids more than one row of the
	// input has (see findShared); orders only.
	shared *fingerprint.Set
	// orderIDs is how many distinct order ids findShared counted, which
	// every orders batch carries (input.MetaOrderIDs).
	orderIDs int
	// workers is how many row groups of a Parquet file decode at once.
	workers int
	// parquetRows is the rows the Parquet files' footers declare, capped
	// at a row a byte of each file so a corrupt footer cannot size
	// anything; it sizes the set of every order id.
	parquetRows int64
}

// newReader resolves the files and checks every file's columns up front, so
// a bad file fails the run before any row is processed. It reads orders;
// callers reading another input set table and acct.
func newReader(rc *night.Context, src *night.Source, t schemas.Table, required []string) (*reader, error) {
	location := src.Path // made absolute when the job file was read
	files, err := resolveFiles(location, src.Format)
	if err != nil {
		return nil, err
	}
	r := &reader{
		rc: rc, where: "input." + t.Name, src: src, location: location, table: schemas.RawOrders,
		sourceTable: t.Name, acct: rc.Rows, workers: decodeWorkers,
	}
	var totalRows, totalBytes int64
	for _, f := range files {
		fields, n, err := fileFields(f, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
		st, err := os.Stat(f.path)
		if err != nil {
			return nil, err
		}
		pf := plannedFile{inputFile: f, size: st.Size(), empty: fields == nil}
		totalBytes += pf.size
		if n < 0 {
			r.progress.byBytes = true
		} else {
			totalRows += n
			r.parquetRows += min(n, pf.size)
		}
		if pf.empty {
			r.files = append(r.files, pf)
			continue
		}
		names := make([]string, len(fields))
		for i, fl := range fields {
			names[i] = fl.Name
		}
		for _, c := range t.Columns {
			source := src.SourceColumn(c.Name)
			i := slices.Index(names, source)
			if i < 0 {
				if slices.Contains(required, c.Name) {
					return nil, input.MissingColumn(f.path, c.Name, source, names)
				}
				continue
			}
			if err := input.CheckType(f.path, c.Name, source, fields[i].Type); err != nil {
				return nil, err
			}
			col := column{canonical: c.Name, source: source, index: i}
			if fields[i].Type.ID() == arrow.TIMESTAMP {
				col.typ = fields[i].Type
			}
			pf.columns = append(pf.columns, col)
		}
		r.files = append(r.files, pf)
	}
	ev := rc.Log.Info().Str("stage", "extract").Str("input", r.where).Int("files", len(files)).Int64("bytes", totalBytes)
	r.progress.total = totalBytes
	if !r.progress.byBytes {
		ev, r.progress.total = ev.Int64("rows", totalRows), totalRows
	}
	ev.Msg("input files checked")
	return r, nil
}

// fileFields reads only a file's schema: the Parquet footer or the CSV
// header; nil for a CSV file without a header. A column name that appears
// twice makes the mapping ambiguous and fails; columns without a name
// (trailing commas of a spreadsheet export) cannot be mapped and may repeat.
// It also returns the rows a Parquet footer declares, -1 for CSV.
func fileFields(f inputFile, src *night.Source) ([]arrow.Field, int64, error) {
	var fields []arrow.Field
	rows := int64(-1)
	if f.format == "csv" {
		cf, err := openCSV(f.path, src)
		if err != nil {
			return nil, rows, err
		}
		defer cf.Close()
		if cf.header == nil {
			return nil, rows, nil
		}
		fields = make([]arrow.Field, len(cf.header))
		for i, h := range cf.header {
			fields[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true}
		}
	} else {
		err := guard(func() error {
			pr, err := file.OpenParquetFile(f.path, false)
			if err != nil {
				return pathless(err)
			}
			defer pr.Close()
			fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, nil)
			if err != nil {
				return err
			}
			sc, err := fr.Schema()
			if err != nil {
				return err
			}
			fields, rows = sc.Fields(), pr.NumRows()
			for i := range fields {
				fields[i].Type = timestampMeaning(pr.MetaData().Schema, fr.Manifest.OriginSchema, fields[i])
				if c := pr.MetaData().Schema.ColumnIndexByName(fields[i].Name); c >= 0 && pr.MetaData().Schema.Column(c).PhysicalType() == parquet.Types.Int96 {
					fields[i].Type = int96Type
				}
			}
			return nil
		})
		if err != nil {
			return nil, rows, fmt.Errorf("%w: not a readable Parquet file: %v", night.ErrInputSchema, err)
		}
	}
	seen := make(map[string]bool, len(fields))
	for _, fl := range fields {
		if seen[fl.Name] && fl.Name != "" {
			return nil, rows, fmt.Errorf("%w: column %q appears twice", night.ErrInputSchema, fl.Name)
		}
		seen[fl.Name] = true
	}
	return fields, rows, nil
}

// Close releases the quarantine rows built for malformed records.
func (r *reader) Close(context.Context) error {
	if r.quarantine != nil {
		r.quarantine.Release()
	}
	return nil
}

// Finish streams every file in order and holds the input to having rows.
// While it reads, a line every few seconds says how far it is.
func (r *reader) Finish(ctx context.Context, out engine.Emitter) error {
	r.startProgress()
	defer r.progress.stop()
	if r.table == schemas.RawOrders {
		shared, err := r.findShared(ctx)
		if err != nil {
			return err
		}
		r.shared = shared
		defer func() { r.shared = nil }()
	}
	var rows int64
	for i := range r.files {
		f := &r.files[i]
		n, err := r.readFile(ctx, f, out)
		if err != nil {
			// The failure itself is logged once, as the run's error; the
			// stack of a decoder that panicked is only for whoever reports
			// the decoder's bug.
			var p *recovered.Panic
			if errors.As(err, &p) {
				r.rc.Log.Warn().Str("stage", "extract").Str("file", f.path).Str("stack", string(p.Stack)).Msg("decoder panicked on the file")
			}
			return fmt.Errorf("%s: %w", f.path, err)
		}
		rows += n
		r.progress.fileDone(f)
	}
	if rows == 0 {
		return r.noRows()
	}
	return nil
}

// noRows decides what an input whose files hold no rows means. No orders
// at all is a night with nothing to do, as when there are no files. FX
// rates without a row would quarantine every order in another currency.
// Order items without a row while orders were used can only be an export
// that wrote nothing, and would commit an empty product_affinity over a
// good one; without used orders there is nothing to pair anyway.
func (r *reader) noRows() error {
	what := fmt.Sprintf("%s: its files hold no rows (%d files)", r.location, len(r.files))
	switch r.table {
	case schemas.RawOrders:
		return fmt.Errorf("%w: %s: %s", night.ErrNoInput, r.where, what)
	case schemas.RawItems:
		if used := r.rc.Rows.Used; used > 0 {
			return fmt.Errorf("%w: %s: %s while %d orders are used; product_affinity would be empty", ErrNoRows, r.where, what, used)
		}
		return nil
	}
	// ReadAll names the side input.
	return fmt.Errorf("%w: %s", ErrNoRows, what)
}

// ErrNoRows is wrapped when a side input (FX rates, order items) holds no
// rows where the run needs some.
var ErrNoRows = errors.New("input without rows")

func (r *reader) readFile(ctx context.Context, f *plannedFile, out engine.Emitter) (int64, error) {
	if f.empty {
		r.rc.Log.Warn().Str("stage", "extract").Str("file", f.path).Msg("empty CSV file: no header, no rows")
		return 0, nil
	}
	if f.format != "csv" {
		return r.readParquet(ctx, f, out)
	}
	cf, err := openCSV(f.path, r.src)
	if err != nil {
		return 0, err
	}
	defer cf.Close()
	r.progress.csv = cf.read
	rows, err := r.stream(ctx, f, r.csvDecoder(cf, f), out)
	if err != nil {
		return rows, err
	}
	if r.quarantine != nil {
		if err := r.quarantine.Emit(ctx, out); err != nil {
			return rows, err
		}
	}
	if f.malformed == 0 {
		return rows, nil
	}
	limit := r.src.CSV.MaxMalformedShare
	if share := float64(f.malformed) / float64(rows); share > limit {
		return rows, fmt.Errorf("%w: %d of %d rows are malformed (%.2f%%, the first on line %d), more than %s.csv.max_malformed_share %g allows",
			ErrMalformed, f.malformed, rows, 100*share, f.firstMalformed, r.where, limit)
	}
	r.rc.Log.Warn().Str("stage", "extract").Str("file", f.path).Int64("malformed_rows", f.malformed).
		Int64("first_line", f.firstMalformed).Msg("malformed CSV records quarantined as malformed_row")
	return rows, nil
}

// take hands a decoded batch on: its malformed records to quarantine, then
// its rows.
func (r *reader) take(ctx context.Context, f *plannedFile, b batch, out engine.Emitter) error {
	for _, m := range b.malformed {
		if err := r.takeMalformed(ctx, f, m, out); err != nil {
			return err
		}
	}
	if b.rec == nil || b.rec.NumRows() == 0 {
		return nil
	}
	return r.emitBatch(ctx, f, b.rec, b.shared, b.firstRow, out)
}

// takeMalformed quarantines a malformed record with the fields it has,
// mapped to columns by their position in the header.
func (r *reader) takeMalformed(ctx context.Context, f *plannedFile, m malformedRecord, out engine.Emitter) error {
	if r.acct == nil {
		return fmt.Errorf("%w: line %d: %s; every record of this input must be well-formed", ErrMalformed, m.line, m.problem)
	}
	f.malformed++
	if f.firstMalformed == 0 {
		f.firstMalformed = m.line
	}
	r.acct.Read++
	r.acct.Quarantined[ReasonMalformedRow]++
	if r.quarantine == nil {
		r.quarantine = quarantine.NewBuilder(r.rc.Mem, r.rc.SnapshotDate)
	}
	nulls := newNullSet(r.src.CSV.NullValues)
	r.quarantine.AddValues(ReasonMalformedRow, r.sourceTable, f.path, m.line, func(name string) (string, bool) {
		for _, c := range f.columns {
			if c.canonical == name && c.index < len(m.fields) && !nulls.has(m.fields[c.index]) {
				return m.fields[c.index], true
			}
		}
		return "", false
	})
	if r.quarantine.Len() < input.BatchRows {
		return nil
	}
	return r.quarantine.Emit(ctx, out)
}

// emitBatch emits rec's rows as the reader's table; shared is their
// input.SharedOrderID column when the decoder computed it.
func (r *reader) emitBatch(ctx context.Context, f *plannedFile, rec arrow.Record, shared arrow.Array, row int64, out engine.Emitter) error {
	fields := make([]arrow.Field, len(f.columns))
	cols := make([]arrow.Array, len(f.columns))
	for i, c := range f.columns {
		idx := rec.Schema().FieldIndices(c.source)
		if len(idx) == 0 {
			return fmt.Errorf("%w: reader returned no column %q", night.ErrInputSchema, c.source)
		}
		col, changed := retype(rec.Column(idx[0]), c.typ)
		if changed {
			defer col.Release()
		}
		cols[i] = col
		fields[i] = arrow.Field{Name: c.canonical, Type: cols[i].DataType(), Nullable: true}
	}
	if r.table == schemas.RawOrders {
		if shared == nil {
			shared = r.sharedColumn(cols[slices.IndexFunc(f.columns, func(c column) bool { return c.canonical == "order_id" })])
			defer shared.Release()
		}
		cols = append(cols, shared)
		fields = append(fields, arrow.Field{Name: input.SharedOrderID, Type: shared.DataType()})
	}
	var renamed arrow.Record = array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	if r.table == schemas.RawOrders && r.orderIDs > 0 {
		untagged := renamed
		renamed = input.WithOrderIDs(untagged, r.orderIDs)
		untagged.Release()
	}
	defer renamed.Release()
	switch r.table {
	case schemas.RawOrders:
		return input.EmitOrders(ctx, r.rc, out, renamed, f.path, row)
	case schemas.RawItems:
		r.rc.Items.Read += rec.NumRows()
	}
	return input.Emit(ctx, out, r.table, renamed, f.path, row)
}

// emitFunc adapts a function to engine.Emitter.
type emitFunc func(rec arrow.Record) error

func (f emitFunc) Emit(_ context.Context, _ string, rec arrow.Record) error { return f(rec) }

// A side input is read inside another stage, which hands over nothing and
// writes no files on its behalf.
func (emitFunc) Provide(key string, _ any) error {
	return fmt.Errorf("%w: a side input provides no %q", engine.ErrGraph, key)
}
func (emitFunc) Need(key string) (any, error) {
	return nil, fmt.Errorf("%w: a side input needs no %q", engine.ErrGraph, key)
}
func (emitFunc) Create(a, _ string) (io.WriteCloser, error) {
	return nil, fmt.Errorf("%w: a side input writes no %q", engine.ErrGraph, a)
}

// ReadAll reads a small side input (such as FX rates) with the same file,
// format, column-mapping and type checks as orders, handing each batch to
// visit. Batches are released after visit returns. The input must have
// rows, and a malformed CSV record fails it. It is the input.SideInput the
// validate stage reads FX rates with; every error it returns, visit's
// included, starts with the input's name (input.fx_rates), and with the
// file when one was being read.
func ReadAll(ctx context.Context, rc *night.Context, src *night.Source, t schemas.Table, required []string, visit func(arrow.Record) error) error {
	where := "input." + t.Name
	r, err := newReader(rc, src, t, required)
	if err != nil {
		return sideInput(where, err)
	}
	defer r.Close(ctx)
	r.table, r.acct = t.Name, nil
	if err := r.Finish(ctx, emitFunc(visit)); err != nil {
		return sideInput(where, err)
	}
	return nil
}
