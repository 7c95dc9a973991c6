package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

const date = "2026-11-22"

// committedRoot is an output root holding one committed run of date.
func committedRoot(t *testing.T) string {
	root := t.TempDir()
	writeFile(t, filepath.Join(PartitionDir(root, "customer_summary", date), "part-00000.parquet"), "old")
	writeFile(t, filepath.Join(RunDir(root, date), ManifestName), `{"run_id":"old"}`)
	writeFile(t, filepath.Join(RunDir(root, date), SuccessName), "")
	return root
}

// TestRollForwardAfterKillMidCommit simulates a run killed after its commit
// journal was written and one of two tables was swapped: the next run of the
// date completes the commit.
func TestRollForwardAfterKillMidCommit(t *testing.T) {
	root := committedRoot(t)
	staging := filepath.Join(root, stagingDir, date+"-killed")
	writeFile(t, filepath.Join(PartitionDir(staging, "customer_summary", date), "part-00000.parquet"), "new summary")
	writeFile(t, filepath.Join(PartitionDir(staging, "quarantine", date), "part-00000.parquet"), "new quarantine")
	raw, _ := json.Marshal(journal{RunDate: date, Tables: []string{"quarantine", "customer_summary"}, Manifest: json.RawMessage(`{"run_id":"killed"}`)})
	writeFile(t, filepath.Join(staging, journalName), string(raw))
	// The kill came after quarantine moved in and _SUCCESS was removed.
	os.Remove(filepath.Join(RunDir(root, date), SuccessName))
	if err := os.MkdirAll(filepath.Join(root, "quarantine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(PartitionDir(staging, "quarantine", date), PartitionDir(root, "quarantine", date)); err != nil {
		t.Fatal(err)
	}

	n, err := recoverDate(root, date)
	if err != nil || n != 1 {
		t.Fatalf("recoverDate = %d, %v; want 1 run rolled forward", n, err)
	}
	for table, want := range map[string]string{"customer_summary": "new summary", "quarantine": "new quarantine"} {
		if got := readFile(t, filepath.Join(PartitionDir(root, table, date), "part-00000.parquet")); got != want {
			t.Errorf("%s = %q, want %q", table, got, want)
		}
	}
	if got := readFile(t, filepath.Join(RunDir(root, date), ManifestName)); got != `{"run_id":"killed"}` {
		t.Errorf("manifest = %s", got)
	}
	if !exists(filepath.Join(RunDir(root, date), SuccessName)) {
		t.Error("_SUCCESS missing after roll-forward")
	}
	if exists(staging) {
		t.Error("staging folder left behind")
	}
}

// TestUncommittedStagingIsDiscarded: a run killed before its journal never
// becomes visible, and the committed state stays as it was.
func TestUncommittedStagingIsDiscarded(t *testing.T) {
	root := committedRoot(t)
	staging := filepath.Join(root, stagingDir, date+"-dead")
	writeFile(t, filepath.Join(PartitionDir(staging, "customer_summary", date), "part-00000.parquet"), "half written")
	other := filepath.Join(root, stagingDir, "2026-11-21-other")
	writeFile(t, filepath.Join(other, "x"), "another date's run")

	if n, err := recoverDate(root, date); err != nil || n != 0 {
		t.Fatalf("recoverDate = %d, %v", n, err)
	}
	if exists(staging) {
		t.Error("dead staging folder not removed")
	}
	if !exists(other) {
		t.Error("a staging folder of another date was touched")
	}
	if got := readFile(t, filepath.Join(PartitionDir(root, "customer_summary", date), "part-00000.parquet")); got != "old" {
		t.Errorf("committed partition changed to %q", got)
	}
	if !exists(filepath.Join(RunDir(root, date), SuccessName)) {
		t.Error("_SUCCESS of the committed run removed")
	}
}

func TestCommitReplacesPartition(t *testing.T) {
	root := committedRoot(t)
	staging, err := newStaging(root, date, "r2")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(PartitionDir(staging, "customer_summary", date), "part-00000.parquet"), "second")
	if err := commit(root, staging, date, []string{"customer_summary"}, []byte(`{"run_id":"r2"}`)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(PartitionDir(root, "customer_summary", date))
	if len(entries) != 1 || readFile(t, filepath.Join(PartitionDir(root, "customer_summary", date), "part-00000.parquet")) != "second" {
		t.Errorf("partition holds %v, want only the second run's file", entries)
	}
	if exists(staging) {
		t.Error("staging folder left behind")
	}
}

func TestLockDateIsExclusive(t *testing.T) {
	root := t.TempDir()
	release, err := lockDate(root, date)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDate(root, date); err == nil || !strings.Contains(err.Error(), "another run of "+date) {
		t.Errorf("second lock of the same date: err = %v", err)
	}
	other, err := lockDate(root, "2026-11-21")
	if err != nil {
		t.Errorf("a different date must not be blocked: %v", err)
	} else {
		other()
	}
	release()
	again, err := lockDate(root, date)
	if err != nil {
		t.Errorf("lock not released: %v", err)
	} else {
		again()
	}
}

func TestBuildGraph(t *testing.T) {
	mk := func(name string, in, out []string) Spec {
		return Spec{Name: name, Inputs: in, Outputs: out, New: func(*RunContext) (Stage, error) { return BaseStage{}, nil }}
	}
	g, err := BuildGraph([]Spec{mk("sink", []string{"b"}, nil), mk("mid", []string{"a"}, []string{"b"}), mk("src", nil, []string{"a"})})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range g.Order {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "src,mid,sink" {
		t.Errorf("order = %v", names)
	}
	tests := []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"two producers", []Spec{mk("a", nil, []string{"t"}), mk("b", nil, []string{"t"})}, "produced by both"},
		{"missing producer", []Spec{mk("a", []string{"t"}, nil)}, "no stage produces"},
		{"cycle", []Spec{mk("a", []string{"y"}, []string{"x"}), mk("b", []string{"x"}, []string{"y"})}, "cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildGraph(tt.specs)
			if !errors.Is(err, ErrGraph) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrGraph with %q", err, tt.want)
			}
		})
	}
	var r Registry
	if err := r.Register(mk("a", nil, nil)); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(mk("a", nil, nil)); !errors.Is(err, ErrGraph) {
		t.Errorf("duplicate stage name: err = %v", err)
	}
}

func TestAccountingCheck(t *testing.T) {
	a := NewAccounting()
	a.Read, a.Used = 10, 7
	a.Quarantined["x"] = 2
	a.Excluded["y"] = 1
	if err := a.Check(); err != nil {
		t.Errorf("balanced accounting rejected: %v", err)
	}
	a.Used--
	if err := a.Check(); err == nil {
		t.Error("a lost row went unnoticed")
	}
}
