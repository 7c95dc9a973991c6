// Command retain runs the nightly customer-retention job.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"retain/engine"
	"retain/jobfile"
	"retain/lineage"
	"retain/night"
	"retain/pipeline"
	"retain/preview"
	"retain/schemas"
	"retain/stages"
	"retain/stages/clv/clvconfig"
	"retain/stages/load"
	"retain/synth"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqsink"
)

// Exit codes, documented in README.md.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitNoInput = 3
)

var errUsage = errors.New("usage")

// gcPercent is the default GOGC: a nightly batch job on shared workers
// prefers a lower memory high-water mark to a few percent of CPU; about a
// third less peak RSS at 1M customers for about a tenth more time.
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "retain: %v\n", err)
	}
	os.Exit(exitCode(err))
}

// exitCode maps an outcome to the documented exit codes.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage) || errors.Is(err, pipeline.ErrRunID):
		return exitUsage
	case errors.Is(err, night.ErrNoInput):
		return exitNoInput
	}
	return exitFailure
}

// commands are retain's commands in the order the help lists them.
var commands = []command{
	{
		name: "run", purpose: "runs the nightly job for one run date and commits its tables together.",
		example:  "retain run --job jobs/nightly.yaml --run-date 2026-11-22 --output out",
		required: []string{"job", "run-date"}, setup: runJob,
	},
	{
		name: "backfill", purpose: "runs the job for every date from --from to --to, skipping committed dates.",
		example:  "retain backfill --job jobs/nightly.yaml --from 2026-10-01 --to 2026-10-31 --parallel 2",
		required: []string{"job", "from", "to"}, setup: backfill,
	},
	{
		name: "plan", purpose: "prints every BigQuery query the run will issue, with its parameters and BigQuery's dry-run estimate of the bytes it processes.",
		example:  "retain plan --job jobs/bigquery.yaml --run-date 2026-11-22",
		required: []string{"job", "run-date"}, setup: plan,
	},
	{
		name: "gen", purpose: "generates a synthetic shop (orders, order items, FX rates) to run the job on.",
		example:  "retain gen --customers 20000 --out tmp/sample --end-date 2026-11-22",
		required: []string{"out"}, setup: gen,
	},
	{
		name: "schema", purpose: "prints the output tables' schemas as text, Markdown, dbt or BigQuery JSON.",
		example: "retain schema --job jobs/nightly.yaml --format bigquery --table customer_segments", setup: printSchema,
	},
	{
		name: "views", purpose: "prints DuckDB SQL creating a view of every night and a <table>_latest view per output table.",
		example: "retain views --job jobs/nightly.yaml > views.sql", setup: views,
	},
	{
		name: "show", purpose: "prints a committed table's rows as aligned text.",
		example:  "retain show --output out --run-date 2026-11-22 --table segment_summary --where dimension=total",
		required: []string{"run-date"}, setup: show,
	},
	{
		name: "stages", purpose: "lists the stages in run order: what each reads, writes, hands over, is configured by.",
		example: "retain stages", setup: listStages,
	},
	{
		name: "config", purpose: "prints the job-file reference (docs/config.md): every key, its default and meaning.",
		example: "retain config > docs/config.md", setup: printConfig,
	},
	{
		name: "version", purpose: "prints the version.",
		example: "retain version", setup: version,
	},
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_ = writeOverview(stderr)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 1 {
			return writeOverview(stdout)
		}
		if c := commandNamed(args[1]); c != nil {
			fs, _ := c.flags()
			return writeHelp(stdout, c, fs)
		}
		_ = writeOverview(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[1])
	}
	if c := commandNamed(args[0]); c != nil {
		return runCommand(c, args[1:], stdout, stderr)
	}
	_ = writeOverview(stderr)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func version(*flag.FlagSet) func(stdout, stderr io.Writer) error {
	return func(stdout, _ io.Writer) error {
		_, err := fmt.Fprintln(stdout, pipeline.Version())
		return err
	}
}

// newLogger logs to stderr one line per event. Stages log from several
// goroutines (background stages, fits running beside each other), so the
// writer is serialised: a file takes concurrent writes whole, but a pipe
// wrapper or a buffer need not.
func newLogger(stderr io.Writer) zerolog.Logger {
	var w io.Writer = stderr
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(zerolog.SyncWriter(w)).With().Timestamp().Logger()
}

