package stagetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/config"
	"retain/engine"
	"retain/night"
	"retain/schemas"
)

// The fake stage echoes its input, counts what it saw, and writes a note
// and a Parquet copy of the counts, so one case reaches every kind of
// expected file.
var (
	thingsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "at", Type: schemas.Timestamp, Nullable: true},
	}, nil)
	countsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "batches", Type: arrow.PrimitiveTypes.Int64},
		{Name: "rows", Type: arrow.PrimitiveTypes.Int64},
		{Name: "null_notes", Type: arrow.PrimitiveTypes.Int64},
		{Name: "empty_notes", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
)

type fake struct {
	engine.BaseStage
	rc                            *night.Context
	batches, rows, nulls, empties int64
	leaked                        []arrow.Record
}

func (f *fake) Process(ctx context.Context, _ string, rec arrow.Record, out engine.Emitter) error {
	f.batches++
	ids, notes := rec.Column(0).(*array.String), rec.Column(1).(*array.String)
	for i := 0; i < int(rec.NumRows()); i++ {
		switch ids.Value(i) {
		case "boom":
			return fmt.Errorf("boom in row %d", f.rows+1)
		case "leak":
			rec.Retain()
			f.leaked = append(f.leaked, rec)
		}
		f.rows++
		switch {
		case notes.IsNull(i):
			f.nulls++
		case notes.Value(i) == "":
			f.empties++
		}
	}
	return out.Emit(ctx, "echo", rec)
}

func (f *fake) Finish(ctx context.Context, out engine.Emitter) error {
	b := array.NewRecordBuilder(f.rc.Mem, countsSchema)
	defer b.Release()
	for i, v := range []int64{f.batches, f.rows, f.nulls, f.empties} {
		b.Field(i).(*array.Int64Builder).Append(v)
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := out.Emit(ctx, "counts", rec); err != nil {
		return err
	}
	greeting, err := out.Need("greeting")
	if err != nil {
		return err
	}
	note, err := out.Create("dump", "notes.txt")
	if err != nil {
		return err
	}
	fmt.Fprintf(note, "greeting=%v period=%s run_date=%s\n", greeting, periodSection.Of(f.rc.Job).Period, f.rc.RunDateString())
	if err := note.Close(); err != nil {
		return err
	}
	pq, err := out.Create("dump", "counts.parquet")
	if err != nil {
		return err
	}
	w, err := pqarrow.NewFileWriter(countsSchema, pq, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	if err := w.Write(rec); err != nil {
		return err
	}
	f.rc.Rows.Read += f.rows
	f.rc.Rows.Used += f.rows
	return w.Close()
}

func fakeSpec() night.Spec {
	return night.Spec{
		Name: "fake", Inputs: []string{"things"}, Outputs: []string{"echo", "counts"},
		Needs: []string{"greeting"}, Artifacts: []string{"dump"},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) { return &fake{rc: rc}, nil },
	}
}

func fakeConfig(spec night.Spec) Config {
	return Config{
		Register:  func(r *night.Registry) error { return r.Register(spec, periodSection) },
		Schemas:   map[string]*arrow.Schema{"things": thingsSchema},
		BatchRows: 2,
		Handovers: func(dir string) (map[string]any, error) {
			raw, err := os.ReadFile(filepath.Join(dir, "in", "greeting.txt"))
			return map[string]any{"greeting": strings.TrimSpace(string(raw))}, err
		},
		HandoverFiles: []string{"greeting.txt"},
	}
}

// passing is a case of the fake stage with every expected file written by
// hand: the timestamp is a half second before midnight in UTC+1, the
// float 1e21 is where 'g' switches to an exponent, and note b is null while
// note c is the empty string.
func passing() map[string]string {
	counts := "batches,rows,null_notes,empty_notes\n2,3,1,1\n"
	ledger := `{
  "rows": {
    "rows_read": 3,
    "rows_used": 3,
    "rows_quarantined_by_reason": {},
    "rows_excluded_by_reason": {}
  },
  "items": {
    "rows_read": 0,
    "rows_used": 0,
    "rows_quarantined_by_reason": {},
    "rows_excluded_by_reason": {}
  }
}
`
	return map[string]string{
		"job.yaml": "cohorts:\n  period: week\n",
		"run_date": "2026-03-01\n",
		"in/things.csv": "id,note,n,x,ok,day,at\n" +
			"a,hello,1,0.1,true,2026-01-31,2026-01-31T23:59:59.5+01:00\n" +
			`b,\N,\N,\N,\N,\N,\N` + "\n" +
			"c,,-3,1e21,false,2024-02-29,2026-01-01T00:00:00Z\n",
		"in/greeting.txt": "hi\n",
		"expected/echo.csv": "id,note,n,x,ok,day,at\n" +
			"a,hello,1,0.1,true,2026-01-31,2026-01-31T22:59:59.500000Z\n" +
			`b,\N,\N,\N,\N,\N,\N` + "\n" +
			"c,,-3,1e+21,false,2024-02-29,2026-01-01T00:00:00.000000Z\n",
		"expected/counts.csv":                    counts,
		"expected/files/dump/counts.parquet.csv": counts,
		"expected/files/dump/notes.txt":          "greeting=hi period=week run_date=2026-03-01\n",
		"expected/rows.json":                     ledger,
		"README.md":                              "The fake stage's case.\n",
	}
}

// writeCase writes files (by slash path) into a new case folder, leaving
// out the names in drop.
func writeCase(t *testing.T, files map[string]string, drop ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "case")
	for name, text := range files {
		skip := false
		for _, d := range drop {
			skip = skip || name == d || strings.HasPrefix(name, d+"/")
		}
		if skip {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// recorder is a testing.TB that keeps failures instead of reporting them,
// so a test can assert that a case fails, and why.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.errors = append(r.errors, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.FailNow()
}
func (r *recorder) Fatal(args ...any) {
	r.Error(args...)
	r.FailNow()
}

// FailNow stops the case's goroutine, as testing does.
func (r *recorder) FailNow() {
	r.fatal = true
	runtime.Goexit()
}
func (r *recorder) Failed() bool { return len(r.errors) > 0 }

func runRecorded(cfg Config, dir string, update bool) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runCase(r, cfg, dir, update)
	}()
	<-done
	return r
}

