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
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"retain/job"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages"
	"retain/synth"
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
  retain run --job FILE --run-date YYYY-MM-DD [--input DIR] [--output DIR] [--run-id ID] [--dry-run]
  retain gen --customers N --out DIR [--end-date YYYY-MM-DD] [--seed N]
  retain schema [--format text|markdown|dbt|bigquery] [--table NAME]
  retain version
`

var errUsage = errors.New("usage")

func main() {
	code := exitOK
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		code = exitFailure
		switch {
		case errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp):
			code = exitUsage
		case errors.Is(err, pipeline.ErrNoInput):
			code = exitNoInput
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "retain: %v\n", err)
		}
	}
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runJob(args[1:], stdout, stderr)
	case "gen":
		return gen(args[1:], stdout, stderr)
	case "schema":
		return printSchema(args[1:], stdout, stderr)
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

func runJob(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jobFile := fs.String("job", "", "job file (YAML)")
	runDate := fs.String("run-date", "", "logical run date, YYYY-MM-DD")
	input := fs.String("input", "", "folder holding the input tables (orders/, order_items/); overrides the job file")
	output := fs.String("output", "", "output root folder; overrides the job file")
	runID := fs.String("run-id", "", "run id (default: generated)")
	dryRun := fs.Bool("dry-run", false, "check the job file and input schemas, write nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *jobFile == "" || *runDate == "" {
		fs.Usage()
		return fmt.Errorf("%w: --job and --run-date are required", errUsage)
	}
	j, err := job.Load(*jobFile)
	if err != nil {
		return err
	}
	if *input != "" {
		j.OverrideInput(*input)
	}
	reg := &pipeline.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *runID == "" {
		*runID = pipeline.NewRunID(time.Now())
	}
	sum, err := pipeline.Run(ctx, pipeline.Options{
		Job: j, Registry: reg, RunDate: *runDate, RunID: *runID,
		OutputDir: *output, DryRun: *dryRun, Log: newLogger(stderr),
	})
	if err != nil {
		// A scheduler that reads stdout gets a parseable line on failure too.
		_ = json.NewEncoder(stdout).Encode(map[string]string{"status": "failed", "run_id": *runID, "run_date": *runDate, "job": j.Name, "error": err.Error()})
		return err
	}
	return json.NewEncoder(stdout).Encode(sum)
}

func gen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := synth.Options{}
	fs.IntVar(&o.Customers, "customers", 10000, "number of customers")
	out := fs.String("out", "", "output folder (orders/ and order_items/ are written in it)")
	end := fs.String("end-date", time.Now().UTC().Format(time.DateOnly), "last day of generated history (a few later orders are added to exercise exclusion)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same files")
	if err := fs.Parse(args); err != nil {
		return err
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

func printSchema(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "text, markdown, dbt (sources.yml) or bigquery (JSON schema)")
	table := fs.String("table", "", "with --format bigquery: one table's schema, as `bq mk --schema` reads it")
	source := fs.String("dbt-source", "retain", "with --format dbt: the source name")
	dataset := fs.String("dbt-schema", "retain", "with --format dbt: the dataset/schema holding the tables")
	if err := fs.Parse(args); err != nil {
		return err
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
