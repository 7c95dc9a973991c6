package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/jobfile"
	"retain/lineage"
	"retain/night"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages"
	"retain/stages/audiences"
)

type received struct {
	EventType string `json:"eventType"`
	Run       struct {
		RunID  string `json:"runId"`
		Facets struct {
			NominalTime *struct {
				Start string `json:"nominalStartTime"`
				End   string `json:"nominalEndTime"`
			} `json:"nominalTime"`
			Parent *struct {
				Run  struct{ RunID string }           `json:"run"`
				Job  struct{ Namespace, Name string } `json:"job"`
				Root *struct {
					Run struct{ RunID string }           `json:"run"`
					Job struct{ Namespace, Name string } `json:"job"`
				} `json:"root"`
			} `json:"parent"`
			ErrorMessage *struct{ Message string }         `json:"errorMessage"`
			Outcome      *struct{ Status, Message string } `json:"retain_outcome"`
		} `json:"facets"`
	} `json:"run"`
	Job     struct{ Namespace, Name string } `json:"job"`
	Inputs  []receivedDataset                `json:"inputs"`
	Outputs []receivedDataset                `json:"outputs"`
}

type receivedDataset struct {
	Namespace, Name string
	Facets          struct {
		Schema struct {
			Fields []struct{ Name, Type string } `json:"fields"`
		} `json:"schema"`
		DatasetType   struct{ DatasetType string } `json:"datasetType"`
		Documentation struct{ Description string } `json:"documentation"`
	} `json:"facets"`
	OutputFacets struct {
		OutputStatistics struct{ RowCount, FileCount int64 } `json:"outputStatistics"`
		Subset           struct {
			OutputCondition struct {
				Type       string
				Partitions []struct {
					Identifier string
					Dimensions map[string]string
				}
			} `json:"outputCondition"`
		} `json:"subset"`
	} `json:"outputFacets"`
}

func (d receivedDataset) id() string { return d.Namespace + " " + d.Name }

// byName finds a dataset by its name's last element.
func byName(ds []receivedDataset, base string) (receivedDataset, bool) {
	for _, d := range ds {
		if d.Name == base || filepath.Base(d.Name) == base || strings.HasSuffix(d.Name, "."+base) {
			return d, true
		}
	}
	return receivedDataset{}, false
}

