package bqsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"retain/night"
	"retain/schemas"
	"retain/warehouse/bqclient"
)

// Names of the queries, as `retain plan` prints them and the manifest
// records them.
const (
	// QueryOrders is the plain read.
	QueryOrders = "orders"
	// QueryCounts, QueryRaw and QueryCells are Pushdown's queries (and
	// QueryConflicts, when it converts currencies).
	QueryCounts = "counts"
	QueryRaw    = "raw_orders"
	QueryCells  = "order_cells"
)

// Queries lists the queries a plain read issues, in the order it issues
// them.
func (q *Query) Queries() []*Query { return []*Query{q} }

// Queries lists the queries a pushdown read issues, in the order it issues
// them. A test checks every Query field of Pushdown is listed, so a query
// added to the planner shows in `retain plan` and the manifest.
func (p *Pushdown) Queries() []*Query {
	qs := []*Query{&p.Counts, &p.Raw, &p.Cells}
	if p.Conflicts.SQL != "" {
		qs = append([]*Query{&p.Conflicts}, qs...)
	}
	return qs
}

// Assumed is a source column whose BigQuery type a plan made without the
// table's schema had to assume.
type Assumed struct {
	// Table is the source table, project.dataset.table.
	Table string
	// Column is the canonical name, Source the table's column.
	Column, Source string
	Type           bigquery.FieldType
}

// RunPlan is every query a run of the job issues to read its inputs: the
// orders' first, then order items', then FX rates' (each Query names its
// table).
type RunPlan struct {
	// Table is the orders table, project.dataset.table; empty when orders
	// are read from files.
	Table    string
	Pushdown bool
	// Assumed lists the column types assumed when the tables' schemas
	// were not read; Absent the optional columns then taken to be missing
	// (of orders; SideAbsent of the side inputs, by table). All are empty
	// when the plan used the tables' schemas.
	Assumed    []Assumed
	Absent     []string
	SideAbsent map[string][]string
	Queries    []*Query
	// Estimates are the dry runs' bytes processed, one per query; nil
	// when BigQuery was not asked.
	Estimates []int64
}

// ErrNoCredentials is wrapped when no Google credentials are found, so
// that a caller can plan from the job file alone instead.
var ErrNoCredentials = errors.New("no Google credentials")

// AssumedSchema is the orders table's schema as far as the job file tells:
// the required columns and the optional ones the job maps, each typed as
// the BigQuery type closest to its canonical type (order_ts TIMESTAMP,
// amount FLOAT64, ids and texts STRING). Optional columns the job does not
// map are taken to be absent, since only the table could say otherwise.
func AssumedSchema(rc *night.Context) (bigquery.Schema, []Assumed, []string) {
	return assumedSchema(&night.InputOf(rc.Job).Orders, schemas.Orders, schemas.OrdersRequired)
}

// assumedSchema is AssumedSchema for any input table.
func assumedSchema(src *night.Source, t schemas.Table, required []string) (bigquery.Schema, []Assumed, []string) {
	var schema bigquery.Schema
	var assumed []Assumed
	var absent []string
	for _, c := range t.Columns {
		if _, mapped := src.Columns[c.Name]; !mapped && !slices.Contains(required, c.Name) {
			absent = append(absent, c.Name)
			continue
		}
		typ := assumedType(c.Type)
		schema = append(schema, &bigquery.FieldSchema{Name: src.SourceColumn(c.Name), Type: typ})
		assumed = append(assumed, Assumed{Table: src.BigQuery.Ref().String(), Column: c.Name, Source: src.SourceColumn(c.Name), Type: typ})
	}
	return schema, assumed, absent
}

// sideInput is a side input the run reads from BigQuery.
type sideInput struct {
	src      *night.Source
	table    schemas.Table
	required []string
}

// sideInputs are the job's side inputs read from BigQuery, in the order
// the plan lists them.
func sideInputs(rc *night.Context) []sideInput {
	in := night.InputOf(rc.Job)
	var sides []sideInput
	if s := in.OrderItems; s != nil && s.BigQuery != nil {
		sides = append(sides, sideInput{s, schemas.OrderItems, schemas.OrderItemsRequired})
	}
	if s := in.FXRates; s != nil && s.BigQuery != nil {
		sides = append(sides, sideInput{s, schemas.FXRates, schemas.FXRatesRequired})
	}
	return sides
}

// ReadsBigQuery reports whether a run of the job issues any query.
func ReadsBigQuery(rc *night.Context) bool {
	return night.InputOf(rc.Job).Orders.BigQuery != nil || len(sideInputs(rc)) > 0
}