// wantFailure asserts the case failed with a message containing every part.
func wantFailure(t *testing.T, r *recorder, parts ...string) {
	t.Helper()
	all := strings.Join(r.errors, "\n")
	if len(r.errors) == 0 {
		t.Fatalf("the case passed; want a failure mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(all, p) {
			t.Errorf("failure does not mention %q:\n%s", p, all)
		}
	}
}

func wantPass(t *testing.T, r *recorder) {
	t.Helper()
	if len(r.errors) > 0 {
		t.Fatalf("the case failed:\n%s", strings.Join(r.errors, "\n"))
	}
}

func TestPass(t *testing.T) {
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, passing()), false))
}

func TestMissingExpectedTableFails(t *testing.T) {
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, passing(), "expected/counts.csv"), false)
	wantFailure(t, r, "no expected file", filepath.Join("expected", "counts.csv"), "-update")
}

func TestMissingExpectedFileFails(t *testing.T) {
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, passing(), "expected/files/dump/counts.parquet.csv"), false)
	wantFailure(t, r, "no expected file", filepath.Join("expected", "files", "dump", "counts.parquet.csv"))
}

func TestExtraExpectedFileFails(t *testing.T) {
	files := passing()
	files["expected/ghost.csv"] = "a\n"
	files["expected/files/dump/old.txt"] = "x"
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false)
	wantFailure(t, r, filepath.Join("expected", "ghost.csv"), filepath.Join("expected", "files", "dump", "old.txt"), "matches nothing")
}

func TestDifferingCellFails(t *testing.T) {
	files := passing()
	files["expected/echo.csv"] = strings.Replace(files["expected/echo.csv"], "1e+21", "1e21", 1)
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false)
	wantFailure(t, r, "echo.csv differs", `line 4: got "c,,-3,1e+21`)
}

func TestLedgerIsCompared(t *testing.T) {
	files := passing()
	files["expected/rows.json"] = strings.Replace(files["expected/rows.json"], `"rows_used": 3`, `"rows_used": 2`, 1)
	wantFailure(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false), "rows.json differs")
	// Without rows.json the ledger is not pinned.
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, passing(), "expected/rows.json"), false))
}

func boomCase(t *testing.T, wantErr string) string {
	files := passing()
	files["in/things.csv"] += "boom," + nulls6 + "\n"
	files["expected.err"] = wantErr
	return writeCase(t, files, "expected")
}