// collector is a local lineage endpoint that keeps what it is sent.
func collector(t *testing.T) (*httptest.Server, func() [][]byte) {
	var mu sync.Mutex
	var events [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || !json.Valid(raw) {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, raw)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	return srv, func() [][]byte { mu.Lock(); defer mu.Unlock(); return slices.Clone(events) }
}

func load(t *testing.T, jobFile string) *config.File {
	t.Helper()
	j, err := jobfile.Load(jobFile)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func parse(t *testing.T, dir, yaml string) *config.File {
	t.Helper()
	j, err := jobfile.Parse([]byte(yaml), dir)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func runWith(t *testing.T, j *config.File, e *lineage.Emitter, out string) (*pipeline.Summary, error) {
	t.Helper()
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	o := pipeline.Options{Job: j, Registry: reg, RunDate: "2026-06-30", RunID: "r-1", OutputDir: out, Log: zerolog.Nop()}
	if e != nil {
		o.Observer = e
	}
	return pipeline.Run(context.Background(), o)
}

// lines splits an event file into its events.
func lines(t *testing.T, file string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(raw))
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const (
	airflowTask = "default/retain_nightly_k8s.retain_run/01920a6e-5b7c-7d3e-8f90-123456789abc"
	airflowDAG  = "default/retain_nightly_k8s/01920a6e-5b00-7000-8000-abcdefabcdef"
)

func mustParent(t *testing.T, s string) *lineage.Parent {
	t.Helper()
	p, err := lineage.ParseParent(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEvents runs nights that end every way a night ends and checks that
// every event they send is valid against the OpenLineage schemas and names
// its datasets so that a lineage graph keeps one per table and input.
func TestEvents(t *testing.T) {
	badRows, err := filepath.Abs("../testdata/bad_rows")
	if err != nil {
		t.Fatal(err)
	}
	fxRates, err := filepath.Abs("../testdata/fx_rates")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// job is the job to run, given a folder of its own.
		job    func(t *testing.T, dir string) *config.File
		parent func(t *testing.T) (parent, root *lineage.Parent)
		wantOK bool
		// types are the events' types in order.
		types []string
		check func(t *testing.T, out string, evs []received)
	}{
		{
			name:   "committed night",
			job:    func(t *testing.T, _ string) *config.File { return load(t, filepath.Join(badRows, "job.yaml")) },
			wantOK: true,
			types:  []string{"START", "COMPLETE"},
			check: func(t *testing.T, out string, evs []received) {
				if got := evs[0].Inputs; len(got) != 1 || got[0].id() != "file "+filepath.Join(badRows, "input", "orders.csv") {
					t.Errorf("inputs %+v", got)
				}
				done := evs[1]
				if o := done.Run.Facets.Outcome; o == nil || o.Status != "ok" {
					t.Errorf("outcome %+v", o)
				}
				if nt := done.Run.Facets.NominalTime; nt == nil || nt.Start != "2026-06-30T00:00:00Z" || nt.End != "2026-07-01T00:00:00Z" {
					t.Errorf("nominal time %+v", nt)
				}
				rows := map[string]int64{}
				for _, d := range done.Outputs {
					rows[filepath.Base(d.Name)] = d.OutputFacets.OutputStatistics.RowCount
					if d.Namespace != "file" || filepath.Dir(d.Name) != out {
						t.Errorf("output %s: want a folder of %s", d.id(), out)
					}
					p := d.OutputFacets.Subset.OutputCondition
					if p.Type != "partition" || len(p.Partitions) != 1 || p.Partitions[0].Identifier != "snapshot_date=2026-06-30" ||
						p.Partitions[0].Dimensions["snapshot_date"] != "2026-06-30" {
						t.Errorf("output %s: partition %+v", d.id(), p)
					}
				}
				if len(done.Outputs) != len(schemas.Outputs())+2 || rows["customer_summary"] != 2 || rows["quarantine"] != 14 {
					t.Errorf("outputs %v, want the %d tables, audiences and report", rows, len(schemas.Outputs()))
				}
				summary, _ := byName(done.Outputs, "customer_summary")
				if summary.Facets.DatasetType.DatasetType != "TABLE" || len(summary.Facets.Schema.Fields) == 0 || summary.Facets.Documentation.Description == "" {
					t.Errorf("customer_summary facets %+v", summary.Facets)
				}
				// A folder's schema is its files' columns: snapshot_date is
				// the folders' name, not one of them.
				for _, tbl := range schemas.Outputs() {
					d, _ := byName(done.Outputs, tbl.Name)
					var got []string
					for _, f := range d.Facets.Schema.Fields {
						got = append(got, f.Name)
					}
					if want := parquetColumns(t, filepath.Join(out, tbl.Name, "snapshot_date=2026-06-30", "part-00000.parquet")); !slices.Equal(got, want) {
						t.Errorf("%s schema facet %v, the file holds %v", tbl.Name, got, want)
					}
				}
				lists, _ := byName(done.Outputs, "audiences")
				if lists.Facets.DatasetType.DatasetType != "FILE" || !strings.Contains(lists.Facets.Documentation.Description, "winback_1_entered_today") ||
					lists.OutputFacets.OutputStatistics.FileCount != int64(len(audiences.Names)) || len(lists.Facets.Schema.Fields) != len(schemas.AudienceColumns) {
					t.Errorf("audiences %+v", lists)
				}
				rep, _ := byName(done.Outputs, "report")
				if rep.Facets.DatasetType.DatasetType != "FILE" || !strings.Contains(rep.Facets.Documentation.Description, "report.html") || rep.OutputFacets.OutputStatistics.FileCount != 1 {
					t.Errorf("report %+v", rep)
				}
			},
		},
		{
			name: "tables loaded into BigQuery",
			job: func(t *testing.T, dir string) *config.File {
				return parse(t, dir, "name: sunk\ninput: {orders: {path: "+filepath.Join(badRows, "input", "orders.csv")+"}}\n"+
					"sink: {kind: bigquery, project: shop-prod-1, dataset: retain, table_prefix: retain_}\n")
			},
			wantOK: true,
			types:  []string{"START", "COMPLETE"},
			check: func(t *testing.T, out string, evs []received) {
				tables := 0
				for _, d := range evs[1].Outputs {
					id := "snapshot_date=2026-06-30"
					switch {
					case d.Namespace == "bigquery" && strings.HasPrefix(d.Name, "shop-prod-1.retain.retain_"):
						tables++
						id = "20260630"
					case d.id() == "file "+filepath.Join(out, "audiences"), d.id() == "file "+filepath.Join(out, "report"):
					default:
						t.Errorf("output %s: want a table of shop-prod-1.retain, or the lists or report under %s", d.id(), out)
					}
					if p := d.OutputFacets.Subset.OutputCondition.Partitions; len(p) != 1 || p[0].Identifier != id {
						t.Errorf("output %s: partitions %+v, want %s", d.id(), p, id)
					}
				}
				if _, ok := byName(evs[1].Outputs, "retain_customer_summary"); !ok || tables != len(schemas.Outputs()) || len(evs[1].Outputs) != len(schemas.Outputs())+2 {
					t.Errorf("%d outputs, %d of them tables", len(evs[1].Outputs), tables)
				}
				// A BigQuery table holds its partition column, and the
				// currency after the money columns.
				d, _ := byName(evs[1].Outputs, "retain_customer_summary")
				if f := d.Facets.Schema.Fields; len(f) != len(schemas.CustomerSummary.Columns)+1 || f[0].Name != "snapshot_date" || f[len(f)-1].Name != "currency" {
					t.Errorf("retain_customer_summary schema facet %+v", f)
				}
			},
		},
		{
			name: "failed night",
			job: func(t *testing.T, dir string) *config.File {
				return parse(t, dir, "name: broken\ninput: {orders: {path: missing.csv}}\n")
			},
			types: []string{"START", "FAIL"},
			check: func(t *testing.T, _ string, evs []received) {
				if m := evs[1].Run.Facets.ErrorMessage; m == nil || !strings.Contains(m.Message, "missing.csv") {
					t.Errorf("error message %+v", m)
				}
				if len(evs[1].Inputs) != 0 || len(evs[1].Outputs) != 0 {
					t.Errorf("a night that read and wrote nothing names %+v / %+v", evs[1].Inputs, evs[1].Outputs)
				}
			},
		},
		{
			name: "night without orders",
			job: func(t *testing.T, dir string) *config.File {
				if err := os.Mkdir(filepath.Join(dir, "orders"), 0o755); err != nil {
					t.Fatal(err)
				}
				return parse(t, dir, "name: quiet\ninput: {orders: {path: orders}}\n")
			},
			types: []string{"START", "COMPLETE"},
			check: func(t *testing.T, _ string, evs []received) {
				done := evs[1]
				if o := done.Run.Facets.Outcome; o == nil || o.Status != "no_input" || !strings.Contains(o.Message, "no input") {
					t.Errorf("outcome %+v", o)
				}
				if done.Run.Facets.ErrorMessage != nil || len(done.Outputs) != 0 {
					t.Errorf("a night with nothing to do reports an error or outputs: %+v", done)
				}
				if len(done.Inputs) != 1 || filepath.Base(done.Inputs[0].Name) != "orders" {
					t.Errorf("inputs %+v, want the orders folder", done.Inputs)
				}
			},
		},
		{
			name: "--input folder",
			job: func(t *testing.T, dir string) *config.File {
				j := load(t, filepath.Join(fxRates, "job.yaml"))
				in := filepath.Join(dir, "in")
				copyFile(t, filepath.Join(fxRates, "input", "orders.csv"), filepath.Join(in, "orders", "part-0.csv"))
				copyFile(t, filepath.Join(fxRates, "input", "fx.csv"), filepath.Join(in, "fx_rates.csv"))
				if err := night.OverrideInput(j, in); err != nil {
					t.Fatal(err)
				}
				return j
			},
			wantOK: true,
			types:  []string{"START", "COMPLETE"},
			check: func(t *testing.T, _ string, evs []received) {
				for _, ev := range evs {
					var got []string
					for _, d := range ev.Inputs {
						got = append(got, filepath.Base(filepath.Dir(d.Name))+"/"+filepath.Base(d.Name))
					}
					if want := []string{"in/orders", "in/fx_rates.csv"}; !slices.Equal(got, want) {
						t.Errorf("%s inputs %v, want %v", ev.EventType, got, want)
					}
				}
			},
		},
		{
			name: "started by an Airflow task",
			job: func(t *testing.T, dir string) *config.File {
				return parse(t, dir, "name: broken\ninput: {orders: {path: missing.csv}}\n")
			},
			parent: func(t *testing.T) (*lineage.Parent, *lineage.Parent) {
				return mustParent(t, airflowTask), mustParent(t, airflowDAG)
			},
			types: []string{"START", "FAIL"},
			check: func(t *testing.T, _ string, evs []received) {
				for _, ev := range evs {
					p := ev.Run.Facets.Parent
					if p == nil || p.Job.Namespace != "default" || p.Job.Name != "retain_nightly_k8s.retain_run" || p.Run.RunID != "01920a6e-5b7c-7d3e-8f90-123456789abc" ||
						p.Root == nil || p.Root.Job.Name != "retain_nightly_k8s" || p.Root.Run.RunID != "01920a6e-5b00-7000-8000-abcdefabcdef" {
						t.Errorf("%s parent %+v", ev.EventType, p)
					}
				}
			},
		},
		{
			name: "parent without a root",
			job: func(t *testing.T, dir string) *config.File {
				return parse(t, dir, "name: broken\ninput: {orders: {path: missing.csv}}\n")
			},
			parent: func(t *testing.T) (*lineage.Parent, *lineage.Parent) { return mustParent(t, airflowTask), nil },
			types:  []string{"START", "FAIL"},
			check: func(t *testing.T, _ string, evs []received) {
				for _, ev := range evs {
					if p := ev.Run.Facets.Parent; p == nil || p.Run.RunID == "" || p.Root != nil {
						t.Errorf("%s parent %+v", ev.EventType, p)
					}
				}
			},
		},
	}
	v := newValidator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			file := filepath.Join(dir, "lineage", "events.jsonl")
			e := lineage.New(lineage.Config{File: file, Namespace: "shop"})
			if tt.parent != nil {
				e.SetParent(tt.parent(t))
			}
			if _, err := runWith(t, tt.job(t, dir), e, out); (err == nil) != tt.wantOK {
				t.Fatalf("run: %v", err)
			}
			raw := lines(t, file)
			evs := make([]received, len(raw))
			var types []string
			for i, r := range raw {
				for _, err := range v.check(r) {
					t.Errorf("event %d: %v\n%s", i, err, r)
				}
				if !bytes.Contains(r, []byte(`"outputs":[`)) || !bytes.Contains(r, []byte(`"inputs":[`)) {
					t.Errorf("event %d: inputs and outputs must be arrays: %s", i, r)
				}
				if err := json.Unmarshal(r, &evs[i]); err != nil {
					t.Fatal(err)
				}
				types = append(types, evs[i].EventType)
				ev := evs[i]
				if ev.Run.RunID != lineage.RunUUID("r-1") || !uuid.MatchString(ev.Run.RunID) || ev.Job.Namespace != "shop" {
					t.Errorf("event %d: run %s job %+v", i, ev.Run.RunID, ev.Job)
				}
				for _, d := range append(ev.Inputs, ev.Outputs...) {
					if strings.Contains(d.Name, "snapshot_date=") || strings.ContainsAny(d.Name, "*?[") {
						t.Errorf("event %d: dataset %s changes every night or is a pattern", i, d.id())
					}
				}
			}
			if !slices.Equal(types, tt.types) {
				t.Fatalf("events %v, want %v", types, tt.types)
			}
			if len(evs[0].Outputs) != 0 {
				t.Errorf("START names outputs %+v before anything is written", evs[0].Outputs)
			}
			tt.check(t, out, evs)
		})
	}
}

// TestDelivery: the endpoint and the file get the same events, and a lineage
// server that is down does not fail the night.
func TestDelivery(t *testing.T) {
	srv, posted := collector(t)
	file := filepath.Join(t.TempDir(), "lineage", "events.jsonl")
	j := load(t, "../testdata/bad_rows/job.yaml")
	if _, err := runWith(t, j, lineage.New(lineage.Config{URL: srv.URL, File: file}), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	got, want := posted(), lines(t, file)
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("posted %d events, file holds %d, want 2 each", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("event %d: the endpoint and the file got different events", i)
		}
	}
	if _, err := runWith(t, j, lineage.New(lineage.Config{URL: "http://127.0.0.1:1/lineage"}), t.TempDir()); err != nil {
		t.Errorf("run failed because lineage was unreachable: %v", err)
	}
}

// TestInputs: orders read from BigQuery are a bigquery dataset named
// project.dataset.table; file inputs are named by the folder or the files
// the reader reads, and inputs that hold nothing to read are not named.
func TestInputs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"items.csv", "rates.csv", "exports/a.csv", "exports/b.csv", "exports/_SUCCESS", "parts/p-0.parquet", "empty/.keep"} {
		write(t, filepath.Join(dir, f), "x\n")
	}
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"BigQuery orders and files", "orders: {bigquery: {project: shop-prod-1, dataset: sales, table: orders}}\n  order_items: {path: items.csv}\n  fx_rates: {path: rates.csv}\n  reporting_currency: USD",
			[]string{"bigquery shop-prod-1.sales.orders", "file " + filepath.Join(dir, "items.csv"), "file " + filepath.Join(dir, "rates.csv")}},
		{"glob as the files it matches", "orders: {path: \"exports/*\"}",
			[]string{"file " + filepath.Join(dir, "exports", "a.csv"), "file " + filepath.Join(dir, "exports", "b.csv")}},
		{"folder as the folder", "orders: {path: parts}", []string{"file " + filepath.Join(dir, "parts")}},
		{"empty folder as the folder", "orders: {path: empty}", []string{"file " + filepath.Join(dir, "empty")}},
		{"glob matching nothing", "orders: {path: \"exports/*.parquet\"}", nil},
		{"missing file", "orders: {path: gone.csv}\n  fx_rates: {path: rates.csv}\n  reporting_currency: USD", []string{"file " + filepath.Join(dir, "rates.csv")}},
	}
	v := newValidator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := parse(t, dir, "name: in\ninput:\n  "+tt.input+"\n")
			file := filepath.Join(t.TempDir(), "events.jsonl")
			if err := lineage.New(lineage.Config{File: file}).RunStarted(context.Background(), pipeline.Options{Job: j, RunDate: "2026-06-30", RunID: "r-1"}); err != nil {
				t.Fatal(err)
			}
			raw := lines(t, file)[0]
			for _, err := range v.check(raw) {
				t.Error(err)
			}
			var ev received
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ev.Inputs {
				got = append(got, d.id())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("inputs %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseParent(t *testing.T) {
	tests := []struct {
		in   string
		want *lineage.Parent
	}{
		{airflowTask, &lineage.Parent{Namespace: "default", Job: "retain_nightly_k8s.retain_run", RunID: "01920a6e-5b7c-7d3e-8f90-123456789abc"}},
		{"airflow://scheduler/prod/dag.task/01920A6E-5B7C-7D3E-8F90-123456789ABC", &lineage.Parent{Namespace: "airflow://scheduler/prod", Job: "dag.task", RunID: "01920A6E-5B7C-7D3E-8F90-123456789ABC"}},
		{"default/dag.task/not-a-uuid", nil},
		{"dag.task/01920a6e-5b7c-7d3e-8f90-123456789abc", nil},
		{"/dag.task/01920a6e-5b7c-7d3e-8f90-123456789abc", nil},
		{"default//01920a6e-5b7c-7d3e-8f90-123456789abc", nil},
		{"default/dag.task/", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := lineage.ParseParent(tt.in)
			if tt.want == nil {
				if err == nil {
					t.Errorf("got %+v, want an error", got)
				}
				return
			}
			if err != nil || *got != *tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// parquetColumns are the column names of the Parquet file at path.
func parquetColumns(t *testing.T, path string) []string {
	t.Helper()
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var names []string
	for i := 0; i < pr.MetaData().Schema.NumColumns(); i++ {
		names = append(names, pr.MetaData().Schema.Column(i).Name())
	}
	return names
}
