// Package bqsink loads a committed run's tables into BigQuery: one
// day-partitioned table per output table, created from schemas/ when
// missing, each run date replaced atomically by a load job into the
// table's partition decorator with WRITE_TRUNCATE, and a <table>_latest
// view of its newest night.
package bqsink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/googleapi"

	"retain/pipeline"
	"retain/schemas"
	"retain/warehouse/bqclient"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrTable is wrapped when an existing table cannot take the load.
	ErrTable = errors.New("BigQuery table unusable")
	// ErrLoad is wrapped when a load job failed for good.
	ErrLoad = errors.New("BigQuery load failed")
)

// PartitionColumn partitions every table by day.
const PartitionColumn = schemas.PartitionColumn

// parallelLoads bounds load jobs in flight: enough to overlap BigQuery's
// per-job latency, few enough to stay far from per-table and per-project
// rate limits.
const parallelLoads = 4

// Clustering lists the columns each table is clustered on, after the
// partition: the ones BI queries filter and group by most.
var Clustering = map[string][]string{
	schemas.CustomerSummary.Name:  {"customer_id"},
	schemas.CustomerSegments.Name: {"rfm_segment", "customer_id"},
	schemas.SegmentSummary.Name:   {"dimension", "rfm_segment"},
	schemas.RetentionKPIs.Name:    {"dimension"},
	schemas.Quarantine.Name:       {"reason"},
}

// Sink is a pipeline.Publisher for BigQuery.
type Sink struct {
	cfg    Config
	layout schemas.Layout
	opts   bqclient.Options
}

// New returns a sink for the job's sink settings; opts are extra client
// options (tests, private endpoints).
func New(cfg Config, layout schemas.Layout, opts bqclient.Options) *Sink {
	return &Sink{cfg: cfg, layout: layout, opts: opts}
}

