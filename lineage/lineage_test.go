package lineage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"retain/jobfile"
	"retain/lineage"
	"retain/night"
	"retain/pipeline"
	"retain/stages"
)

type received struct {
	EventType string `json:"eventType"`
	Run       struct {
		RunID  string                     `json:"runId"`
		Facets map[string]json.RawMessage `json:"facets"`
	} `json:"run"`
	Job     struct{ Namespace, Name string }   `json:"job"`
	Inputs  []struct{ Namespace, Name string } `json:"inputs"`
	Outputs []struct {
		Name   string `json:"name"`
		Facets struct {
			Schema struct {
				Fields []struct{ Name, Type string } `json:"fields"`
			} `json:"schema"`
		} `json:"facets"`
		OutputFacets struct {
			OutputStatistics struct {
				RowCount int64 `json:"rowCount"`
			} `json:"outputStatistics"`
		} `json:"outputFacets"`
	} `json:"outputs"`
}

// collector is a local lineage endpoint that keeps what it is sent.
func collector(t *testing.T) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var events []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev received
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &ev) != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), events...) }
}

func runWith(t *testing.T, jobFile string, cfg lineage.Config, out string) (*pipeline.Summary, error) {
	j, err := jobfile.Load(jobFile)
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	o := pipeline.Options{Job: j, Registry: reg, RunDate: "2026-06-30", RunID: "r-1", OutputDir: out, Log: zerolog.Nop()}
	if e := lineage.New(cfg); e != nil {
		o.Observer = e
	}
	return pipeline.Run(context.Background(), o)
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestStartAndComplete(t *testing.T) {
	srv, events := collector(t)
	file := filepath.Join(t.TempDir(), "lineage", "events.jsonl")
	if _, err := runWith(t, "../testdata/bad_rows/job.yaml", lineage.Config{URL: srv.URL, File: file, Namespace: "shop"}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	got := events()
	if len(got) != 2 || got[0].EventType != "START" || got[1].EventType != "COMPLETE" {
		t.Fatalf("events: %+v", got)
	}
	if got[0].Run.RunID != got[1].Run.RunID || !uuid.MatchString(got[0].Run.RunID) || got[0].Run.RunID != lineage.RunUUID("r-1") {
		t.Errorf("run ids %s / %s", got[0].Run.RunID, got[1].Run.RunID)
	}
	if got[1].Job.Namespace != "shop" || got[1].Job.Name != "bad_rows" || len(got[1].Inputs) != 1 {
		t.Errorf("job %+v inputs %+v", got[1].Job, got[1].Inputs)
	}
	rows := map[string]int64{}
	for _, o := range got[1].Outputs {
		rows[filepath.Base(filepath.Dir(o.Name))] = o.OutputFacets.OutputStatistics.RowCount
		if len(o.Facets.Schema.Fields) == 0 {
			t.Errorf("%s has no schema facet", o.Name)
		}
	}
	if len(rows) != 9 || rows["customer_summary"] != 2 || rows["quarantine"] != 11 {
		t.Errorf("output row counts %v", rows)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines int
	for _, b := range raw {
		if b == '\n' {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("event file has %d lines, want 2", lines)
	}
}

func TestFailAndUnreachableEndpoint(t *testing.T) {
	srv, events := collector(t)
	dir := t.TempDir()
	jobFile := filepath.Join(dir, "job.yaml")
	os.WriteFile(jobFile, []byte("name: broken\ninput: {orders: {path: missing.csv}}\n"), 0o644)
	if _, err := runWith(t, jobFile, lineage.Config{URL: srv.URL}, t.TempDir()); err == nil {
		t.Fatal("run without input succeeded")
	}
	got := events()
	if len(got) != 2 || got[1].EventType != "FAIL" || got[1].Run.Facets["errorMessage"] == nil {
		t.Fatalf("events: %+v", got)
	}
	// A lineage server that is down must not fail the nightly run.
	if _, err := runWith(t, "../testdata/bad_rows/job.yaml", lineage.Config{URL: "http://127.0.0.1:1/lineage"}, t.TempDir()); err != nil {
		t.Errorf("run failed because lineage was unreachable: %v", err)
	}
}

// TestInputsNameEveryInput: orders read from BigQuery are a bigquery
// dataset named project.dataset.table; items and rates are files.
func TestInputsNameEveryInput(t *testing.T) {
	dir := t.TempDir()
	j, err := jobfile.Parse([]byte(`name: bq
input:
  orders:
    bigquery: {project: shop-prod-1, dataset: sales, table: orders}
  order_items: {path: items.csv}
  fx_rates: {path: rates.csv}
  reporting_currency: USD
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "events.jsonl")
	e := lineage.New(lineage.Config{File: file, Namespace: "shop"})
	if err := e.RunStarted(context.Background(), pipeline.Options{Job: j, RunDate: "2026-06-30", RunID: "r-1"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ev received
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	want := []struct{ Namespace, Name string }{
		{"bigquery", "shop-prod-1.sales.orders"},
		{"file", filepath.Join(dir, "items.csv")},
		{"file", filepath.Join(dir, "rates.csv")},
	}
	if len(ev.Inputs) != len(want) {
		t.Fatalf("inputs %+v, want %+v", ev.Inputs, want)
	}
	for i := range want {
		if ev.Inputs[i] != want[i] {
			t.Errorf("input %d: %+v, want %+v", i, ev.Inputs[i], want[i])
		}
	}
}
