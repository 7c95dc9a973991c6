// Package stagetest runs one stage of the nightly job on the case folders
// under its package's testdata/ and compares everything the stage made with
// the case's expected files, so a stage is tested on small tables written by
// hand instead of through the whole pipeline.
//
// A case folder holds:
//
//	job.yaml         the job sections the stage reads; name and a placeholder
//	                 input.orders.path are added when missing
//	run_date         YYYY-MM-DD, default 2026-11-22
//	in/<table>.csv   input tables, typed by their declared schema
//	files/           inputs the stage reads itself rather than as tables:
//	                 a source's files, named in job.yaml by paths relative
//	                 to the case folder, or what the package's test serves
//	                 the stage from (a fake warehouse's tables)
//	expected/<table>.csv                 every table the stage emits
//	expected/files/<artifact>/<name>     every file it creates (a Parquet
//	                                     file as <name>.csv, rendered back)
//	expected/rows.json                   optional: the row ledger
//	expected.err     instead of expected/: a text the stage's error contains
//	README.md        what the case is about
//
// CSV cells are \N for null (an empty cell is the empty string), RFC 3339
// timestamps, YYYY-MM-DD dates and true/false. `go test -update` rewrites
// expected/ from the output; it never writes expected.err.
package stagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"retain/config"
	"retain/engine"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
)

var update = flag.Bool("update", false, "rewrite the cases' expected/ folders from the stage's output")

const (
	// DefaultRunDate is the run date of a case without a run_date file.
	DefaultRunDate = "2026-11-22"
	// DefaultBatchRows is the input batch size when Config.BatchRows is 0.
	DefaultBatchRows = 1000
)

// Config says which stage a package's cases run and what the harness cannot
// know about it.
type Config struct {
	// Register adds the stage to a registry, as the package's own Register
	// does for a run.
	Register func(r *night.Registry) error
	// Stage names the stage to run when Register adds more than one.
	Stage string
	// Schemas types input tables that schemas/ does not declare, such as
	// raw input tables whose shape a source decides.
	Schemas map[string]*arrow.Schema
	// BatchRows cuts every input table into batches of this many rows, so
	// small cases still cross batch boundaries when it is small.
	BatchRows int
	// Handovers builds the values the stage Needs, from files of the case
	// folder; a key the stage does not declare fails the case.
	Handovers func(caseDir string) (map[string]any, error)
	// HandoverFiles are files under in/ that Handovers reads; any other
	// file there must be an input table, so a misspelt table name fails
	// instead of feeding nothing.
	HandoverFiles []string
	// Dir holds the case folders; default testdata.
	Dir string
}

// Run runs every case folder under cfg.Dir as a subtest.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	dir := cfg.Dir
	if dir == "" {
		dir = "testdata"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("stage cases: %v", err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		caseDir := filepath.Join(dir, e.Name())
		t.Run(e.Name(), func(t *testing.T) { runCase(t, cfg, caseDir, *update) })
	}
	if n == 0 {
		t.Fatalf("no case folders in %s", dir)
	}
}

// caseFiles are the names a case folder may hold; anything else is a
// misspelling that would otherwise be ignored.
var caseFiles = []string{"job.yaml", "run_date", "in", "files", "expected", "expected.err", "README.md"}

func runCase(t testing.TB, cfg Config, dir string, update bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(caseFiles, e.Name()) {
			t.Fatalf("%s: unknown entry %q (a case holds %s)", dir, e.Name(), strings.Join(caseFiles, ", "))
		}
	}
	wantErr, hasWantErr := readOptional(t, filepath.Join(dir, "expected.err"))
	wantErr = strings.TrimSpace(wantErr)
	if hasWantErr {
		if wantErr == "" {
			t.Fatalf("%s: expected.err is empty", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "expected")); err == nil {
			t.Fatalf("%s: a case holds expected.err or expected/, not both", dir)
		}
	}
	runDate, ok := readOptional(t, filepath.Join(dir, "run_date"))
	runDate = strings.TrimSpace(runDate)
	if !ok {
		runDate = DefaultRunDate
	}
	if _, err := time.Parse(time.DateOnly, runDate); err != nil {
		t.Fatalf("%s: run_date %q: want YYYY-MM-DD", dir, runDate)
	}
	spec, sections := pick(t, cfg)

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	got := enginetest.NewEmitter()
	defer got.Release()
	files := &files{}
	rc, err := execute(t, cfg, spec, sections, dir, runDate, mem, got, files)
	switch {
	case err != nil && !hasWantErr:
		t.Errorf("stage %s failed: %v", spec.Name, err)
	case err != nil && !strings.Contains(err.Error(), wantErr):
		t.Errorf("stage %s failed with %q; expected.err wants it to contain %q", spec.Name, err, wantErr)
	case err == nil && hasWantErr:
		t.Errorf("stage %s succeeded; expected.err wants an error containing %q", spec.Name, wantErr)
	case err == nil:
		compare(t, dir, output(t, cfg, dir, rc, got, files), update)
	}
}

