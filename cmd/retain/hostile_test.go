package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/pipeline"
)

// hostileCase is a case folder's expect.json: what the CLI must do with a
// hostile input. Every field but ExitCode is optional.
type hostileCase struct {
	ExitCode int    `json:"exit_code"`
	Status   string `json:"status"`
	// ErrorContains are substrings of the failed summary line's error.
	ErrorContains []string `json:"error_contains"`
	// Quarantined and Excluded are compared exactly with the manifest's
	// counts by reason.
	Quarantined map[string]int64 `json:"quarantined"`
	Excluded    map[string]int64 `json:"excluded"`
	// Rows are the manifest's row_totals.
	Rows *pipeline.RowTotals `json:"rows"`
	// Manifest maps dotted paths of _manifest.json to their values.
	Manifest map[string]any `json:"manifest"`
	Args     []string       `json:"args"`
	// Before are runs into the same output root before the case's run, each
	// with its own input folder; they must succeed, and a failing case run
	// must leave what they committed byte for byte as it was.
	Before []struct {
		RunDate string `json:"run_date"`
		Input   string `json:"input"`
	} `json:"before"`
}

// TestHostile runs every case under testdata/hostile/ through the CLI.
func TestHostile(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/hostile/*/expect.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no hostile cases: %v", err)
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) { runHostile(t, dir) })
	}
}

func runHostile(t *testing.T, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want hostileCase
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("expect.json: %v", err)
	}
	dateRaw, err := os.ReadFile(filepath.Join(dir, "run_date"))
	if err != nil {
		t.Fatal(err)
	}
	date := strings.TrimSpace(string(dateRaw))
	jobFile := filepath.Join(dir, "job.yaml")
	out := t.TempDir()

	for _, b := range want.Before {
		var stdout, stderr bytes.Buffer
		args := []string{"run", "--job", jobFile, "--run-date", b.RunDate, "--output", out, "--input", filepath.Join(dir, b.Input)}
		if err := run(args, &stdout, &stderr); err != nil {
			t.Fatalf("run before the case (%s): %v\n%s", b.RunDate, err, stderr.String())
		}
	}
	before := committedFiles(t, out)

	var stdout, stderr bytes.Buffer
	args := append([]string{"run", "--job", jobFile, "--run-date", date, "--output", out, "--run-id", "hostile"}, want.Args...)
	err = run(args, &stdout, &stderr)
	if got := exitCode(err); got != want.ExitCode {
		t.Fatalf("exit code %d, want %d; err: %v\nstderr:\n%s", got, want.ExitCode, err, lastLines(stderr.String(), 5))
	}
	var sum map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil || strings.Count(stdout.String(), "\n") != 1 {
		t.Fatalf("stdout is not one JSON summary line: %q (%v)", stdout.String(), err)
	}
	if want.Status != "" && sum["status"] != want.Status {
		t.Errorf("status %v, want %s", sum["status"], want.Status)
	}
	msg, _ := sum["error"].(string)
	for _, s := range want.ErrorContains {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if seg := repeatedSegment(msg); seg != "" {
		t.Errorf("error %q says %q twice", msg, seg)
	}

	if want.ExitCode != exitOK {
		// A night without orders (exit 3) is not a failure: main logs it
		// as a warning.
		if want.ExitCode == exitFailure && !hasErrorLog(stderr.Bytes()) {
			t.Errorf("no JSON log line with level error on stderr:\n%s", lastLines(stderr.String(), 5))
		}
		if after := committedFiles(t, out); !reflect.DeepEqual(after, before) {
			t.Errorf("a failed run changed committed files:\nbefore %v\nafter  %v", keys(before), keys(after))
		}
		return
	}

	m := readManifest(t, out, date)
	acc, _ := m["row_accounting"].(map[string]any)
	if want.Quarantined != nil {
		compareCounts(t, "quarantined", acc["rows_quarantined_by_reason"], want.Quarantined)
	}
	if want.Excluded != nil {
		compareCounts(t, "excluded", acc["rows_excluded_by_reason"], want.Excluded)
	}
	if want.Rows != nil {
		var got pipeline.RowTotals
		rt, _ := json.Marshal(m["row_totals"])
		_ = json.Unmarshal(rt, &got)
		if got != *want.Rows {
			t.Errorf("row totals %+v, want %+v", got, *want.Rows)
		}
	}
	for path, v := range want.Manifest {
		got, ok := lookup(m, path)
		if !ok {
			t.Errorf("manifest has no %s", path)
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("manifest %s = %v, want %v", path, got, v)
		}
	}
	checkOutputsClean(t, out, date)
}

// committedFiles hashes every file a reader can reach through the table
// and run folders.
func committedFiles(t *testing.T, out string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, pattern := range []string{"*/snapshot_date=*/*", "_runs/snapshot_date=*/*"} {
		matches, err := filepath.Glob(filepath.Join(out, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range matches {
			st, err := os.Stat(p)
			if err != nil || st.IsDir() {
				continue
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			rel, _ := filepath.Rel(out, p)
			files[rel] = hex.EncodeToString(sum[:])
		}
	}
	return files
}

// checkOutputsClean fails on any output string that is not valid UTF-8 and
// any float that is NaN or infinite: one such value breaks a BI tool's read
// of every night, since readers glob all dates.
func checkOutputsClean(t *testing.T, out, date string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(out, "*", "snapshot_date="+date, "*"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no committed files for %s: %v", date, err)
	}
	for _, p := range matches {
		rel, _ := filepath.Rel(out, p)
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue
		}
		if strings.HasSuffix(p, ".parquet") {
			checkParquetClean(t, p, rel)
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(raw) {
			t.Errorf("%s is not valid UTF-8", rel)
		}
	}
}

func checkParquetClean(t *testing.T, path, rel string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, mem)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		for c, col := range rec.Columns() {
			name := rec.Schema().Field(c).Name
			if bad, ok := firstUnclean(col); ok {
				t.Errorf("%s: column %s row %d holds %s", rel, name, bad.row, bad.what)
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Errorf("%s: %v", rel, err)
	}
}

type unclean struct {
	row  int
	what string
}

func firstUnclean(col arrow.Array) (unclean, bool) {
	for i := 0; i < col.Len(); i++ {
		if col.IsNull(i) {
			continue
		}
		switch a := col.(type) {
		case *array.String:
			if !utf8.ValidString(a.Value(i)) {
				return unclean{i, "invalid UTF-8 " + strconvQuote(a.Value(i))}, true
			}
		case *array.LargeString:
			if !utf8.ValidString(a.Value(i)) {
				return unclean{i, "invalid UTF-8 " + strconvQuote(a.Value(i))}, true
			}
		case *array.Float64:
			if v := a.Value(i); math.IsNaN(v) || math.IsInf(v, 0) {
				return unclean{i, "a non-finite float"}, true
			}
		case *array.Float32:
			if v := float64(a.Value(i)); math.IsNaN(v) || math.IsInf(v, 0) {
				return unclean{i, "a non-finite float"}, true
			}
		}
	}
	return unclean{}, false
}

func strconvQuote(s string) string { b, _ := json.Marshal([]byte(s)); return string(b) }

func readManifest(t *testing.T, out, date string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(out, date), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func compareCounts(t *testing.T, what string, got any, want map[string]int64) {
	t.Helper()
	g := map[string]int64{}
	if m, ok := got.(map[string]any); ok {
		for k, v := range m {
			if f, ok := v.(float64); ok {
				g[k] = int64(f)
			}
		}
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("%s by reason %v, want %v", what, g, want)
	}
}

// lookup follows a dotted path through decoded JSON; numbers compare as
// float64, as expect.json decodes them.
func lookup(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func hasErrorLog(stderr []byte) bool {
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		var l struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(line, &l) == nil && l.Level == "error" {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
