// Package bqsource reads input.orders from BigQuery for the extract stage:
// one query that selects only the mapped columns and only rows up to the end
// of the run date, its result streamed as Arrow record batches through the
// BigQuery Storage Read API and emitted exactly as the file reader emits
// them; or, with pushdown, queries that leave validation and the
// per-customer daily fold to BigQuery (see Pushdown). It also reads the side
// inputs, order items and FX rates, from their tables (see ReadTable).
package bqsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
	"retain/stages/internal/rules"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqident"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrSchema is wrapped when the source table's columns do not fit the
	// orders contract.
	ErrSchema = errors.New("BigQuery source schema")
	// ErrStorage is wrapped when results cannot be read through the
	// Storage Read API.
	ErrStorage = errors.New("BigQuery Storage Read API")
)

// New returns the extract stage's warehouse reader; opts are extra client
// options (tests, private endpoints), rates reads input.fx_rates' files
// when pushdown converts with them (validate.FileRates; nil refuses such
// a job).
func New(opts bqclient.Options, rates rules.FileRates) input.Warehouse {
	return func(ctx context.Context, rc *night.Context) (engine.Stage, error) {
		r, err := newReader(ctx, rc, opts, rates)
		if err != nil {
			return nil, err // not a nil *reader in a non-nil Stage
		}
		return r, nil
	}
}

// session is an open connection to one source table's project.
type session struct {
	rc     *night.Context
	cfg    *night.BigQuerySource
	client *bigquery.Client
	opts   bqclient.Options
}

type reader struct {
	engine.BaseStage
	session
	query *Query
	// pushdown is set when the job pushes validation and the fold down.
	pushdown *Pushdown
}