func assumedType(t arrow.DataType) bigquery.FieldType {
	switch t.ID() {
	case arrow.TIMESTAMP:
		return bigquery.TimestampFieldType
	case arrow.FLOAT64:
		return bigquery.FloatFieldType
	case arrow.INT64:
		return bigquery.IntegerFieldType
	case arrow.DATE32:
		return bigquery.DateFieldType
	case arrow.BOOL:
		return bigquery.BooleanFieldType
	}
	return bigquery.StringFieldType
}

// PlanOffline plans the run's queries from the job file alone, with the
// column types AssumedSchema assumes.
func PlanOffline(rc *night.Context) (*RunPlan, error) {
	p := &RunPlan{}
	if cfg := night.InputOf(rc.Job).Orders.BigQuery; cfg != nil {
		schema, assumed, absent := AssumedSchema(rc)
		var fxSchema bigquery.Schema
		if s := night.InputOf(rc.Job).FXRates; s != nil && s.BigQuery != nil {
			fxSchema, _, _ = assumedSchema(s, schemas.FXRates, schemas.FXRatesRequired)
		}
		if err := p.addOrders(rc, schema, fxSchema); err != nil {
			return nil, err
		}
		p.Assumed, p.Absent = assumed, absent
	}
	for _, s := range sideInputs(rc) {
		schema, assumed, absent := assumedSchema(s.src, s.table, s.required)
		qs, err := planSide(rc, s, schema, func() (*Pushdown, error) {
			orders, _, _ := AssumedSchema(rc)
			var fxSchema bigquery.Schema
			if fx := night.InputOf(rc.Job).FXRates; fx != nil && fx.BigQuery != nil {
				fxSchema, _, _ = assumedSchema(fx, schemas.FXRates, schemas.FXRatesRequired)
			}
			return PlanPushdown(rc, orders, fxSchema)
		})
		if err != nil {
			return nil, err
		}
		p.Queries = append(p.Queries, qs...)
		p.Assumed = append(p.Assumed, assumed...)
		if len(absent) > 0 {
			if p.SideAbsent == nil {
				p.SideAbsent = map[string][]string{}
			}
			p.SideAbsent[s.src.BigQuery.Ref().String()] = absent
		}
	}
	if len(p.Queries) == 0 {
		return nil, errNoQuery
	}
	return p, nil
}

var errNoQuery = errors.New("no input is read from BigQuery: the run issues no query")