// jobFlags are the flags run and backfill share.
type jobFlags struct {
	job, input, output, xcom string
	holdoutDays              int
	allowVolumeDrop          bool
	// lineageParent and lineageRoot are namespace/job/runId, as
	// lineage.ParseParent reads them.
	lineageParent, lineageRoot string
}

func (f *jobFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.job, "job", "", "read the job from the YAML `FILE`")
	fs.StringVar(&f.input, "input", "", "read the inputs from folder `DIR` (DIR/orders, DIR/order_items, DIR/fx_rates: a folder or a .parquet or .csv file each) instead of the job file's paths")
	fs.StringVar(&f.output, "output", "", "write the tables under root folder `DIR` instead of the job file's output.path")
	fs.StringVar(&f.xcom, "xcom-file", "", "also write the summary JSON line to `FILE` (Airflow: /airflow/xcom/return.json)")
	fs.IntVar(&f.holdoutDays, "holdout-days", -1, "score the CLV models on the last `N` days instead of clv.holdout_days; -1 keeps the job file's")
	fs.BoolVar(&f.allowVolumeDrop, "allow-volume-drop", false, "commit even when rows read fell by more than validate.max_volume_drop against the last committed night")
	fs.StringVar(&f.lineageParent, "lineage-parent", "", "the run that started this one (the Airflow task), `PARENT` written namespace/job/runId, for the lineage events' parent facet (default $"+lineage.ParentEnv+")")
	fs.StringVar(&f.lineageRoot, "lineage-root-parent", "", "the root of that run's hierarchy (the DAG run), `PARENT` written namespace/job/runId (default $"+lineage.RootParentEnv+")")
}

// options loads the job file and the stage registry.
func (f *jobFlags) options(log zerolog.Logger) (pipeline.Options, error) {
	if f.job == "" {
		return pipeline.Options{}, fmt.Errorf("%w: --job is required", errUsage)
	}
	j, err := jobfile.Load(f.job)
	if err != nil {
		return pipeline.Options{}, err
	}
	if f.input != "" {
		if err := night.OverrideInput(j, f.input); err != nil {
			return pipeline.Options{}, err
		}
	}
	if f.holdoutDays >= 0 {
		c := *clvconfig.Of(j)
		c.HoldoutDays = f.holdoutDays
		if err := clvconfig.Section.Set(j, c); err != nil {
			return pipeline.Options{}, fmt.Errorf("--holdout-days: %w", err)
		}
	}
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		return pipeline.Options{}, err
	}
	o := pipeline.Options{Job: j, Registry: reg, OutputDir: f.output, Log: log, AllowVolumeDrop: f.allowVolumeDrop}
	if sink := *bqsink.Section.Of(j); sink != nil {
		o.Publisher = bqsink.New(*sink, clvconfig.Layout(j), bqclient.Options{})
	}
	parent, root, err := f.lineageParents(os.Getenv, log)
	if err != nil {
		return pipeline.Options{}, err
	}
	if e := lineage.New(*lineage.Section.Of(j)); e != nil {
		e.SetParent(parent, root)
		o.Observer = e
	}
	return o, nil
}

// lineageParents takes the parent run and its root from the flags, else from
// the environment a DAG sets for OpenLineage's integrations. A malformed flag
// is a usage error, as any other; a malformed variable is logged and
// dropped, since lineage never fails a night.
func (f *jobFlags) lineageParents(getenv func(string) string, log zerolog.Logger) (parent, root *lineage.Parent, err error) {
	pick := func(flagName, flagValue, env string) (*lineage.Parent, error) {
		if flagValue != "" {
			p, err := lineage.ParseParent(flagValue)
			if err != nil {
				return nil, fmt.Errorf("%w: --%s: %v", errUsage, flagName, err)
			}
			return p, nil
		}
		if v := getenv(env); v != "" {
			p, err := lineage.ParseParent(v)
			if err != nil {
				log.Warn().Err(err).Str("variable", env).Msg("lineage parent ignored")
			}
			return p, nil
		}
		return nil, nil
	}
	if parent, err = pick("lineage-parent", f.lineageParent, lineage.ParentEnv); err != nil {
		return nil, nil, err
	}
	if root, err = pick("lineage-root-parent", f.lineageRoot, lineage.RootParentEnv); err != nil {
		return nil, nil, err
	}
	if f.lineageRoot != "" && parent == nil {
		return nil, nil, fmt.Errorf("%w: --lineage-root-parent needs --lineage-parent (or $%s)", errUsage, lineage.ParentEnv)
	}
	return parent, root, nil
}

