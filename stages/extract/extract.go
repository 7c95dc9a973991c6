// Package extract is the source stage: it streams the job's input files
// (Parquet or CSV) as Arrow record batches with canonical column names.
package extract

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	arrowcsv "github.com/apache/arrow/go/v15/arrow/csv"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/job"
	"retain/pipeline"
	"retain/schemas"
)

// RawOrders is the table of order rows as read: canonical names, source types.
const RawOrders = "orders_raw"

// Metadata keys on every emitted batch, so later stages can point at the
// exact input row.
const (
	MetaSourceFile = "source_file"
	MetaFirstRow   = "first_row"
)

// BatchRows is the number of rows per emitted batch.
const BatchRows = 64 * 1024

// ErrInputSchema is wrapped when an input file lacks a required column or
// has a column of a type that cannot be converted.
var ErrInputSchema = errors.New("input schema")

// RawItems is the table of order-item rows as read.
const RawItems = "order_items_raw"

// RegisterItems adds the stage that reads input.order_items. It runs after
// validation: product affinity counts items of used orders, so it must know
// them all before the first item.
func RegisterItems(r *pipeline.Registry) error {
	return r.Register(pipeline.Spec{
		Name:    "extract_items",
		Doc:     "Reads input.order_items, when configured, after every order has been validated.",
		After:   []string{"validate"},
		Outputs: []string{RawItems},
		New: func(_ context.Context, rc *pipeline.RunContext) (pipeline.Stage, error) {
			if rc.Job.Input.OrderItems == nil {
				return pipeline.BaseStage{}, nil
			}
			r, err := newReader(rc, rc.Job.Input.OrderItems, schemas.OrderItems, schemas.OrderItemsRequired)
			if err != nil {
				return nil, sideInput("input.order_items", err)
			}
			r.table = RawItems
			return r, nil
		},
	})
}

// sideInput keeps a missing side input from reading as "no orders for this
// date": without its items or rates the night's output would be wrong, so
// the run fails instead of being skipped.
func sideInput(name string, err error) error {
	if errors.Is(err, pipeline.ErrNoInput) {
		return fmt.Errorf("%s: %v", name, err)
	}
	return err
}

// Warehouse builds the stage that reads input.orders from a warehouse table
// instead of files. It must emit batches the way this stage does (see
// EmitOrders), so validation and everything after it cannot tell the
// difference.
type Warehouse func(ctx context.Context, rc *pipeline.RunContext) (pipeline.Stage, error)

// ErrNoWarehouse is wrapped when a job reads orders from a warehouse that
// this build of the stage was not given.
var ErrNoWarehouse = errors.New("no warehouse reader")

// Register adds the extract stage; wh reads orders when the job file names a
// BigQuery table (nil: such jobs fail). Only a warehouse reader with
// pushdown emits order_days.
func Register(r *pipeline.Registry, wh Warehouse) error {
	return r.Register(pipeline.Spec{
		Name:    "extract",
		Doc:     "Reads input.orders (Parquet or CSV: a file, folder or glob; or a BigQuery table) and emits its rows with canonical column names.",
		Outputs: []string{RawOrders, schemas.OrderDays.Name},
		New: func(ctx context.Context, rc *pipeline.RunContext) (pipeline.Stage, error) {
			if rc.Job.Input.Orders.BigQuery != nil {
				if wh == nil {
					return nil, fmt.Errorf("%w: input.orders.bigquery", ErrNoWarehouse)
				}
				return wh(ctx, rc)
			}
			return newReader(rc, &rc.Job.Input.Orders, schemas.Orders, schemas.OrdersRequired)
		},
	})
}

// column is a canonical column found in a file.
type column struct {
	canonical, source string
	// typ is set for Parquet timestamps: what their values mean, which the
	// batches are given (see timestampMeaning).
	typ arrow.DataType
}

type plannedFile struct {
	inputFile
	columns []column
}

type reader struct {
	pipeline.BaseStage
	rc    *pipeline.RunContext
	src   *job.Source
	files []plannedFile
	// table is what batches are emitted as; only orders count as rows read.
	table string
}

