package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
	"retain/stages/validate/validateconfig"
)

// Options configure one run of a job.
type Options struct {
	Job      *config.File
	Registry *night.Registry
	// RunDate is the logical date, YYYY-MM-DD.
	RunDate string
	// RunID names the run; empty means a new unique id.
	RunID string
	// OutputDir overrides the job file's output path.
	OutputDir string
	// DryRun checks the job and the input schemas and writes nothing.
	DryRun bool
	Mem    memory.Allocator
	Log    zerolog.Logger
	// Observer, when set, hears of every run's start and end (lineage).
	Observer Observer
	// AllowVolumeDrop commits a night whose input fell by more than
	// validate.max_volume_drop against the last committed night.
	AllowVolumeDrop bool
	// Publisher, when set, copies the tables to a warehouse after the local
	// commit; its failure fails the run and leaves the local commit in place.
	Publisher Publisher
}

// Observer is told when a run starts and how it ends. Its errors are logged
// and never fail the run: a lineage server being down must not stop a night.
type Observer interface {
	RunStarted(ctx context.Context, o Options) error
	RunFinished(ctx context.Context, o Options, sum *Summary, err error) error
}

// Run executes the job for one date and commits its tables atomically.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.RunID == "" {
		o.RunID = NewRunID(time.Now())
	}
	if err := CheckRunID(o.RunID); err != nil {
		return nil, err
	}
	if o.DryRun || o.Observer == nil {
		return run1(ctx, o)
	}
	log := o.Log.With().Str("run_id", o.RunID).Str("run_date", o.RunDate).Logger()
	if err := o.Observer.RunStarted(ctx, o); err != nil {
		log.Warn().Err(err).Msg("lineage START not delivered")
	}
	sum, err := run1(ctx, o)
	if oerr := o.Observer.RunFinished(ctx, o, sum, err); oerr != nil {
		log.Warn().Err(oerr).Msg("lineage end event not delivered")
	}
	return sum, err
}

// Summary is the one-line outcome of a run, printed on stdout.
type Summary struct {
	Status     string           `json:"status"`
	RunID      string           `json:"run_id"`
	RunDate    string           `json:"run_date"`
	Job        string           `json:"job"`
	Output     string           `json:"output,omitempty"`
	Tables     map[string]int64 `json:"tables,omitempty"`
	Rows       RowTotals        `json:"rows"`
	DurationMS int64            `json:"duration_ms"`
}

