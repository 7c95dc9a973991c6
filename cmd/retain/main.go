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

const usage = `retain: nightly customer-retention tables from order data.

Commands:
  retain run --job FILE --run-date YYYY-MM-DD [--input DIR] [--output DIR] [--run-id ID] [--dry-run] [--xcom-file F] [--holdout-days N] [--allow-volume-drop] [--lineage-parent NS/JOB/RUN_ID] [--lineage-root-parent NS/JOB/RUN_ID]
  retain backfill --job FILE --from YYYY-MM-DD --to YYYY-MM-DD [--parallel N] [--force] [--input DIR] [--output DIR] [--allow-volume-drop] [--lineage-parent NS/JOB/RUN_ID] [--lineage-root-parent NS/JOB/RUN_ID]
  retain gen --customers N --out DIR [--end-date YYYY-MM-DD] [--seed N] [--uuid-ids]
  retain schema [--format text|markdown|dbt|bigquery] [--table NAME]
  retain show [--output DIR] --run-date YYYY-MM-DD [--table T] [--columns a,b] [--where col=value] [--limit N]
  retain stages
  retain config
  retain version
`

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
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "retain: %v\n", err)
	}
	os.Exit(exitCode(err))
}

// exitCode maps an outcome to the documented exit codes.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) || errors.Is(err, pipeline.ErrRunID):
		return exitUsage
	case errors.Is(err, night.ErrNoInput):
		return exitNoInput
	}
	return exitFailure
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runJob(args[1:], stdout, stderr)
	case "backfill":
		return backfill(args[1:], stdout, stderr)
	case "gen":
		return gen(args[1:], stdout, stderr)
	case "schema":
		return printSchema(args[1:], stdout, stderr)
	case "show":
		return show(args[1:], stdout, stderr)
	case "stages":
		return listStages(args[1:], stdout, stderr)
	case "config":
		return printConfig(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, pipeline.Version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func newLogger(stderr io.Writer) zerolog.Logger {
	var w io.Writer = stderr
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).With().Timestamp().Logger()
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
	fs.StringVar(&f.job, "job", "", "job file (YAML)")
	fs.StringVar(&f.input, "input", "", "folder holding the input tables (orders/, order_items/); overrides the job file")
	fs.StringVar(&f.output, "output", "", "output root folder; overrides the job file")
	fs.StringVar(&f.xcom, "xcom-file", "", "also write the summary JSON here (Airflow: /airflow/xcom/return.json)")
	fs.IntVar(&f.holdoutDays, "holdout-days", -1, "score the CLV models on the last N days (overrides clv.holdout_days)")
	fs.BoolVar(&f.allowVolumeDrop, "allow-volume-drop", false, "commit even when rows read fell by more than validate.max_volume_drop against the last committed night")
	fs.StringVar(&f.lineageParent, "lineage-parent", "", "the run that started this one (the Airflow task), namespace/job/runId, for the lineage events' parent facet (default $"+lineage.ParentEnv+")")
	fs.StringVar(&f.lineageRoot, "lineage-root-parent", "", "the root of that run's hierarchy (the DAG run), namespace/job/runId (default $"+lineage.RootParentEnv+")")
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

func runJob(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var jf jobFlags
	jf.register(fs)
	runDate := fs.String("run-date", "", "logical run date, YYYY-MM-DD")
	runID := fs.String("run-id", "", "run id (default: generated)")
	dryRun := fs.Bool("dry-run", false, "check the job file and input schemas, write nothing")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
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
	if *runDate == "" {
		fs.Usage()
		return fmt.Errorf("%w: --run-date is required", errUsage)
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
	// A scheduler that reads stdout gets a parseable line on failure too,
	// and log-based alerting gets one error line.
	status := "failed"
	if errors.Is(err, night.ErrNoInput) {
		status = "no_input"
		log.Warn().Str("run_id", *runID).Str("run_date", *runDate).Err(err).Msg("no input for this date; nothing replaced")
	} else {
		log.Error().Str("run_id", *runID).Str("run_date", *runDate).Err(err).Msg("run failed")
	}
	name := ""
	if o.Job != nil {
		name = o.Job.Name
	}
	_ = jf.report(stdout, map[string]string{"status": status, "run_id": *runID, "run_date": *runDate, "job": name, "error": oneLine(err.Error())})
	return err
}

// oneLine keeps the summary's error on the one line schedulers parse.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func backfill(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var jf jobFlags
	jf.register(fs)
	var bo pipeline.BackfillOptions
	fs.StringVar(&bo.From, "from", "", "first run date, YYYY-MM-DD")
	fs.StringVar(&bo.To, "to", "", "last run date, YYYY-MM-DD")
	fs.IntVar(&bo.Parallel, "parallel", 1, "dates run at once")
	fs.BoolVar(&bo.Force, "force", false, "rerun dates that already have a _SUCCESS")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if bo.From == "" || bo.To == "" {
		fs.Usage()
		return fmt.Errorf("%w: --from and --to are required", errUsage)
	}
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

func gen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := synth.Options{}
	fs.IntVar(&o.Customers, "customers", 10000, "number of customers")
	out := fs.String("out", "", "output folder (orders/ and order_items/ are written in it)")
	end := fs.String("end-date", time.Now().UTC().Format(time.DateOnly), "last day of generated history (a few later orders are added to exercise exclusion)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same files")
	fs.BoolVar(&o.UUIDCustomerIDs, "uuid-ids", false, "36-character UUID customer ids instead of C00000001")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *out == "" || o.Customers < 1 {
		fs.Usage()
		return fmt.Errorf("%w: --out and a positive --customers are required", errUsage)
	}
	var err error
	if o.EndDate, err = time.Parse(time.DateOnly, *end); err != nil {
		return fmt.Errorf("%w: --end-date: %v", errUsage, err)
	}
	o.Dir = filepath.Clean(*out)
	res, err := synth.Generate(o)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

func show(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "out", "output root folder of the run")
	runDate := fs.String("run-date", "", "snapshot date to show, YYYY-MM-DD")
	table := fs.String("table", schemas.SegmentSummary.Name, "table to show")
	columns := fs.String("columns", "", "comma-separated columns (default: all)")
	where := fs.String("where", "", "column=value filters, comma-separated")
	limit := fs.Int("limit", 20, "rows at most; 0 for all")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
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

// usageError makes a flag the command does not know a usage error (exit 2).
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

// checkRunDate makes a malformed run date a usage error (exit 2).
func checkRunDate(d string) error {
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return fmt.Errorf("%w: --run-date %q: want YYYY-MM-DD", errUsage, d)
	}
	return nil
}

func printSchema(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "text, markdown, dbt (sources.yml) or bigquery (JSON schema)")
	table := fs.String("table", "", "with --format bigquery: one table's schema, as `bq mk --schema` reads it")
	source := fs.String("dbt-source", "retain", "with --format dbt: the source name")
	dataset := fs.String("dbt-schema", "retain", "with --format dbt: the dataset/schema holding the tables")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	switch *format {
	case "text":
		return schemas.WriteText(stdout)
	case "markdown":
		return schemas.WriteMarkdown(stdout)
	case "dbt":
		return schemas.WriteDBT(stdout, *source, *dataset)
	case "bigquery":
		return schemas.WriteBigQuery(stdout, *table)
	}
	return fmt.Errorf("%w: --format %q: want text, markdown, dbt or bigquery", errUsage, *format)
}