// Publish loads every table of p into its BigQuery table's run-date
// partition, replacing what an earlier run of that date loaded.
func (s *Sink) Publish(ctx context.Context, p pipeline.Publication) error {
	day, err := time.Parse(time.DateOnly, p.RunDate)
	if err != nil {
		return err
	}
	c, err := bqclient.Open(ctx, s.cfg.Connection(), s.opts)
	if err != nil {
		return err
	}
	defer c.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelLoads)
	for _, pt := range p.Tables {
		g.Go(func() error {
			if err := s.publishTable(gctx, c, p, pt, day); err != nil {
				return fmt.Errorf("%s: %w", s.cfg.Ref(pt.Name), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// The views follow the loads so that none names a table not yet
	// created; each is replaced whole, so every night and rerun may.
	// Wait cancelled the loads' context, so the views get their own.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(parallelLoads)
	for _, pt := range p.Tables {
		g.Go(func() error {
			if err := s.latestView(gctx, c, p, pt.Name); err != nil {
				return fmt.Errorf("%s: %w", s.cfg.Ref(pt.Name+LatestViewSuffix), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// LatestViewSuffix is put after a table's name to name the view of its
// latest night.
const LatestViewSuffix = "_latest"

// LatestViewSQL is the DDL of the view of table's newest snapshot_date in
// the sink. A table a night left empty (no bad rows, no holdout) shows the
// newest night that had rows: BigQuery keeps no trace of an empty load.
func (c *Config) LatestViewSQL(table string) (string, error) {
	src, err := c.Ref(table).Quoted()
	if err != nil {
		return "", err
	}
	view, err := c.Ref(table + LatestViewSuffix).Quoted()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("CREATE OR REPLACE VIEW %s OPTIONS (description = %q) AS\nSELECT * FROM %s\nWHERE %s = (SELECT MAX(%s) FROM %s)",
		view, "The newest "+PartitionColumn+" of "+table+", written by retain.", src, PartitionColumn, PartitionColumn, src), nil
}

// latestView creates or replaces the view of table's latest night.
func (s *Sink) latestView(ctx context.Context, c *bigquery.Client, p pipeline.Publication, table string) error {
	sql, err := s.cfg.LatestViewSQL(table)
	if err != nil {
		return err
	}
	log := p.Log.With().Str("view", s.cfg.Ref(table+LatestViewSuffix).String()).Logger()
	return s.opts.RetryPolicy().Do(ctx, log, "create view", func() error {
		q := c.Query(sql)
		q.Location = c.Location
		j, err := q.Run(ctx)
		if err != nil {
			return err
		}
		st, err := j.Wait(ctx)
		if err != nil {
			return err
		}
		return st.Err()
	})
}

func (s *Sink) publishTable(ctx context.Context, c *bigquery.Client, p pipeline.Publication, pt pipeline.PublishedTable, day time.Time) error {
	t, ok := schemas.LookupFor(pt.Name, s.layout)
	if !ok {
		return fmt.Errorf("%w: %q is not an output table", ErrTable, pt.Name)
	}
	if len(pt.Files) != 1 {
		return fmt.Errorf("%w: want one Parquet file per partition, have %d", ErrLoad, len(pt.Files))
	}
	ref := s.cfg.Ref(t.Name)
	if err := ref.Check(); err != nil {
		return err
	}
	log := p.Log.With().Str("table", ref.String()).Logger()
	retry := s.opts.RetryPolicy()
	bt := c.DatasetInProject(ref.Project, ref.Dataset).Table(ref.Table)
	expiration := PartitionExpiration(p.KeepDays, p.KeepMonthEnds)
	if err := retry.Do(ctx, log, "create table", func() error { return EnsureTable(ctx, bt, t, expiration) }); err != nil {
		return err
	}
	digest, err := fileDigest(pt.Files[0])
	if err != nil {
		return err
	}
	upload, err := withPartitionColumn(pt.Files[0], arrow.Date32FromTime(day), memory.DefaultAllocator)
	if err != nil {
		return err
	}
	defer os.Remove(upload)
	base := JobID(p.RunID, t.Name, digest)
	started := time.Now()
	// A load that ran and failed for a transient reason keeps its job id,
	// so the next try needs a new one: the generation counts those.
	generation := 0
	var id string
	err = retry.Do(ctx, log, "load", func() error {
		id = base
		if generation > 0 {
			id = fmt.Sprintf("%s-%d", base, generation)
		}
		err := s.load(ctx, c, bt, upload, day, id)
		var jf *jobFailed
		if errors.As(err, &jf) {
			generation++
		}
		return err
	})
	if err != nil {
		return err
	}
	log.Info().Str("job_id", id).Int64("rows", pt.Rows).Str("partition", day.Format("20060102")).
		Int64("duration_ms", time.Since(started).Milliseconds()).Msg("loaded into BigQuery")
	return nil
}

// jobFailed is a load job that ran and ended in an error.
type jobFailed struct{ err error }

func (e *jobFailed) Error() string { return e.err.Error() }
func (e *jobFailed) Unwrap() error { return e.err }

// load runs one load job of file into the day's partition of bt. Submitting
// an id BigQuery already has means an earlier attempt got through, whatever
// its response said: then it waits for that job instead of loading twice.
func (s *Sink) load(ctx context.Context, c *bigquery.Client, bt *bigquery.Table, file string, day time.Time, id string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	src := bigquery.NewReaderSource(f)
	src.SourceFormat = bigquery.Parquet
	// The decorator makes WRITE_TRUNCATE replace this one day and nothing
	// else, in one atomic job; readers see the old day or the new one.
	ld := c.DatasetInProject(bt.ProjectID, bt.DatasetID).Table(bt.TableID + "$" + day.Format("20060102")).LoaderFrom(src)
	ld.JobID = id
	ld.Location = c.Location
	ld.WriteDisposition = bigquery.WriteTruncate
	ld.CreateDisposition = bigquery.CreateNever
	// Columns added to schemas/ after the table was created are added to it.
	ld.SchemaUpdateOptions = []string{"ALLOW_FIELD_ADDITION"}
	j, err := ld.Run(ctx)
	if isAlreadyExists(err) {
		j, err = c.JobFromIDLocation(ctx, id, c.Location)
	}
	if err != nil {
		return err
	}
	st, err := j.Wait(ctx)
	if err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return &jobFailed{fmt.Errorf("%w: job %s: %w", ErrLoad, id, err)}
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict
}

// PartitionExpiration is the partition expiration matching output.keep_days
// and output.keep_month_ends; 0 sets none.
//
// BigQuery expires a partition by wall-clock time, not relative to the
// newest date, and cannot spare month ends, so the expiration is a day
// longer than the window (a night's run ends after its date is over, in the
// job's time zone rather than UTC), and with month ends it is long enough
// for the oldest month end kept, at most 31 days a month back: the
// warehouse keeps at least what the output root keeps.
func PartitionExpiration(keepDays, keepMonthEnds int) time.Duration {
	if keepDays <= 0 {
		return 0
	}
	return time.Duration(max(keepDays, 31*keepMonthEnds)+1) * 24 * time.Hour
}

// EnsureTable creates the table from schemas/ when it does not exist, and
// otherwise checks it is partitioned the way the load needs. A non-zero
// expiration is set as the partition expiration of a new table and of an
// existing one whose expiration differs; 0 leaves an existing table's
// expiration as it is, since keep_days 0 promises to change nothing.
func EnsureTable(ctx context.Context, bt *bigquery.Table, t schemas.Table, expiration time.Duration) error {
	md, err := bt.Metadata(ctx)
	if err == nil {
		tp := md.TimePartitioning
		if tp == nil || tp.Field != PartitionColumn || tp.Type != bigquery.DayPartitioningType {
			return fmt.Errorf("%w: %s exists but is not partitioned by day on %s", ErrTable, bt.FullyQualifiedName(), PartitionColumn)
		}
		if expiration == 0 || tp.Expiration == expiration {
			return nil
		}
		// No etag: runs of other dates set the same value, so the last
		// write winning is right.
		_, err := bt.Update(ctx, bigquery.TableMetadataToUpdate{TimePartitioning: &bigquery.TimePartitioning{
			Type: bigquery.DayPartitioningType, Field: PartitionColumn, Expiration: expiration,
		}}, "")
		return err
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusNotFound {
		return err
	}
	meta, err := TableMetadata(t, expiration)
	if err != nil {
		return err
	}
	err = bt.Create(ctx, meta)
	if isAlreadyExists(err) {
		// Another run of a different date created it first.
		return nil
	}
	return err
}

// TableMetadata is how a table is created: the schema and column
// descriptions from schemas/, day partitions on snapshot_date expiring
// after expiration (0: never), clustering.
func TableMetadata(t schemas.Table, expiration time.Duration) (*bigquery.TableMetadata, error) {
	fields, err := t.BigQuerySchema()
	if err != nil {
		return nil, err
	}
	schema := make(bigquery.Schema, len(fields))
	for i, f := range fields {
		schema[i] = &bigquery.FieldSchema{
			Name: f.Name, Type: bigquery.FieldType(f.Type), Required: f.Mode == "REQUIRED", Description: f.Description,
		}
	}
	md := &bigquery.TableMetadata{
		Description:      t.Doc + " Grain: " + t.Grain + ".",
		Schema:           schema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: PartitionColumn, Expiration: expiration},
		Labels:           map[string]string{"written-by": "retain"},
	}
	if cols, ok := Clustering[t.Name]; ok {
		md.Clustering = &bigquery.Clustering{Fields: cols}
	}
	return md, nil
}

var jobIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// JobID names the load of one table file for one run. It is the same for
// every attempt of that load, so a retried submission finds the first one
// instead of loading twice, and it differs for another run id or other file
// contents, so a rerun loads what it committed.
func JobID(runID, table, fileDigest string) string {
	h := sha256.Sum256([]byte(runID + "\x00" + table + "\x00" + fileDigest))
	safeRun := jobIDUnsafe.ReplaceAllString(runID, "_")
	if len(safeRun) > 64 {
		safeRun = safeRun[:64]
	}
	return strings.Join([]string{"retain", safeRun, table, hex.EncodeToString(h[:8])}, "_")
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
