package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"retain/jobfile"
	"retain/night"
	"retain/stages/bqsource"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqsink"
)

func plan(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	job := fs.String("job", "", "read the job from the YAML `FILE`")
	runDate := fs.String("run-date", "", "the logical run date, `YYYY-MM-DD`, whose window the queries' parameters hold")
	offline := fs.Bool("offline", false, "do not ask BigQuery: plan from the job file alone, with assumed column types and no estimates (also what happens without Google credentials)")
	return func(stdout, stderr io.Writer) error {
		if err := checkRunDate(*runDate); err != nil {
			return err
		}
		j, err := jobfile.Load(*job)
		if err != nil {
			return err
		}
		log := newLogger(stderr)
		rc, err := night.New(j, "plan", *runDate, nil, log)
		if err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "-- retain plan: job %s, run date %s: orders before %s\n", j.Name, rc.RunDateString(), rc.WindowEnd.Format("2006-01-02 15:04")+" "+j.Timezone)
		if !bqsource.ReadsBigQuery(rc) {
			b.WriteString("-- input.orders is read from files: the run issues no BigQuery query.\n")
		} else {
			why := "--offline"
			var p *bqsource.RunPlan
			if !*offline {
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				p, err = bqsource.PlanOnline(ctx, rc, bqclient.Options{})
				if errors.Is(err, bqsource.ErrNoCredentials) {
					why = "no Google credentials found"
					err = nil
				}
				if err != nil {
					return err
				}
			}
			if p == nil {
				if p, err = bqsource.PlanOffline(rc); err != nil {
					return err
				}
			}
			writePlan(&b, p, why)
		}
		if sink := *bqsink.Section.Of(j); sink != nil {
			fmt.Fprintf(&b, "\n-- sink: after the local commit, one load job per table into %s$YYYYMMDD, then a CREATE OR REPLACE VIEW per table's _latest view; loads and DDL process no bytes.\n",
				sink.Ref("<table>").String())
		}
		_, err = io.WriteString(stdout, b.String())
		return err
	}
}