// NewRunID returns a unique, time-sortable run id.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func run1(ctx context.Context, o Options) (*Summary, error) {
	started := time.Now()
	g, err := engine.BuildGraph(o.Registry.Specs())
	if err != nil {
		return nil, err
	}
	log := o.Log.With().Str("run_id", o.RunID).Str("run_date", o.RunDate).Str("job", o.Job.Name).Logger()
	rc, err := night.New(o.Job, o.RunID, o.RunDate, o.Mem, log)
	if err != nil {
		return nil, err
	}
	sum := &Summary{RunID: o.RunID, RunDate: rc.RunDateString(), Job: o.Job.Name}
	if o.DryRun {
		st, err := engine.Instantiate(ctx, rc, g)
		if err != nil {
			return nil, err
		}
		if err := st.Close(ctx); err != nil {
			return nil, err
		}
		sum.Status = "dry_run_ok"
		sum.DurationMS = time.Since(started).Milliseconds()
		return sum, nil
	}

	root := o.OutputDir
	if root == "" {
		root = night.OutputSection.Of(o.Job).Path
	}
	if root == "" {
		return nil, fmt.Errorf("%w: no output path (job output.path or --output)", config.ErrInvalid)
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	sum.Output = root
	date := rc.RunDateString()
	unlock, err := lockDate(root, date)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if dates, err := cleanStale(osFS{}, root, date); err != nil {
		return nil, fmt.Errorf("remove what earlier runs left: %w", err)
	} else if len(dates) > 0 {
		log.Info().Strs("dates", dates).Msg("removed what runs that did not finish left")
	}
	staging, err := newStaging(root, date, o.RunID)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(staging)
		}
	}()
	log.Info().Str("output", root).Msg("run started")

	st, err := engine.Instantiate(ctx, rc, g)
	if err != nil {
		return nil, err
	}
	files := &stagedFiles{dir: staging}
	res, err := engine.Execute(ctx, g, st, engine.Options{Files: files, StageDone: func(s engine.StageStat) {
		log.Info().Str("stage", s.Name).Int64("rows_in", s.RowsIn).Int64("rows_out", s.RowsOut).
			Int64("duration_ms", s.DurationMS).Msg("stage done")
	}})
	if cerr := st.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := rc.Rows.Check(); err != nil {
		return nil, err
	}
	if err := rc.Items.Check(); err != nil {
		return nil, fmt.Errorf("order_items: %w", err)
	}
	volume, err := checkVolume(root, o.Job.Name, date, rc.Rows.Read, validateconfig.Of(o.Job).MaxVolumeDrop, o.AllowVolumeDrop)
	if err != nil {
		return nil, err
	}
	if volume != nil && volume.Allowed {
		log.Warn().Int64("rows_read", rc.Rows.Read).Int64("previous_rows_read", volume.PreviousRowsRead).
			Str("previous_run_date", volume.PreviousRunDate).Msg("volume guard overridden by --allow-volume-drop")
	}

	m := Manifest{
		RunID: o.RunID, RunDate: date, Job: o.Job.Name, Timezone: o.Job.Timezone, Version: Version(),
		StartedAt: started.UTC(), Rows: *rc.Rows, Totals: totals(rc.Rows), Stages: res.Stages, Volume: volume,
	}
	if cur := rc.Currency(); cur.Known() {
		m.Currency = &cur.Code
	}
	m.MoneyDecimals = rc.Currency().Scale
	var tables []string
	for _, t := range schemas.OutputsFor(clvconfig.Layout(o.Job)) {
		if !files.wrote(t.Name) {
			continue
		}
		tables = append(tables, t.Name)
		rel, _ := filepath.Rel(root, PartitionDir(root, t.Name, date))
		m.Tables = append(m.Tables, newTableManifest(t, rel, res.TableRows[t.Name]))
	}
	// The other folders stages wrote for this date (the report, the
	// audience lists) commit with the tables.
	artifacts := files.others(tables)
	for _, a := range artifacts {
		rel, _ := filepath.Rel(root, PartitionDir(root, a, date))
		m.Artifacts = append(m.Artifacts, rel)
	}
	if night.InputOf(o.Job).OrderItems != nil {
		m.ItemRows = rc.Items
	}
	if len(rc.ArtifactRows) > 0 {
		m.ArtifactRows = rc.ArtifactRows
	}
	m.ModelFits = rc.ModelFits
	m.Queries = rc.Queries()
	out := night.OutputSection.Of(o.Job)
	// The plan is made before the commit so the manifest can say what the
	// night removes; the folder is immutable once published.
	prunes, err := planPrune(osFS{}, root, date, Retention{Days: out.KeepDays, MonthEnds: out.KeepMonthEnds})
	if err != nil {
		log.Warn().Err(err).Msg("cannot list the committed nights; none pruned tonight")
		prunes = nil
	}
	m.PrunedDates = prunes
	m.FinishedAt = time.Now().UTC()
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := commit(osFS{}, root, staging, date, o.RunID, append(tables, artifacts...), raw); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	committed = true
	if err := tidy(osFS{}, root, date); err != nil {
		log.Warn().Err(err).Msg("night published; what it replaced stays until the next run")
	}
	// The night is committed whatever pruning does: a failure leaves only
	// files no reader reaches, and the next run's prune finishes them.
	pruned, err := prune(osFS{}, root, date, prunes)
	if len(pruned) > 0 {
		log.Info().Strs("dates", pruned).Int("keep_days", out.KeepDays).Int("keep_month_ends", out.KeepMonthEnds).Msg("pruned nights outside the retention window")
	}
	if err != nil {
		log.Warn().Err(err).Strs("dates", prunes).Msg("pruning stopped part way; the next run finishes it")
	}

	if o.Publisher != nil {
		log.Info().Msg("tables committed locally; publishing to the warehouse")
		p, err := publication(root, date, o.RunID, tables, res.TableRows, log)
		p.KeepDays, p.KeepMonthEnds = out.KeepDays, out.KeepMonthEnds
		if err == nil {
			err = o.Publisher.Publish(ctx, p)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: tables for %s are committed under %s but not in the warehouse; rerun the date to load them: %w", ErrPublish, date, root, err)
		}
	}

	sum.Status = "ok"
	sum.Tables = map[string]int64{}
	for _, t := range tables {
		sum.Tables[t] = res.TableRows[t]
	}
	sum.Rows = m.Totals
	sum.DurationMS = time.Since(started).Milliseconds()
	log.Info().Int64("duration_ms", sum.DurationMS).Interface("tables", sum.Tables).Msg("run committed")
	return sum, nil
}
