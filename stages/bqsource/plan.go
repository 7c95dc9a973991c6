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
	// QueryCounts, QueryRaw and QueryDays are Pushdown's queries.
	QueryCounts = "counts"
	QueryRaw    = "raw_orders"
	QueryDays   = "order_days"
)

// Queries lists the queries a plain read issues, in the order it issues
// them.
func (q *Query) Queries() []*Query { return []*Query{q} }

// Queries lists the queries a pushdown read issues, in the order it issues
// them. A test checks every Query field of Pushdown is listed, so a query
// added to the planner shows in `retain plan` and the manifest.
func (p *Pushdown) Queries() []*Query { return []*Query{&p.Counts, &p.Raw, &p.Days} }

// Assumed is a source column whose BigQuery type a plan made without the
// table's schema had to assume.
type Assumed struct {
	// Column is the canonical name, Source the table's column.
	Column, Source string
	Type           bigquery.FieldType
}

// RunPlan is every query a run of the job issues to read its orders.
type RunPlan struct {
	// Table is the source table, project.dataset.table.
	Table    string
	Pushdown bool
	// Assumed lists the column types assumed when the table's schema was
	// not read; Absent the optional columns then taken to be missing.
	// Both are empty when the plan used the table's schema.
	Assumed []Assumed
	Absent  []string
	Queries []*Query
	// Estimates are the dry runs' bytes processed, one per query; nil
	// when BigQuery was not asked.
	Estimates []int64
}

// ErrNoCredentials is wrapped when no Google credentials are found, so
// that a caller can plan from the job file alone instead.
var ErrNoCredentials = errors.New("no Google credentials")

// AssumedSchema is the source table's schema as far as the job file tells:
// the required columns and the optional ones the job maps, each typed as
// the BigQuery type closest to its canonical type (order_ts TIMESTAMP,
// amount FLOAT64, ids and texts STRING). Optional columns the job does not
// map are taken to be absent, since only the table could say otherwise.
func AssumedSchema(rc *night.Context) (bigquery.Schema, []Assumed, []string) {
	src := &night.InputOf(rc.Job).Orders
	var schema bigquery.Schema
	var assumed []Assumed
	var absent []string
	for _, c := range schemas.Orders.Columns {
		if _, mapped := src.Columns[c.Name]; !mapped && !slices.Contains(schemas.OrdersRequired, c.Name) {
			absent = append(absent, c.Name)
			continue
		}
		t := assumedType(c.Type)
		schema = append(schema, &bigquery.FieldSchema{Name: src.SourceColumn(c.Name), Type: t})
		assumed = append(assumed, Assumed{Column: c.Name, Source: src.SourceColumn(c.Name), Type: t})
	}
	return schema, assumed, absent
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
	schema, assumed, absent := AssumedSchema(rc)
	p, err := planWith(rc, schema)
	if err != nil {
		return nil, err
	}
	p.Assumed, p.Absent = assumed, absent
	return p, nil
}

// PlanOnline reads the source table's schema, plans the run's queries as
// the run does, and dry-runs each for BigQuery's estimate of the bytes it
// processes (what on-demand pricing bills). A dry run is free and reads no
// data. It wraps ErrNoCredentials when no credentials are found.
func PlanOnline(ctx context.Context, rc *night.Context, opts bqclient.Options) (*RunPlan, error) {
	cfg := night.InputOf(rc.Job).Orders.BigQuery
	c, err := bqclient.Open(ctx, bqclient.Connection{Project: cfg.Project, Location: cfg.Location, CredentialsFile: cfg.CredentialsFile}, opts)
	if err != nil {
		// The auth library has no sentinel for it, only this text.
		if strings.Contains(err.Error(), "could not find default credentials") {
			return nil, fmt.Errorf("%w: %w", ErrNoCredentials, err)
		}
		return nil, err
	}
	defer c.Close()
	ref := cfg.Ref()
	var md *bigquery.TableMetadata
	err = opts.RetryPolicy().Do(ctx, rc.Log, "read table schema", func() (err error) {
		md, err = c.DatasetInProject(ref.Project, ref.Dataset).Table(ref.Table).Metadata(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	p, err := planWith(rc, md.Schema)
	if err != nil {
		return nil, err
	}
	for _, q := range p.Queries {
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
			return nil, fmt.Errorf("%s: dry run of query %s: %w", ref, q.Name, err)
		}
		p.Estimates = append(p.Estimates, bytes)
	}
	return p, nil
}

// planWith plans the queries the reader issues for a table with schema.
func planWith(rc *night.Context, schema bigquery.Schema) (*RunPlan, error) {
	cfg := night.InputOf(rc.Job).Orders.BigQuery
	if cfg == nil {
		return nil, errors.New("input.orders is not read from BigQuery: the run issues no query")
	}
	p := &RunPlan{Table: cfg.Ref().String(), Pushdown: cfg.Pushdown}
	if cfg.Pushdown {
		pd, err := PlanPushdown(rc, schema)
		if err != nil {
			return nil, err
		}
		p.Queries = pd.Queries()
		return p, nil
	}
	q, err := Plan(rc, schema)
	if err != nil {
		return nil, err
	}
	p.Queries = q.Queries()
	return p, nil
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
