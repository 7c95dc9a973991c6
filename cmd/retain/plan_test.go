package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"github.com/rs/zerolog"

	"retain/jobfile"
	"retain/night"
	"retain/stages/bqsource"
)

var updatePlan = flag.Bool("update", false, "rewrite the plan goldens under testdata/plan")

// plainJob reads orders from a view with the plain query, in UTC, with
// some optional columns mapped.
const plainJob = `name: plain
timezone: UTC
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders_v}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, country: Ctry, status: State}
output: {path: out}
validate: {counted_statuses: [completed]}
`

// TestPlanGolden prints the plan of a plain job, of a pushdown job with a
// sink, of a pushdown job converting with FX rates from BigQuery, of one
// that also pairs the products of items from BigQuery in SQL, and of
// jobs/bigquery.yaml (orders, items and FX rates from
// BigQuery, with a sink) from the job file alone; -update rewrites the
// goldens, which must then be read line by line.
func TestPlanGolden(t *testing.T) {
	tests := []struct{ name, job string }{
		{"plain", writeJob(t, plainJob)},
		{"pushdown", "testdata/plan/pushdown.yaml"},
		{"pushdown_fx", "testdata/plan/pushdown_fx.yaml"},
		{"pushdown_fxfile", "testdata/plan/pushdown_fxfile.yaml"},
		{"pushdown_items", "testdata/plan/pushdown_items.yaml"},
		{"bigquery", "../../jobs/bigquery.yaml"},
		{"files", writeJob(t, sinkJob)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run([]string{"plan", "--job", tt.job, "--run-date", "2026-11-22", "--offline"}, &stdout, &stderr); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
			golden := filepath.Join("testdata", "plan", tt.name+".sql")
			if *updatePlan {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := stdout.String(); got != string(want) {
				t.Errorf("plan differs from %s (rerun with -update and read the diff):\n%s", golden, got)
			}
		})
	}
}

// TestPlanFollowsPlanner: every query the planner builds for the example
// job is printed, with its SQL as sent.
func TestPlanFollowsPlanner(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"plan", "--job", "../../jobs/bigquery.yaml", "--run-date", "2026-11-22", "--offline"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	rc := planRC(t, "../../jobs/bigquery.yaml", "2026-11-22")
	p, err := bqsource.PlanOffline(rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Queries) != 3 {
		t.Fatalf("%d queries", len(p.Queries))
	}
	for _, q := range p.Queries {
		if !strings.Contains(stdout.String(), ": "+q.Name+"\n") || !strings.Contains(stdout.String(), "\n"+q.SQL+";\n") {
			t.Errorf("query %s is not printed as planned", q.Name)
		}
	}
}

// TestWritePlanEstimates: with dry runs, each query shows its estimate and
// the header their sum, and no type is said to be assumed.
func TestWritePlanEstimates(t *testing.T) {
	p := &bqsource.RunPlan{Table: "p.d.t", Queries: []*bqsource.Query{
		{Name: "counts", SQL: "SELECT 1", Params: []bigquery.QueryParameter{{Name: "tz", Value: "UTC"}}},
		{Name: "order_days", SQL: "SELECT 2"},
	}, Estimates: []int64{1536, 5 << 40}, Pushdown: true}
	var b strings.Builder
	writePlan(&b, p, "")
	want := `-- source p.d.t, pushdown: 2 queries
-- dry-run estimate, all queries: 5497558140416 bytes (5.0 TiB) processed

-- query 1 of 2: counts
-- @tz STRING "UTC"
-- dry-run estimate: 1536 bytes (1.5 KiB) processed
SELECT 1;

-- query 2 of 2: order_days
-- dry-run estimate: 5497558138880 bytes (5.0 TiB) processed
SELECT 2;
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestParamText(t *testing.T) {
	tests := []struct {
		v         any
		typ, text string
	}{
		{time.Date(2026, 11, 23, 0, 0, 0, 0, time.FixedZone("CET", 3600)), "TIMESTAMP", "2026-11-22 23:00:00+00:00"},
		{civil.DateTime{Date: civil.Date{Year: 2026, Month: 11, Day: 23}}, "DATETIME", "2026-11-23T00:00:00"},
		{civil.Date{Year: 2026, Month: 11, Day: 23}, "DATE", "2026-11-23"},
		{"Europe/Berlin", "STRING", `"Europe/Berlin"`},
		{1e9, "FLOAT64", "1e+09"},
		{[]string{"completed", "it's"}, "ARRAY<STRING>", `["completed", "it's"]`},
		{[]string{}, "ARRAY<STRING>", "[]"},
	}
	for _, tt := range tests {
		if typ, text := paramText(tt.v); typ != tt.typ || text != tt.text {
			t.Errorf("paramText(%v) = %s %s, want %s %s", tt.v, typ, text, tt.typ, tt.text)
		}
	}
}

func planRC(t *testing.T, job, date string) *night.Context {
	t.Helper()
	j, err := jobfile.Load(job)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "plan", date, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestPlanWithoutCredentials: with no Google credentials to be found the
// plan still prints the SQL, and says why it assumed types.
func TestPlanWithoutCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	var stdout, stderr bytes.Buffer
	err := run([]string{"plan", "--job", "../../jobs/bigquery.yaml", "--run-date", "2026-11-22"}, &stdout, &stderr)
	if err != nil && !errors.Is(err, errUsage) {
		// On a machine with credentials of its own (a cloud VM's metadata
		// server) the plan asks BigQuery for the example's made-up project.
		t.Skipf("credentials found: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/plan/bigquery.sql")
	if err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != strings.Replace(string(want), "(--offline)", "(no Google credentials found)", 1) {
		t.Errorf("got\n%s", got)
	}
}