// writePlan prints each query as the run sends it, its parameters and its
// estimate as SQL comments around the text sent, so the output reads as
// one SQL script.
func writePlan(b *strings.Builder, p *bqsource.RunPlan, offlineReason string) {
	read := "a plain read"
	if p.Pushdown {
		read = "pushdown"
	}
	// A side input's query names its table; the orders' name p.Table,
	// but for pushdown's check of the FX rates it joins, which reads them.
	side := func(q *bqsource.Query) bool {
		return q.Table != "" && q.Table != p.Table && q.Name != bqsource.QueryConflicts
	}
	sides := 0
	for _, q := range p.Queries {
		if side(q) {
			sides++
		}
	}
	orders := len(p.Queries) - sides
	if p.Table == "" {
		b.WriteString("-- input.orders is read from files.\n")
	} else {
		fmt.Fprintf(b, "-- source %s, %s: %d %s\n", p.Table, read, orders, plural(orders, "query", "queries"))
	}
	for _, q := range p.Queries {
		if _, ok := q.ParamNotes[bqsource.ParamFXRate]; ok {
			// The rates are data, not SQL: the plan names them only.
			fmt.Fprintf(b, "-- input.fx_rates from files, read as validation reads them and sent with the queries that convert as @%s, @%s and @%s\n",
				bqsource.ParamFXCurrency, bqsource.ParamFXRateDate, bqsource.ParamFXRate)
			break
		}
	}
	for i, q := range p.Queries {
		switch {
		case !side(q):
		case q.Name == bqsource.QueryItemCounts:
			// Items with pushdown: their queries follow one another.
			n := 0
			for _, r := range p.Queries[i:] {
				if r.Table == q.Table && side(r) {
					n++
				}
			}
			fmt.Fprintf(b, "-- input.order_items from %s, pushdown (products paired in SQL): %d %s\n", q.Table, n, plural(n, "query", "queries"))
		case q.Name == bqsource.QueryRawItems || q.Name == bqsource.QueryItemProducts || q.Name == bqsource.QueryItemPairs:
		default:
			fmt.Fprintf(b, "-- input.%s from %s, read whole: 1 query\n", q.Name, q.Table)
		}
	}
	if p.Estimates == nil {
		whose := "the table's"
		if sides > 0 {
			whose = "the tables'"
		}
		fmt.Fprintf(b, "-- BigQuery not asked (%s): no estimates, and %s column types are assumed:\n", offlineReason, whose)
		table := p.Table
		for _, a := range p.Assumed {
			if a.Table != table {
				table = a.Table
				fmt.Fprintf(b, "--   in %s:\n", table)
			}
			fmt.Fprintf(b, "--   %s %s (%s)\n", a.Source, sqlType(a.Type), a.Column)
		}
		if len(p.Absent) > 0 {
			fmt.Fprintf(b, "--   not mapped in the job file, so taken to be absent: %s\n", strings.Join(p.Absent, ", "))
		}
		listed := map[string]bool{}
		for _, q := range p.Queries {
			if absent := p.SideAbsent[q.Table]; side(q) && len(absent) > 0 && !listed[q.Table] {
				listed[q.Table] = true
				fmt.Fprintf(b, "--   not mapped in the job file, so taken to be absent from %s: %s\n", q.Table, strings.Join(absent, ", "))
			}
		}
		schemaOf := whose + " schema"
		if sides > 0 {
			schemaOf += "s"
		}
		if p.Table != "" {
			fmt.Fprintf(b, "-- With other types (order_ts a DATE or DATETIME, amount NUMERIC) the SQL differs; with credentials and without --offline the plan reads %s.\n", schemaOf)
		} else {
			fmt.Fprintf(b, "-- With credentials and without --offline the plan reads %s.\n", schemaOf)
		}
	} else {
		var total int64
		for _, e := range p.Estimates {
			total += e
		}
		fmt.Fprintf(b, "-- dry-run estimate, all queries: %s processed\n", byteText(total))
	}
	for i, q := range p.Queries {
		fmt.Fprintf(b, "\n-- query %d of %d: %s\n", i+1, len(p.Queries), q.Name)
		for _, par := range q.Params {
			if note, ok := q.ParamNotes[par.Name]; ok {
				fmt.Fprintf(b, "-- @%s %s\n", par.Name, note)
				continue
			}
			typ, val := paramText(par.Value)
			fmt.Fprintf(b, "-- @%s %s %s\n", par.Name, typ, val)
		}
		if p.Estimates != nil {
			fmt.Fprintf(b, "-- dry-run estimate: %s processed\n", byteText(p.Estimates[i]))
		}
		b.WriteString(q.SQL + ";\n")
	}
}

// sqlType is a column type's GoogleSQL name; the API's legacy names
// (FLOAT, INTEGER, BOOLEAN) are what a schema holds.
func sqlType(t bigquery.FieldType) string {
	switch t {
	case bigquery.FloatFieldType:
		return "FLOAT64"
	case bigquery.IntegerFieldType:
		return "INT64"
	case bigquery.BooleanFieldType:
		return "BOOL"
	}
	return string(t)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// byteText is n in bytes and, past a KiB, in the binary units BigQuery
// prices by (on demand: per TiB).
func byteText(n int64) string {
	s := strconv.FormatInt(n, 10) + " bytes"
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	v, u := float64(n), -1
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u >= 0 {
		s += fmt.Sprintf(" (%.1f %s)", v, units[u])
	}
	return s
}

// paramText is a query parameter's BigQuery type and value, as the client
// sends them.
func paramText(v any) (string, string) {
	switch v := v.(type) {
	case time.Time:
		return "TIMESTAMP", v.UTC().Format("2006-01-02 15:04:05.999999-07:00")
	case civil.DateTime:
		return "DATETIME", v.String()
	case civil.Date:
		return "DATE", v.String()
	case string:
		return "STRING", strconv.Quote(v)
	case float64:
		return "FLOAT64", strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		return "INT64", strconv.FormatInt(v, 10)
	case int:
		return "INT64", strconv.Itoa(v)
	case bool:
		return "BOOL", strconv.FormatBool(v)
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return "ARRAY<STRING>", "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprintf("%T", v), fmt.Sprint(v)
}