func TestExpectedErrorMatched(t *testing.T) {
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), boomCase(t, "boom in row 4\n"), false))
}

func TestExpectedErrorOtherText(t *testing.T) {
	r := runRecorded(fakeConfig(fakeSpec()), boomCase(t, "bang"), false)
	wantFailure(t, r, "boom in row 4", `wants it to contain "bang"`)
}

func TestStageUnexpectedlySucceeds(t *testing.T) {
	files := passing()
	files["expected.err"] = "boom"
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files, "expected"), false)
	wantFailure(t, r, "succeeded", `"boom"`)
}

func TestStageUnexpectedlyFails(t *testing.T) {
	files := passing()
	files["in/things.csv"] += "boom," + nulls6 + "\n"
	wantFailure(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false), "stage fake failed", "boom in row 4")
}

func TestExpectedErrorAndExpectedFolderConflict(t *testing.T) {
	files := passing()
	files["expected.err"] = "boom"
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false)
	wantFailure(t, r, "not both")
}

// A job value the job file rejects is the stage's error to expect, since
// the sections are the stages' configuration.
func TestJobErrorMatched(t *testing.T) {
	files := passing()
	files["job.yaml"] = "cohorts: {period: day}\n"
	files["expected.err"] = "cohorts.period"
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, files, "expected"), false))
}

// period is a section shaped like a stage's own, for the fake stage.
type period struct {
	Period string `yaml:"period" doc:"A period." enum:"month|week|quarter"`
}

var periodSection = config.NewSpec("cohorts", "A fake stage's section.", func() period { return period{Period: "month"} }, nil)

func TestJobKeepsGivenNameAndPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte("name: mine\ninput:\n  orders: {path: o.parquet}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := newContext(dir, DefaultRunDate, memory.NewGoAllocator(), []config.Section{periodSection})
	if err != nil {
		t.Fatal(err)
	}
	orders := night.InputOf(rc.Job).Orders.Path
	if rc.Job.Name != "mine" || orders != filepath.Join(dir, "o.parquet") || periodSection.Of(rc.Job).Period != "month" {
		t.Errorf("job %q, orders %q, period %q", rc.Job.Name, orders, periodSection.Of(rc.Job).Period)
	}
	// No job.yaml at all is a job of defaults.
	rc, err = newContext(t.TempDir(), DefaultRunDate, memory.NewGoAllocator(), nil)
	if err != nil || filepath.Base(night.InputOf(rc.Job).Orders.Path) != placeholderOrders || rc.RunDateString() != DefaultRunDate {
		t.Errorf("no job file: %v", err)
	}
}

func TestLeakFails(t *testing.T) {
	files := passing()
	files["in/things.csv"] += "leak," + nulls6 + "\n"
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files, "expected"), true)
	wantFailure(t, r, "invalid memory size exp=0")
}

// TestNullMarker reads a table and renders it back: \N is null, an empty
// cell the empty string, and a text that reads \N cannot be written.
func TestNullMarker(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := "id,note,n,x,ok,day,at\n" + `a,\N,\N,\N,\N,\N,\N` + "\nb,,0,0,false,1970-01-01,1970-01-01T00:00:00.000001Z\n"
	path := filepath.Join(t.TempDir(), "things.csv")
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := readCSV(path, thingsSchema, 1, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if len(recs) != 2 {
		t.Fatalf("%d batches of one row each, want 2", len(recs))
	}
	a, b := recs[0].Column(1), recs[1].Column(1).(*array.String)
	if !a.IsNull(0) || b.IsNull(0) || b.Value(0) != "" {
		t.Errorf(`\N read as %v, empty cell as null=%v %q`, a, b.IsNull(0), b.Value(0))
	}
	got, err := render(thingsSchema, recs, "/nowhere")
	if err != nil || got != in {
		t.Errorf("round trip: %v\n--- got\n%s--- want\n%s", err, got, in)
	}

	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.Append(Null)
	arr := sb.NewArray()
	defer arr.Release()
	if _, err := cellText(arr, 0, "/nowhere"); err == nil {
		t.Errorf(`the text \N rendered as if it were null`)
	}
}

func TestMissingColumns(t *testing.T) {
	files := passing()
	files["in/things.csv"] = "id,note\na,x\n"
	files["expected/echo.csv"] = "id,note,n,x,ok,day,at\n" + `a,x,\N,\N,\N,\N,\N` + "\n"
	files["expected/counts.csv"] = "batches,rows,null_notes,empty_notes\n1,1,0,0\n"
	files["expected/files/dump/counts.parquet.csv"] = files["expected/counts.csv"]
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files, "expected/rows.json"), false)
	wantPass(t, r)

	files["in/things.csv"] = "note\nx\n"
	r = runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false)
	wantFailure(t, r, `column "id" is missing and not nullable`)
	if !r.fatal {
		t.Error("a malformed input went on to run the stage")
	}
}