// report prints the summary line on stdout and, when asked, to the XCom file.
func (f *jobFlags) report(stdout io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	if f.xcom != "" {
		if err := os.MkdirAll(filepath.Dir(f.xcom), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.xcom, raw, 0o644); err != nil {
			return err
		}
	}
	_, err = stdout.Write(raw)
	return err
}

func runJob(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	var jf jobFlags
	jf.register(fs)
	runDate := fs.String("run-date", "", "the logical run date, `YYYY-MM-DD`: the window ends at its midnight in the job's time zone")
	runID := fs.String("run-id", "", "name the run `ID` in logs, manifest and summary instead of one made from the time")
	dryRun := fs.Bool("dry-run", false, "check the job file and every input file's columns and types, and write nothing")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile of the run's largest live heap to `FILE` (go tool pprof)")
	return func(stdout, stderr io.Writer) (err error) {
		if *memProfile != "" {
			p := startPeakHeapProfile()
			defer func() {
				if werr := p.write(*memProfile); werr != nil && err == nil {
					err = werr
				}
			}()
		}
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		if err := checkRunDate(*runDate); err != nil {
			return err
		}
		if *runID == "" {
			*runID = pipeline.NewRunID(time.Now())
		}
		log := newLogger(stderr)
		o, err := jf.options(log)
		if err == nil {
			o.RunDate, o.RunID, o.DryRun = *runDate, *runID, *dryRun
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var sum *pipeline.Summary
			if sum, err = pipeline.Run(ctx, o); err == nil {
				return jf.report(stdout, sum)
			}
		}
		// A scheduler that reads stdout gets a parseable line on failure
		// too, and log-based alerting gets one error line.
		status := "failed"
		if errors.Is(err, night.ErrNoInput) {
			status = "no_input"
			log.Warn().Str("run_id", *runID).Str("run_date", *runDate).Err(err).Msg("no input for this date; nothing replaced")
		} else {
			ev := log.Error().Str("run_id", *runID).Str("run_date", *runDate).Err(err)
			// A panic is a bug: where it happened is worth the log line.
			if p := (*engine.PanicError)(nil); errors.As(err, &p) {
				ev = ev.Str("stack", string(p.Stack))
			}
			ev.Msg("run failed")
		}
		name := ""
		if o.Job != nil {
			name = o.Job.Name
		}
		_ = jf.report(stdout, map[string]string{"status": status, "run_id": *runID, "run_date": *runDate, "job": name, "error": oneLine(err.Error())})
		return err
	}
}

// oneLine keeps the summary's error on the one line schedulers parse.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func backfill(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	var jf jobFlags
	jf.register(fs)
	var bo pipeline.BackfillOptions
	fs.StringVar(&bo.From, "from", "", "the first run date, `YYYY-MM-DD`")
	fs.StringVar(&bo.To, "to", "", "the last run date, `YYYY-MM-DD`")
	fs.IntVar(&bo.Parallel, "parallel", 1, "run `N` dates at once")
	fs.BoolVar(&bo.Force, "force", false, "rerun dates that already have a _SUCCESS")
	return func(stdout, stderr io.Writer) error {
		log := newLogger(stderr)
		o, err := jf.options(log)
		if err != nil {
			log.Error().Err(err).Msg("backfill failed")
			return err
		}
		bo.Options = o
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		sum, err := pipeline.Backfill(ctx, bo)
		if err != nil {
			log.Error().Err(err).Msg("backfill failed")
		}
		if sum != nil {
			if rerr := jf.report(stdout, sum); rerr != nil && err == nil {
				err = rerr
			}
		}
		return err
	}
}