// PlanOnline reads each source table's schema, plans the run's queries as
// the run does, and dry-runs each for BigQuery's estimate of the bytes it
// processes (what on-demand pricing bills). A dry run is free and reads no
// data. It wraps ErrNoCredentials when no credentials are found.
func PlanOnline(ctx context.Context, rc *night.Context, opts bqclient.Options) (*RunPlan, error) {
	p := &RunPlan{}
	if cfg := night.InputOf(rc.Job).Orders.BigQuery; cfg != nil {
		err := planOnline(ctx, rc, cfg, opts, p, func(s *session, schema bigquery.Schema) ([]*Query, error) {
			var fxSchema bigquery.Schema
			if cfg.Pushdown {
				var err error
				if fxSchema, err = s.fxSchema(ctx); err != nil {
					return nil, err
				}
			}
			if err := p.addOrders(rc, schema, fxSchema); err != nil {
				return nil, err
			}
			return p.Queries, nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, s := range sideInputs(rc) {
		err := planOnline(ctx, rc, s.src.BigQuery, opts, p, func(ss *session, schema bigquery.Schema) ([]*Query, error) {
			qs, err := planSide(rc, s, schema, func() (*Pushdown, error) {
				md, err := ss.tableMetadata(ctx, night.InputOf(rc.Job).Orders.BigQuery.Ref())
				if err != nil {
					return nil, fmt.Errorf("input.orders: %w", err)
				}
				fxSchema, err := ss.fxSchema(ctx)
				if err != nil {
					return nil, err
				}
				return PlanPushdown(rc, md.Schema, fxSchema)
			})
			if err != nil {
				return nil, err
			}
			p.Queries = append(p.Queries, qs...)
			return qs, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(p.Queries) == 0 {
		return nil, errNoQuery
	}
	return p, nil
}

// planSide plans the queries that read side input s from its table with
// schema: one plain read, or for order items with pushdown the items
// pushdown's queries, built on the orders' pushdown that orders gives.
func planSide(rc *night.Context, s sideInput, schema bigquery.Schema, orders func() (*Pushdown, error)) ([]*Query, error) {
	if s.table.Name == schemas.OrderItems.Name && PushesItems(rc) {
		o, err := orders()
		if err != nil {
			return nil, err
		}
		p, err := PlanItemsPushdown(rc, o, schema)
		if err != nil {
			return nil, fmt.Errorf("input.%s: %w", s.table.Name, err)
		}
		return p.Queries(), nil
	}
	q, err := PlanTable(s.src, s.table, s.required, schema)
	if err != nil {
		return nil, fmt.Errorf("input.%s: %w", s.table.Name, err)
	}
	return []*Query{q}, nil
}

// planOnline reads one source table's schema, plans its queries with plan
// and adds each one's dry-run estimate to p.
func planOnline(ctx context.Context, rc *night.Context, cfg *night.BigQuerySource, opts bqclient.Options, p *RunPlan, plan func(*session, bigquery.Schema) ([]*Query, error)) error {
	c, err := bqclient.Open(ctx, bqclient.Connection{Project: cfg.Project, Location: cfg.Location, CredentialsFile: cfg.CredentialsFile}, opts)
	if err != nil {
		// The auth library has no sentinel for it, only this text.
		if strings.Contains(err.Error(), "could not find default credentials") {
			return fmt.Errorf("%w: %w", ErrNoCredentials, err)
		}
		return err
	}
	defer c.Close()
	s := &session{rc: rc, cfg: cfg, client: c, opts: opts}
	md, err := s.metadata(ctx)
	if err != nil {
		return err
	}
	qs, err := plan(s, md.Schema)
	if err != nil {
		return err
	}
	ref := cfg.Ref()
	for _, q := range qs {
		var bytes int64
		err := opts.RetryPolicy().Do(ctx, rc.Log, "dry run", func() error {
			bq := c.Query(q.SQL)
			bq.Parameters = q.Params
			bq.Location = cfg.Location
			bq.DryRun = true
			j, err := bq.Run(ctx)
			if err != nil {
				return err
			}
			st := j.LastStatus()
			if err := st.Err(); err != nil {
				return err
			}
			if st.Statistics == nil {
				return fmt.Errorf("the dry run returned no statistics")
			}
			bytes = st.Statistics.TotalBytesProcessed
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: dry run of query %s: %w", ref, q.Name, err)
		}
		p.Estimates = append(p.Estimates, bytes)
	}
	return nil
}

// addOrders plans the queries the orders reader issues for a table with
// schema, and input.fx_rates' table with fxSchema (nil when it is not one).
func (p *RunPlan) addOrders(rc *night.Context, schema, fxSchema bigquery.Schema) error {
	cfg := night.InputOf(rc.Job).Orders.BigQuery
	p.Table, p.Pushdown = cfg.Ref().String(), cfg.Pushdown
	if cfg.Pushdown {
		pd, err := PlanPushdown(rc, schema, fxSchema)
		if err != nil {
			return err
		}
		p.Queries = append(p.Queries, pd.Queries()...)
		return nil
	}
	q, err := Plan(rc, schema)
	if err != nil {
		return err
	}
	p.Queries = append(p.Queries, q.Queries()...)
	return nil
}

// noteQuery records a finished query job in the run's ledger; rows are the
// rows its result carried. Statistics come from a status call after the
// read, as the read itself does not fetch them; a failure there costs the
// numbers, not the night.
func (r *session) noteQuery(ctx context.Context, q *Query, j *bigquery.Job, rows int64) {
	s := night.QueryStat{Name: q.Name, JobID: j.ID(), Rows: rows}
	var st *bigquery.JobStatus
	err := r.opts.RetryPolicy().Do(ctx, r.rc.Log, "query statistics", func() (err error) {
		st, err = j.Status(ctx)
		return err
	})
	switch {
	case err != nil:
		s.StatsError = err.Error()
		r.rc.Log.Warn().Err(err).Str("query", q.Name).Str("job_id", s.JobID).Msg("no statistics for the query job")
	case st.Statistics != nil:
		s.BytesProcessed = st.Statistics.TotalBytesProcessed
		if qs, ok := st.Statistics.Details.(*bigquery.QueryStatistics); ok {
			s.BytesProcessed = qs.TotalBytesProcessed
			s.BytesBilled = qs.TotalBytesBilled
			s.SlotMillis = qs.SlotMillis
			s.CacheHit = qs.CacheHit
		}
	}
	r.rc.NoteQuery(s)
	r.rc.Log.Info().Str("stage", "extract").Str("query", s.Name).Str("job_id", s.JobID).Int64("bytes_processed", s.BytesProcessed).
		Int64("bytes_billed", s.BytesBilled).Int64("slot_ms", s.SlotMillis).Int64("rows", s.Rows).Msg("BigQuery query done")
}