// newReader resolves the files and checks every file's columns up front, so
// a bad file fails the run before any row is processed.
func newReader(rc *pipeline.RunContext, src *job.Source, t schemas.Table, required []string) (*reader, error) {
	files, err := resolveFiles(rc.Job.Resolve(src.Path), src.Format)
	if err != nil {
		return nil, err
	}
	r := &reader{rc: rc, src: src, table: RawOrders}
	for _, f := range files {
		fields, err := fileFields(f, src)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(fields))
		for i, fl := range fields {
			names[i] = fl.Name
		}
		pf := plannedFile{inputFile: f}
		for _, c := range t.Columns {
			source := src.SourceColumn(c.Name)
			i := slices.Index(names, source)
			if i < 0 {
				if slices.Contains(required, c.Name) {
					return nil, MissingColumn(f.path, c.Name, source, names)
				}
				continue
			}
			if err := CheckType(f.path, c.Name, source, fields[i].Type); err != nil {
				return nil, err
			}
			col := column{canonical: c.Name, source: source}
			if fields[i].Type.ID() == arrow.TIMESTAMP {
				col.typ = fields[i].Type
			}
			pf.columns = append(pf.columns, col)
		}
		r.files = append(r.files, pf)
	}
	rc.Log.Info().Str("stage", "extract").Int("files", len(files)).Msg("input files checked")
	return r, nil
}

// fileFields reads only a file's schema: the Parquet footer or the CSV header.
func fileFields(f inputFile, src *job.Source) ([]arrow.Field, error) {
	if f.format == "csv" {
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		cr := csv.NewReader(fh)
		cr.Comma = comma(src)
		header, err := cr.Read()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: read CSV header: %v", ErrInputSchema, f.path, err)
		}
		fields := make([]arrow.Field, len(header))
		for i, h := range header {
			fields[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true}
		}
		return fields, nil
	}
	pr, err := file.OpenParquetFile(f.path, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: not a readable Parquet file: %v", ErrInputSchema, f.path, err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInputSchema, f.path, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInputSchema, f.path, err)
	}
	fields := sc.Fields()
	for i := range fields {
		fields[i].Type = timestampMeaning(pr.MetaData().Schema, fr.Manifest.OriginSchema, fields[i])
	}
	return fields, nil
}

func comma(src *job.Source) rune {
	if d := src.CSV.Delimiter; d != "" {
		return []rune(d)[0]
	}
	return ','
}