// newReader opens the clients and checks the table's columns, so a wrong
// mapping fails the run before a query is paid for.
func newReader(ctx context.Context, rc *night.Context, opts bqclient.Options, rates rules.FileRates) (*reader, error) {
	cfg := night.InputOf(rc.Job).Orders.BigQuery
	c, err := bqclient.OpenStorage(ctx, bqclient.Connection{Project: cfg.Project, Location: cfg.Location, CredentialsFile: cfg.CredentialsFile}, opts)
	if err != nil {
		return nil, err
	}
	r := &reader{session: session{rc: rc, cfg: cfg, client: c, opts: opts}}
	ref := cfg.Ref()
	md, err := r.metadata(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	if r.query, err = Plan(rc, md.Schema); err != nil {
		c.Close()
		return nil, err
	}
	if cfg.Pushdown {
		fxSchema, err := r.fxSchema(ctx)
		if err == nil {
			r.pushdown, err = PlanPushdown(rc, md.Schema, fxSchema)
		}
		if err == nil {
			err = r.pushdown.BindFileRates(ctx, rc, rates)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	rc.Log.Info().Str("stage", "extract").Str("table", ref.String()).Strs("columns", r.query.Columns).Bool("pushdown", cfg.Pushdown).Msg("BigQuery source checked")
	return r, nil
}

// Close releases the client and its connections.
func (r *reader) Close(context.Context) error { return r.client.Close() }

// metadata reads the source table's schema.
func (s *session) metadata(ctx context.Context) (*bigquery.TableMetadata, error) {
	return s.tableMetadata(ctx, s.cfg.Ref())
}

// fxSchema is the schema of input.fx_rates' table, which pushdown joins
// with the orders; nil when the rates are not a BigQuery table.
func (s *session) fxSchema(ctx context.Context) (bigquery.Schema, error) {
	src := night.InputOf(s.rc.Job).FXRates
	if src == nil || src.BigQuery == nil {
		return nil, nil
	}
	md, err := s.tableMetadata(ctx, src.BigQuery.Ref())
	if err != nil {
		return nil, fmt.Errorf("input.fx_rates: %w", err)
	}
	return md.Schema, nil
}

// tableMetadata reads the schema of the table ref, through the session's
// client (the query that joins it runs there too).
func (s *session) tableMetadata(ctx context.Context, ref bqident.TableRef) (*bigquery.TableMetadata, error) {
	var md *bigquery.TableMetadata
	err := s.opts.RetryPolicy().Do(ctx, s.rc.Log, "read table schema", func() (err error) {
		md, err = s.client.DatasetInProject(ref.Project, ref.Dataset).Table(ref.Table).Metadata(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return md, nil
}

// Query is the SQL that reads orders, with its parameters.
type Query struct {
	// Name names the query in `retain plan` and the manifest.
	Name string
	// Table is the table it reads, project.dataset.table.
	Table  string
	SQL    string
	Params []bigquery.QueryParameter
	// Columns are the canonical names selected, in order.
	Columns []string
	// ParamNotes are what `retain plan` prints for a parameter in place
	// of its value, by name: the FX rates of files, too many to list.
	ParamNotes map[string]string

	// The parts pushdown builds on: the canonical names quoted, and each
	// canonical column's BigQuery type.
	names []string
	types map[string]bigquery.FieldType
}

// Plan builds the read query for the job's source table with schema:
// mapped columns renamed to canonical names, rows from the end of the run
// date on left out when order_ts is a TIMESTAMP, DATETIME or DATE (strings
// are filtered by validate), and input.SharedOrderID last. The result has
// no order: validate resolves duplicate order ids by the rows' values, so
// BigQuery may compute and the client read it in parallel.
func Plan(rc *night.Context, schema bigquery.Schema) (*Query, error) {
	src := &night.InputOf(rc.Job).Orders
	ref := src.BigQuery.Ref()
	from, err := ref.Quoted()
	if err != nil {
		return nil, err
	}
	cols, err := mapColumns(src, schemas.Orders, schemas.OrdersRequired, schema)
	if err != nil {
		return nil, err
	}
	q := &Query{Name: QueryOrders, Table: ref.String(), types: map[string]bigquery.FieldType{}}
	var sel []string
	var where, orderID string
	for _, c := range cols {
		sel = append(sel, c.quoted+" AS "+c.alias)
		q.names = append(q.names, c.alias)
		q.Columns = append(q.Columns, c.canonical)
		q.types[c.canonical] = c.typ
		if c.canonical == "order_id" {
			orderID = c.quoted
		}
		if c.canonical == "order_ts" {
			if p, ok := windowEnd(rc, c.typ); ok {
				// Rows without a timestamp are read so validate can
				// quarantine them.
				where = " WHERE " + c.quoted + " IS NULL OR " + c.quoted + " < @window_end"
				q.Params = append(q.Params, p)
			}
		}
	}
	// The window sees the rows the WHERE keeps: rows after the run date
	// never reach validate, so they cannot be anyone's duplicate.
	trimmed := "TRIM(CAST(" + orderID + " AS STRING))"
	sel = append(sel, "COALESCE("+trimmed+" != '' AND COUNT(*) OVER (PARTITION BY "+trimmed+") > 1, FALSE) AS `"+input.SharedOrderID+"`")
	q.Columns = append(q.Columns, input.SharedOrderID)
	q.SQL = "SELECT " + strings.Join(sel, ", ") + " FROM " + from + where
	return q, nil
}

// mappedColumn is a canonical column found in the source table.
type mappedColumn struct {
	canonical string
	// quoted is the table's column, alias the canonical name, both quoted.
	quoted, alias string
	typ           bigquery.FieldType
}

// mapColumns finds t's canonical columns in a source table with schema, in
// t's order, with the checks a file's columns get: a required column must
// be there, and every column found must convert to its canonical type.
func mapColumns(src *night.Source, t schemas.Table, required []string, schema bigquery.Schema) ([]mappedColumn, error) {
	ref := src.BigQuery.Ref()
	byName := map[string]*bigquery.FieldSchema{}
	var have []string
	for _, f := range schema {
		byName[f.Name] = f
		have = append(have, f.Name)
	}
	var cols []mappedColumn
	for _, c := range t.Columns {
		col := src.SourceColumn(c.Name)
		f, ok := byName[col]
		if !ok {
			if slices.Contains(required, c.Name) {
				return nil, input.MissingColumn(ref.String(), c.Name, col, have)
			}
			continue
		}
		at, err := arrowType(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s column %q: %w", ErrSchema, ref, col, err)
		}
		if err := input.CheckType(ref.String(), c.Name, col, at); err != nil {
			return nil, err
		}
		qcol, err := bqident.QuoteColumn(col)
		if err != nil {
			return nil, err
		}
		alias, err := bqident.QuoteColumn(c.Name)
		if err != nil {
			return nil, err
		}
		cols = append(cols, mappedColumn{canonical: c.Name, quoted: qcol, alias: alias, typ: f.Type})
	}
	return cols, nil
}

// windowEnd is the first instant after the run date as a value of the
// column's type.
func windowEnd(rc *night.Context, t bigquery.FieldType) (bigquery.QueryParameter, bool) {
	end := rc.WindowEnd
	var v any
	switch t {
	case bigquery.TimestampFieldType:
		v = end.UTC()
	case bigquery.DateTimeFieldType:
		// DATETIME values are wall-clock times in the job's zone.
		v = civil.DateTimeOf(end)
	case bigquery.DateFieldType:
		v = civil.DateOf(end)
	default:
		return bigquery.QueryParameter{}, false
	}
	return bigquery.QueryParameter{Name: "window_end", Value: v}, true
}

// arrowType is the Arrow type the Storage Read API delivers a column as.
func arrowType(f *bigquery.FieldSchema) (arrow.DataType, error) {
	if f.Repeated || f.Type == bigquery.RecordFieldType {
		return nil, errors.New("repeated and record columns cannot be mapped")
	}
	switch f.Type {
	case bigquery.StringFieldType:
		return arrow.BinaryTypes.String, nil
	case bigquery.IntegerFieldType:
		return arrow.PrimitiveTypes.Int64, nil
	case bigquery.FloatFieldType:
		return arrow.PrimitiveTypes.Float64, nil
	case bigquery.NumericFieldType:
		return &arrow.Decimal128Type{Precision: 38, Scale: 9}, nil
	case bigquery.BigNumericFieldType:
		return &arrow.Decimal256Type{Precision: 76, Scale: 38}, nil
	case bigquery.TimestampFieldType:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case bigquery.DateTimeFieldType:
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case bigquery.DateFieldType:
		return arrow.FixedWidthTypes.Date32, nil
	case bigquery.BooleanFieldType:
		return arrow.FixedWidthTypes.Boolean, nil
	}
	return nil, fmt.Errorf("type %s is not supported", f.Type)
}

// Finish runs the query and streams its result.
func (r *reader) Finish(ctx context.Context, out engine.Emitter) error {
	if r.pushdown != nil {
		return r.finishPushdown(ctx, out)
	}
	source := "bigquery://" + r.cfg.Ref().String()
	var rows int64
	err := r.read(ctx, r.query, func(rec arrow.Record) error {
		rows += rec.NumRows()
		return input.EmitOrders(ctx, r.rc, out, rec, source, input.NoRow)
	})
	if err != nil {
		return err
	}
	r.rc.Log.Info().Str("stage", "extract").Int64("rows", rows).Msg("BigQuery rows read")
	return nil
}

// read runs q and hands each Arrow batch of its result, with the planned
// columns, to visit, which must not keep it.
func (r *session) read(ctx context.Context, q *Query, visit func(arrow.Record) error) error {
	// Cancelling stops the client's stream readers when a later stage
	// fails before the result is drained.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bq := r.client.Query(q.SQL)
	bq.Parameters = q.Params
	bq.Location = r.cfg.Location
	var it *bigquery.RowIterator
	var job *bigquery.Job
	err := r.opts.RetryPolicy().Do(ctx, r.rc.Log, "query", func() error {
		j, err := bq.Run(ctx)
		if err != nil {
			return err
		}
		job = j
		it, err = j.Read(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", r.cfg.Ref(), err)
	}
	if !it.IsAccelerated() {
		// The client falls back to paging JSON rows when it cannot open a
		// read session, which would be slow and lose the Arrow types.
		return fmt.Errorf("%w: %s: the Storage Read API is not usable for the query result (the credentials need bigquery.readsessions.create on project %s)",
			ErrStorage, r.cfg.Ref(), r.cfg.Project)
	}
	ai, err := it.ArrowIterator()
	if err != nil {
		return fmt.Errorf("%s: %w", r.cfg.Ref(), err)
	}
	rr, err := ipc.NewReader(bigquery.NewArrowIteratorReader(ai), ipc.WithAllocator(r.rc.Mem))
	if err != nil {
		return fmt.Errorf("%s: open Arrow stream: %w", r.cfg.Ref(), err)
	}
	defer rr.Release()
	// Batches of the session's streams arrive interleaved, in no fixed
	// order; everything after this is order-independent.
	var rows int64
	for rr.Next() {
		rec := rr.Record()
		if err := checkBatch(q, rec.Schema()); err != nil {
			return err
		}
		if err := visit(rec); err != nil {
			return err
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: read after %d rows: %w", r.cfg.Ref(), rows, err)
	}
	r.noteQuery(ctx, q, job, rows)
	return nil
}

// checkBatch makes sure the stream carries the planned columns by name.
func checkBatch(q *Query, sc *arrow.Schema) error {
	if sc.NumFields() != len(q.Columns) {
		return fmt.Errorf("%w: result has %d columns, want %d", ErrSchema, sc.NumFields(), len(q.Columns))
	}
	for i, f := range sc.Fields() {
		if f.Name != q.Columns[i] {
			return fmt.Errorf("%w: result column %d is %q, want %q", ErrSchema, i, f.Name, q.Columns[i])
		}
	}
	return nil
}