// pick finds the stage under test among what Register adds, with the
// job-file sections it registered.
func pick(t testing.TB, cfg Config) (night.Spec, []config.Section) {
	t.Helper()
	if cfg.Register == nil {
		t.Fatal("stagetest.Config needs Register")
	}
	reg := &night.Registry{}
	if err := cfg.Register(reg); err != nil {
		t.Fatal(err)
	}
	specs := reg.Specs()
	var names []string
	for _, s := range specs {
		if s.Name == cfg.Stage || (cfg.Stage == "" && len(specs) == 1) {
			return s, reg.SectionsOf(s.Name)
		}
		names = append(names, s.Name)
	}
	t.Fatalf("Register adds stages %v: set Config.Stage to one of them", names)
	return night.Spec{}, nil
}

// placeholderOrders stands in for input.orders.path, which the job file
// requires but no stage under test reads.
const placeholderOrders = "orders.csv"

// newContext turns a case's job file into the run's context, decoding the
// sections the stage registered (and input, which every job file has): a
// key of another stage's section is an error, so a case shows exactly what
// its stage reads. A returned error is the job's, which a case may expect.
func newContext(dir, runDate string, mem memory.Allocator, sections []config.Section) (*night.Context, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "job.yaml"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err == nil {
		if doc.Kind == 0 {
			doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
		}
		if root := doc.Content[0]; root.Kind == yaml.MappingNode {
			added := setDefault(root, "name", "stagetest")
			orders := child(child(root, "input"), "orders")
			if lookup(orders, "bigquery") == nil {
				added = setDefault(orders, "path", placeholderOrders) || added
			}
			if added {
				if raw, err = yaml.Marshal(&doc); err != nil {
					return nil, err
				}
			}
		}
	} // else config.Decode reports the YAML error in its words
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(sections, config.Section(night.InputSection)) {
		sections = append(sections, night.InputSection)
	}
	j, err := config.Decode(raw, abs, sections)
	if err != nil {
		return nil, err
	}
	return night.New(j, "stagetest", runDate, mem, zerolog.Nop())
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// child returns the mapping under key, adding an empty one when missing.
// A key holding something else is left for config.Decode to reject.
func child(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return &yaml.Node{Kind: yaml.MappingNode}
	}
	if v := lookup(m, key); v != nil {
		if v.Kind == yaml.MappingNode || v.Tag == "!!null" {
			v.Kind, v.Tag, v.Value = yaml.MappingNode, "", ""
			return v
		}
		return &yaml.Node{Kind: yaml.MappingNode}
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	return v
}

func setDefault(m *yaml.Node, key, value string) bool {
	if m.Kind != yaml.MappingNode || lookup(m, key) != nil {
		return false
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
	return true
}

// Names of the stages the harness adds around the stage under test.
const (
	inputsStage    = "stagetest_inputs"
	handoversStage = "stagetest_handovers"
	outputsStage   = "stagetest_outputs"
)

// execute runs the stage through the engine, between a source of the case's
// input tables, a provider of its hand-overs and a sink, so declarations,
// background Process calls and hand-over order are checked as in a run.
// Problems with the case stop the test; the returned error is the stage's.
func execute(t testing.TB, cfg Config, spec night.Spec, sections []config.Section, dir, runDate string, mem memory.Allocator,
	got *enginetest.Emitter, files *files) (*night.Context, error) {
	t.Helper()
	ctx := context.Background()
	rc, err := newContext(dir, runDate, mem, sections)
	if err != nil {
		return nil, err
	}
	inputs := readInputs(t, cfg, spec, dir, rc)
	defer release(inputs)
	var values map[string]any
	if cfg.Handovers != nil {
		if values, err = cfg.Handovers(dir); err != nil {
			t.Fatalf("%s: hand-overs: %v", dir, err)
		}
	}
	for k := range values {
		if !slices.Contains(spec.Needs, k) {
			t.Fatalf("%s: Handovers gives %q, which stage %s does not need (needs %v)", dir, k, spec.Name, spec.Needs)
		}
	}

	// After orders the stage against stages of a full run, absent here.
	spec.After = nil
	specs := []night.Spec{spec}
	if len(spec.Inputs) > 0 {
		specs = append(specs, night.Spec{Name: inputsStage, Outputs: spec.Inputs,
			New: func(context.Context, *night.Context) (engine.Stage, error) {
				return &source{order: spec.Inputs, recs: inputs}, nil
			}})
	}
	if len(spec.Needs) > 0 {
		specs = append(specs, night.Spec{Name: handoversStage, Provides: spec.Needs,
			New: func(context.Context, *night.Context) (engine.Stage, error) {
				return &provider{keys: spec.Needs, values: values}, nil
			}})
	}
	if len(spec.Outputs) > 0 {
		specs = append(specs, night.Spec{Name: outputsStage, Inputs: spec.Outputs,
			New: func(context.Context, *night.Context) (engine.Stage, error) { return &sink{got: got}, nil }})
	}
	g, err := engine.BuildGraph(specs)
	if err != nil {
		t.Fatalf("stage %s: %v", spec.Name, err)
	}
	st, err := engine.Instantiate(ctx, rc, g)
	if err != nil {
		return rc, err
	}
	defer func() {
		if err := st.Close(ctx); err != nil {
			t.Errorf("stage %s: Close: %v", spec.Name, err)
		}
	}()
	_, err = engine.Execute(ctx, g, st, engine.Options{Files: files})
	return rc, err
}

// readInputs types in/ by the declared schemas. Any other file there
// fails, so that a misspelt table name cannot silently feed nothing.
func readInputs(t testing.TB, cfg Config, spec night.Spec, dir string, rc *night.Context) map[string][]arrow.Record {
	t.Helper()
	out := map[string][]arrow.Record{}
	done := false
	defer func() {
		if !done { // stopped by a bad file: the tables read so far are not returned
			release(out)
		}
	}()
	entries, err := os.ReadDir(filepath.Join(dir, "in"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		table, isCSV := strings.CutSuffix(e.Name(), ".csv")
		if slices.Contains(cfg.HandoverFiles, e.Name()) || (isCSV && slices.Contains(spec.Inputs, table)) {
			continue
		}
		t.Fatalf("%s: in/%s is not an input table of stage %s (inputs %v) nor in Config.HandoverFiles", dir, e.Name(), spec.Name, spec.Inputs)
	}
	batch := cfg.BatchRows
	if batch <= 0 {
		batch = DefaultBatchRows
	}
	for _, table := range spec.Inputs {
		path := filepath.Join(dir, "in", table+".csv")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		schema := declared(cfg, rc, table)
		if schema == nil {
			t.Fatalf("%s: no schema for input table %s: pass it in Config.Schemas", dir, table)
		}
		recs, err := readCSV(path, schema, batch, rc.Mem)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		out[table] = recs
	}
	done = true
	return out
}

func release(tables map[string][]arrow.Record) {
	for _, recs := range tables {
		for _, r := range recs {
			r.Release()
		}
	}
}

// intermediate are the tables stages hand each other that schemas.Lookup,
// which knows the written tables, does not return.
var intermediate = []schemas.Table{schemas.Orders, schemas.OrderItems, schemas.FXRates, schemas.OrderCells, schemas.Refunds,
	schemas.CustomerPeriods, schemas.CustomerPredictions, schemas.CustomerActions, schemas.PeriodDayPrediction,
	schemas.CustomerMargins}

// declared is the schema of a table as the job shapes it, or nil.
func declared(cfg Config, rc *night.Context, table string) *arrow.Schema {
	if s, ok := cfg.Schemas[table]; ok {
		return s
	}
	if t, ok := schemas.LookupFor(table, clvconfig.Layout(rc.Job)); ok {
		return t.Schema()
	}
	for _, t := range intermediate {
		if t.Name == table {
			return t.Schema()
		}
	}
	return nil
}

type source struct {
	engine.BaseStage
	order []string
	recs  map[string][]arrow.Record
}

func (s *source) Finish(ctx context.Context, out engine.Emitter) error {
	for _, table := range s.order {
		for _, r := range s.recs[table] {
			if err := out.Emit(ctx, table, r); err != nil {
				return err
			}
		}
	}
	return nil
}

type provider struct {
	engine.BaseStage
	keys   []string
	values map[string]any
}

// Finish hands over what the case's Handovers built; a key it left out is
// not provided, as when a provider in a run finishes without it.
func (p *provider) Finish(_ context.Context, out engine.Emitter) error {
	for _, k := range p.keys {
		if v, ok := p.values[k]; ok {
			if err := out.Provide(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

type sink struct {
	engine.BaseStage
	got *enginetest.Emitter
}

func (s *sink) Process(ctx context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	return s.got.Emit(ctx, table, rec)
}

// files keeps created files in memory and notes which were closed: an
// unclosed file would not be durable in a run.
type files struct {
	names  []string
	byName map[string]*memFile
}

type memFile struct {
	bytes.Buffer
	closed bool
}

func (f *memFile) Close() error {
	f.closed = true
	return nil
}

func (m *files) Create(artifact, name string) (io.WriteCloser, error) {
	key := artifact + "/" + name
	if m.byName == nil {
		m.byName = map[string]*memFile{}
	}
	if _, dup := m.byName[key]; dup {
		return nil, fmt.Errorf("file %s created twice", key)
	}
	f := &memFile{}
	m.byName[key] = f
	m.names = append(m.names, key)
	return f, nil
}

// ledger is what expected/rows.json holds.
type ledger struct {
	Rows         *night.Accounting `json:"rows"`
	Items        *night.Accounting `json:"items"`
	ArtifactRows map[string]int64  `json:"artifact_rows,omitempty"`
}

const rowsFile = "rows.json"

// output renders everything the stage made, by path under expected/.
func output(t testing.TB, cfg Config, dir string, rc *night.Context, got *enginetest.Emitter, made *files) map[string][]byte {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for table, recs := range got.Records {
		if want := declared(cfg, rc, table); want != nil {
			for _, r := range recs {
				if err := conforms(r, want); err != nil {
					t.Errorf("stage emitted %s %v", table, err)
				}
			}
		}
		text, err := render(recs[0].Schema(), recs, abs)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table+".csv"] = []byte(text)
	}
	for _, name := range made.names {
		f := made.byName[name]
		if !f.closed {
			t.Errorf("file %s was created but not closed", name)
		}
		path := filepath.Join("files", filepath.FromSlash(name))
		if !strings.HasSuffix(name, ".parquet") {
			out[path] = f.Bytes()
			continue
		}
		text, err := renderParquet(f.Bytes(), abs)
		if err != nil {
			t.Fatalf("file %s: %v", name, err)
		}
		out[path+".csv"] = []byte(text)
	}
	l, err := json.MarshalIndent(ledger{Rows: rc.Rows, Items: rc.Items, ArtifactRows: rc.ArtifactRows}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out[rowsFile] = append(l, '\n')
	return out
}

// compare checks the case's expected/ against got, or rewrites it.
func compare(t testing.TB, dir string, got map[string][]byte, update bool) {
	t.Helper()
	expDir := filepath.Join(dir, "expected")
	have := map[string]bool{}
	err := filepath.WalkDir(expDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(expDir, p)
		have[rel] = true
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	// The ledger is pinned where a case asks for it, and written on update
	// where the stage moved it.
	if !have[rowsFile] && !(update && movedLedger(got[rowsFile])) {
		delete(got, rowsFile)
	}
	paths := make([]string, 0, len(got))
	for p := range got {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		path := filepath.Join(expDir, p)
		if update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got[p], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !have[p] {
			t.Errorf("%s: the stage made %s but there is no expected file %s (go test -update writes it)", dir, p, path)
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[p], want) {
			t.Errorf("%s differs: %s\n--- got\n%s--- want\n%s", path, firstDiff(got[p], want), got[p], want)
		}
	}
	var stale []string
	for p := range have {
		if _, ok := got[p]; !ok {
			stale = append(stale, p)
		}
	}
	slices.Sort(stale)
	for _, p := range stale {
		path := filepath.Join(expDir, p)
		if update {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: expected file %s matches nothing the stage emitted or created", dir, path)
	}
}

// movedLedger reports whether a rendered ledger holds any count.
func movedLedger(raw []byte) bool {
	var l ledger
	if json.Unmarshal(raw, &l) != nil {
		return true
	}
	empty := func(a *night.Accounting) bool {
		return a == nil || (a.Read == 0 && a.Used == 0 && len(a.Quarantined) == 0 && len(a.Excluded) == 0 &&
			len(a.Trimmed) == 0 && len(a.Replaced) == 0)
	}
	return !empty(l.Rows) || !empty(l.Items) || len(l.ArtifactRows) > 0
}

// firstDiff names the first line where got and want part.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, gl, wl)
		}
	}
	return "same lines"
}

func readOptional(t testing.TB, path string) (string, bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(raw), true
}