// Finish streams every file in order.
func (r *reader) Finish(ctx context.Context, out pipeline.Emitter) error {
	for _, f := range r.files {
		var err error
		if f.format == "csv" {
			err = r.readCSV(ctx, f, out)
		} else {
			err = r.readParquet(ctx, f, out)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return nil
}

// recordReader is what both Arrow readers offer.
type recordReader interface {
	Next() bool
	Record() arrow.Record
	Err() error
}

func (r *reader) readParquet(ctx context.Context, f plannedFile, out pipeline.Emitter) error {
	pr, err := file.OpenParquetFile(f.path, false)
	if err != nil {
		return err
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: BatchRows, Parallel: true}, r.rc.Mem)
	if err != nil {
		return err
	}
	leaves := make([]int, len(f.columns))
	for i, c := range f.columns {
		leaves[i] = pr.MetaData().Schema.ColumnIndexByName(c.source)
		if leaves[i] < 0 {
			return fmt.Errorf("%w: column %q is not a flat column", ErrInputSchema, c.source)
		}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	return r.emitAll(ctx, f, rr, out)
}

func (r *reader) readCSV(ctx context.Context, f plannedFile, out pipeline.Emitter) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	include := make([]string, len(f.columns))
	types := make(map[string]arrow.DataType, len(f.columns))
	for i, c := range f.columns {
		include[i] = c.source
		types[c.source] = arrow.BinaryTypes.String
	}
	// Every column is read as text; the validate stage converts each value
	// and quarantines the ones that do not convert, instead of failing the file.
	cr := arrowcsv.NewInferringReader(fh,
		arrowcsv.WithHeader(true),
		arrowcsv.WithComma(comma(r.src)),
		arrowcsv.WithIncludeColumns(include),
		arrowcsv.WithColumnTypes(types),
		arrowcsv.WithNullReader(true, r.src.CSV.NullValues...),
		arrowcsv.WithChunk(BatchRows),
		arrowcsv.WithAllocator(r.rc.Mem),
	)
	defer cr.Release()
	return r.emitAll(ctx, f, cr, out)
}

// emitAll decodes the next batch on another goroutine while the current one
// flows through the stages, so Parquet decoding overlaps validation on a
// second core; two batches in flight bound the memory this costs.
func (r *reader) emitAll(ctx context.Context, f plannedFile, rr recordReader, out pipeline.Emitter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan arrow.Record, 1)
	var readErr error
	go func() {
		defer close(batches)
		for rr.Next() {
			rec := rr.Record()
			rec.Retain()
			select {
			case batches <- rec:
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
		readErr = rr.Err()
	}()
	defer func() {
		cancel()
		for rec := range batches {
			rec.Release()
		}
	}()

	row := int64(1)
	for rec := range batches {
		err := r.emitBatch(ctx, f, rec, row, out)
		row += rec.NumRows()
		rec.Release()
		if err != nil {
			return err
		}
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return fmt.Errorf("read row %d: %w", row, readErr)
	}
	return nil
}

func (r *reader) emitBatch(ctx context.Context, f plannedFile, rec arrow.Record, row int64, out pipeline.Emitter) error {
	fields := make([]arrow.Field, len(f.columns))
	cols := make([]arrow.Array, len(f.columns))
	for i, c := range f.columns {
		idx := rec.Schema().FieldIndices(c.source)
		if len(idx) == 0 {
			return fmt.Errorf("%w: reader returned no column %q", ErrInputSchema, c.source)
		}
		col, changed := retype(rec.Column(idx[0]), c.typ)
		if changed {
			defer col.Release()
		}
		cols[i] = col
		fields[i] = arrow.Field{Name: c.canonical, Type: cols[i].DataType(), Nullable: true}
	}
	renamed := array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	defer renamed.Release()
	switch r.table {
	case RawOrders:
		return EmitOrders(ctx, r.rc, out, renamed, f.path, row)
	case RawItems:
		r.rc.Items.Read += rec.NumRows()
	}
	return emitWithSource(ctx, out, r.table, renamed, f.path, row)
}

// EmitOrders emits a batch of raw order rows whose columns already carry
// canonical names, tagged with where its first row came from (source and
// 1-based row number), and counts its rows as read.
func EmitOrders(ctx context.Context, rc *pipeline.RunContext, out pipeline.Emitter, rec arrow.Record, source string, firstRow int64) error {
	rc.Rows.Read += rec.NumRows()
	return emitWithSource(ctx, out, RawOrders, rec, source, firstRow)
}

// SourceOf returns where a batch from this stage came from: the source
// (file path or table) and the 1-based row number of its first row.
func SourceOf(rec arrow.Record) (source string, firstRow int64) {
	md := rec.Schema().Metadata()
	if i := md.FindKey(MetaSourceFile); i >= 0 {
		source = md.Values()[i]
	}
	if i := md.FindKey(MetaFirstRow); i >= 0 {
		firstRow, _ = strconv.ParseInt(md.Values()[i], 10, 64)
	}
	return source, firstRow
}

func emitWithSource(ctx context.Context, out pipeline.Emitter, table string, rec arrow.Record, source string, firstRow int64) error {
	md := arrow.NewMetadata([]string{MetaSourceFile, MetaFirstRow}, []string{source, strconv.FormatInt(firstRow, 10)})
	tagged := array.NewRecord(arrow.NewSchema(rec.Schema().Fields(), &md), rec.Columns(), rec.NumRows())
	defer tagged.Release()
	return out.Emit(ctx, table, tagged)
}

// emitFunc adapts a function to pipeline.Emitter.
type emitFunc func(rec arrow.Record) error

func (f emitFunc) Emit(_ context.Context, _ string, rec arrow.Record) error { return f(rec) }

// ReadAll reads a small side input (such as FX rates) with the same file,
// format, column-mapping and type checks as orders, handing each batch to
// visit. Batches are released after visit returns.
func ReadAll(ctx context.Context, rc *pipeline.RunContext, src *job.Source, t schemas.Table, required []string, visit func(arrow.Record) error) error {
	r, err := newReader(rc, src, t, required)
	if err != nil {
		return sideInput("input."+t.Name, err)
	}
	r.table = t.Name
	return r.Finish(ctx, emitFunc(visit))
}