func TestBadCellNamesRowAndColumn(t *testing.T) {
	files := passing()
	files["in/things.csv"] = "id,n\na,1\nb,1.5\n"
	r := runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false)
	wantFailure(t, r, "things.csv row 3 column n", `"1.5" is not a int64`)
}

func TestMisspeltInputFails(t *testing.T) {
	files := passing()
	files["in/thing.csv"] = files["in/things.csv"]
	wantFailure(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false), "in/thing.csv is not an input table")
}

func TestUnknownCaseEntryFails(t *testing.T) {
	files := passing()
	files["run-date"] = "2026-01-01\n"
	wantFailure(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false), `unknown entry "run-date"`)
}

// A files/ folder holds what a stage reads itself; the harness leaves it
// to the stage and the package's test.
func TestFilesFolderAllowed(t *testing.T) {
	files := passing()
	files["files/orders.csv"] = "order_id\no1\n"
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), writeCase(t, files), false))
}

// TestUpdate writes expected/ from the output, as written by hand in
// passing, removes what the stage no longer makes, and leaves an error
// case alone.
func TestUpdate(t *testing.T) {
	files := passing()
	files["expected/ghost.csv"] = "a\n"
	dir := writeCase(t, files, "expected/echo.csv", "expected/files", "expected/counts.csv")
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), dir, true))
	for name, want := range passing() {
		if !strings.HasPrefix(name, "expected/") {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s after -update: %v\n--- got\n%s--- want\n%s", name, err, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "expected", "ghost.csv")); err == nil {
		t.Error("-update left a stale expected file")
	}
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), dir, false))

	errDir := boomCase(t, "boom")
	wantPass(t, runRecorded(fakeConfig(fakeSpec()), errDir, true))
	if _, err := os.Stat(filepath.Join(errDir, "expected")); err == nil {
		t.Error("-update wrote expected/ for an error case")
	}
	bad := boomCase(t, "bang")
	wantFailure(t, runRecorded(fakeConfig(fakeSpec()), bad, true), `"bang"`)
	if raw, _ := os.ReadFile(filepath.Join(bad, "expected.err")); string(raw) != "bang" {
		t.Errorf("-update rewrote expected.err to %q", raw)
	}
}

// A background stage's Process may not emit, as in a run.
func TestBackgroundEmitRefused(t *testing.T) {
	spec := fakeSpec()
	spec.Background = true
	files := passing()
	files["expected.err"] = engine.ErrEmitInBackground.Error()
	wantPass(t, runRecorded(fakeConfig(spec), writeCase(t, files, "expected"), false))
}

func TestMissingHandoverIsTheStagesError(t *testing.T) {
	cfg := fakeConfig(fakeSpec())
	cfg.Handovers = nil
	files := passing()
	files["expected.err"] = "hand-over not provided"
	wantPass(t, runRecorded(cfg, writeCase(t, files, "expected", "in/greeting.txt"), false))
}

// TestRun walks a folder of cases as subtests.
func TestRun(t *testing.T) {
	root := t.TempDir()
	spec := fakeSpec()
	built := 0
	newFake := spec.New
	spec.New = func(ctx context.Context, rc *night.Context) (engine.Stage, error) {
		built++
		return newFake(ctx, rc)
	}
	for _, name := range []string{"one", "two"} {
		if err := os.Rename(writeCase(t, passing()), filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fakeConfig(spec)
	cfg.Dir = root
	Run(t, cfg)
	if built != 2 {
		t.Errorf("stage built %d times for 2 cases", built)
	}
}

// nulls6 fills the six nullable columns of a things row.
const nulls6 = `\N,\N,\N,\N,\N,\N`