func gen(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	o := synth.Options{}
	fs.IntVar(&o.Customers, "customers", 10000, "generate `N` customers")
	out := fs.String("out", "", "write orders/, order_items/ and fx_rates.csv into folder `DIR`")
	end := fs.String("end-date", time.Now().UTC().Format(time.DateOnly), "the last day of history, `YYYY-MM-DD`, today in UTC unless given; a few orders fall after it to exercise exclusion")
	fs.Uint64Var(&o.Seed, "seed", 1, "the random seed `N`; the same seed gives the same files")
	fs.BoolVar(&o.UUIDCustomerIDs, "uuid-ids", false, "give customers 36-character UUIDs instead of ids like C00000001")
	return func(stdout, stderr io.Writer) error {
		if o.Customers < 1 {
			return fmt.Errorf("%w: --customers %d: want a positive number", errUsage, o.Customers)
		}
		var err error
		if o.EndDate, err = time.Parse(time.DateOnly, *end); err != nil {
			return fmt.Errorf("%w: --end-date: %v", errUsage, err)
		}
		o.Dir = filepath.Clean(*out)
		o.Log = newLogger(stderr)
		res, err := synth.Generate(o)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(res)
	}
}

func show(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	output := fs.String("output", "out", "read the run's tables under root folder `DIR`")
	runDate := fs.String("run-date", "", "the snapshot date to show, `YYYY-MM-DD`")
	table := fs.String("table", schemas.SegmentSummary.Name, "show output table `NAME` (retain schema lists them)")
	columns := fs.String("columns", "", "show only the columns `a,b,...`, in this order, instead of every column")
	where := fs.String("where", "", "show only rows whose columns hold these values: `col=value,...`")
	limit := fs.Int("limit", 20, "show at most `N` rows; 0 for all")
	return func(stdout, _ io.Writer) error {
		if err := checkRunDate(*runDate); err != nil {
			return err
		}
		o := preview.Options{Limit: *limit, Where: map[string]string{}}
		if *columns != "" {
			o.Columns = strings.Split(*columns, ",")
		}
		if *where != "" {
			for _, kv := range strings.Split(*where, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("%w: --where %q: want column=value", errUsage, kv)
				}
				o.Where[k] = v
			}
		}
		path := filepath.Join(pipeline.PartitionDir(*output, *table, *runDate), load.PartName)
		return preview.Print(stdout, path, o)
	}
}

// checkRunDate makes a malformed run date a usage error (exit 2).
func checkRunDate(d string) error {
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return fmt.Errorf("%w: --run-date %q: want YYYY-MM-DD", errUsage, d)
	}
	return nil
}

func printSchema(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	format := fs.String("format", "text", "print as `FORMAT`: text, markdown, dbt (sources.yml) or bigquery (JSON schema)")
	table := fs.String("table", "", "with --format bigquery: print only table `NAME`'s schema, as bq mk --schema reads it, instead of a JSON object of every table's keyed by its BigQuery table name")
	job := fs.String("job", "", "describe the tables as the job in YAML `FILE` writes them: its clv.horizon_days in column names, its sink's project, dataset and table_prefix, its output.path and segment and tier names (default: a job that sets nothing)")
	source := fs.String("dbt-source", "retain", "with --format dbt: the source `NAME`")
	dataset := fs.String("dbt-schema", "retain", "with --format dbt: the dataset (schema) `NAME` that holds the tables; the job's sink.dataset unless given")
	return func(stdout, _ io.Writer) error {
		t, err := loadTarget(*job)
		if err != nil {
			return err
		}
		switch *format {
		case "text":
			return schemas.WriteText(stdout)
		case "markdown":
			return schemas.WriteMarkdown(stdout)
		case "dbt":
			set := false
			fs.Visit(func(f *flag.Flag) { set = set || f.Name == "dbt-schema" })
			o, err := t.dbt(*source, *dataset, set)
			if err != nil {
				return err
			}
			return schemas.WriteDBTFor(stdout, o)
		case "bigquery":
			return schemas.WriteBigQueryFor(stdout, *table, t.layout, t.prefix())
		}
		return fmt.Errorf("%w: --format %q: want text, markdown, dbt or bigquery", errUsage, *format)
	}
}
