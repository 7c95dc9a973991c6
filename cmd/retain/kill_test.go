package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

const killDate = "2026-11-22"

// TestKillAtRandomInstants reruns the nightly job on a small generated shop
// and kills it with SIGKILL at random instants, a third of them in the
// moments after the last stage, where the commit runs. After every kill each
// table shows exactly one complete night; at the end a run succeeds and
// leaves nothing behind, and a run of another date removes what a killed
// run of this date left.
func TestKillAtRandomInstants(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the job about 20 times")
	}
	started := time.Now()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "retain")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	shop, out := filepath.Join(tmp, "shop"), filepath.Join(tmp, "out")
	if raw, err := exec.Command(bin, "gen", "--customers", "2000", "--out", shop, "--end-date", killDate).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, raw)
	}
	job, err := filepath.Abs("../../jobs/nightly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	args := func(date, runID string) []string {
		return []string{"run", "--job", job, "--input", shop, "--output", out, "--run-date", date, "--run-id", runID}
	}

	t0 := time.Now()
	if raw, err := exec.Command(bin, args(killDate, "first")...).CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, raw)
	}
	runTime := time.Since(t0)
	first := checkOneNight(t, out, killDate)
	if first.RunID != "first" {
		t.Fatalf("published run %q after the first run", first.RunID)
	}
	firstTables := tableHashes(t, out, killDate, first)

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("one run takes %v; seed %d", runTime.Round(time.Millisecond), seed)
	visible := first.RunID
	phases := map[string]int{}
	kills := 0
	for i := 0; i < 15 && time.Since(started) < 30*time.Second; i++ {
		kills++
		runID := "kill-" + string(rune('a'+i))
		var delay time.Duration
		afterStages := i%3 == 2
		if afterStages {
			delay = time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
		} else {
			delay = time.Duration(rng.Int64N(int64(runTime) * 21 / 20))
		}
		phase := killRun(t, bin, args(killDate, runID), delay, afterStages)
		m := checkOneNight(t, out, killDate)
		switch m.RunID {
		case visible:
			phases[phase]++
		case runID:
			visible = runID // published before the kill came
			phases[phase+", published"]++
		default:
			t.Fatalf("kill %d (%s after %v): run %q is visible, want %q or %q", i, phase, delay, m.RunID, visible, runID)
		}
		if t.Failed() {
			t.Fatalf("kill %d (%s after %v) left an incomplete night", i, phase, delay)
		}
	}
	t.Logf("%d kills, by the last thing the run logged: %v", kills, phases)

	if raw, err := exec.Command(bin, args(killDate, "final")...).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, raw)
	}
	final := checkOneNight(t, out, killDate)
	if final.RunID != "final" {
		t.Fatalf("published run %q after the final run", final.RunID)
	}
	checkNoLeftovers(t, out, killDate)
	got := tableHashes(t, out, killDate, final)
	for name, h := range firstTables {
		if got[name] != h {
			t.Errorf("%s differs between runs of the same date", name)
		}
	}

	// A run killed while its stages run leaves its staging folder; a run of
	// another date removes it.
	const otherDate = "2026-11-21"
	orphan := filepath.Join(out, "_staging", killDate+"-orphan")
	if phase := killRun(t, bin, args(killDate, "orphan"), 0, false); !exists(orphan) {
		t.Fatalf("a run killed at %q left no staging folder", phase)
	}
	if raw, err := exec.Command(bin, args(otherDate, "other")...).CombinedOutput(); err != nil {
		t.Fatalf("run of %s: %v\n%s", otherDate, err, raw)
	}
	if exists(orphan) {
		t.Errorf("the run of %s left the staging folder of a killed run of %s", otherDate, killDate)
	}
	if m := checkOneNight(t, out, killDate); m.RunID != "final" {
		t.Errorf("%s shows run %q after a run of another date", killDate, m.RunID)
	}
	checkOneNight(t, out, otherDate)
	checkNoLeftovers(t, out, killDate)
	t.Logf("took %v", time.Since(started).Round(time.Second))
}

// killRun starts a run and kills it with SIGKILL delay after it started,
// or, with afterStages, delay after its last stage finished; delay 0
// without afterStages kills it as soon as its staging folder exists. It
// returns the last message the run logged.
func killRun(t *testing.T, bin string, args []string, delay time.Duration, afterStages bool) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var msg string
	done := make(chan struct{})
	mark := make(chan struct{}, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Message, Stage string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			m := line.Message
			if line.Stage != "" {
				m += " " + line.Stage
			}
			if (afterStages && m == "stage done load") || (!afterStages && delay == 0 && m == "run started") {
				mark <- struct{}{}
			}
			msg = m
		}
	}()
	if afterStages || delay == 0 {
		select {
		case <-mark:
		case <-done:
			t.Errorf("the run ended before it could be killed where wanted, last logging %q", msg)
		}
	}
	time.Sleep(delay)
	_ = cmd.Process.Kill()
	<-done
	_ = cmd.Wait()
	return msg
}

type manifest struct {
	RunID  string `json:"run_id"`
	Tables []struct {
		Name string `json:"name"`
		Rows int64  `json:"rows"`
	} `json:"tables"`
	Artifacts    []string         `json:"artifacts"`
	ArtifactRows map[string]int64 `json:"artifact_rows"`
}

// checkOneNight checks that what a reader of out sees for date is one
// complete night: the published manifest and _SUCCESS, under every table's
// glob exactly the manifest's file with the manifest's rows, the artifacts
// it lists, and nothing under the globs of anything else.
func checkOneNight(t *testing.T, out, date string) manifest {
	t.Helper()
	var m manifest
	run := filepath.Join(out, "_runs", "snapshot_date="+date)
	raw, err := os.ReadFile(filepath.Join(run, "_manifest.json"))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if !exists(filepath.Join(run, "_SUCCESS")) {
		t.Errorf("no _SUCCESS beside the manifest of %s", m.RunID)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "_") {
			continue
		}
		files, err := filepath.Glob(filepath.Join(out, name, "snapshot_date=*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		// Only this date's files; other dates have nights of their own.
		files = slices.DeleteFunc(files, func(p string) bool {
			return !strings.Contains(p, string(filepath.Separator)+"snapshot_date="+date+string(filepath.Separator))
		})
		rel := make([]string, len(files))
		for i, p := range files {
			rel[i], _ = filepath.Rel(out, p)
		}
		want, rows := expectedFiles(m, name, date)
		if !slices.Equal(rel, want) {
			t.Errorf("%s: a reader sees %v, run %s published %v", name, rel, m.RunID, want)
			continue
		}
		seen[name] = true
		for i, p := range files {
			if strings.HasSuffix(p, ".parquet") {
				if n := parquetRows(t, mem, p); n != rows[i] {
					t.Errorf("%s: %d rows, manifest of %s says %d", rel[i], n, m.RunID, rows[i])
				}
			} else if strings.HasSuffix(p, ".csv") {
				raw, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if n := int64(bytes.Count(raw, []byte("\n")) - 1); n != rows[i] {
					t.Errorf("%s: %d rows, manifest of %s says %d", rel[i], n, m.RunID, rows[i])
				}
			}
		}
	}
	for _, tm := range m.Tables {
		if !seen[tm.Name] {
			t.Errorf("table %s of run %s is not visible", tm.Name, m.RunID)
		}
	}
	return m
}

// expectedFiles are the files of name that m published for date, sorted, and
// their rows (-1 where the manifest has no count).
func expectedFiles(m manifest, name, date string) ([]string, []int64) {
	dir := filepath.Join(name, "snapshot_date="+date)
	for _, tm := range m.Tables {
		if tm.Name == name {
			return []string{filepath.Join(dir, "part-00000.parquet")}, []int64{tm.Rows}
		}
	}
	if !slices.Contains(m.Artifacts, dir) {
		return []string{}, nil
	}
	var files []string
	for p := range m.ArtifactRows {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			files = append(files, p)
		}
	}
	if len(files) == 0 && name == "report" {
		files = []string{filepath.Join(dir, "report.html")}
	}
	slices.Sort(files)
	rows := make([]int64, len(files))
	for i, p := range files {
		rows[i] = -1
		if n, ok := m.ArtifactRows[p]; ok {
			rows[i] = n
		}
	}
	return files, rows
}

func parquetRows(t *testing.T, mem memory.Allocator, path string) int64 {
	t.Helper()
	r, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return -1
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, mem)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return -1
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return -1
	}
	defer tbl.Release()
	return tbl.NumRows()
}

// tableHashes hashes the published tables that a rerun must reproduce byte
// for byte; model_fit holds fit times.
func tableHashes(t *testing.T, out, date string, m manifest) map[string][32]byte {
	t.Helper()
	hashes := map[string][32]byte{}
	for _, tm := range m.Tables {
		if tm.Name == "model_fit" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(out, tm.Name, "snapshot_date="+date, "part-00000.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		hashes[tm.Name] = sha256.Sum256(raw)
	}
	return hashes
}

// checkNoLeftovers: no staging folder, one night folder beside current, no
// dangling link.
func checkNoLeftovers(t *testing.T, out, date string) {
	t.Helper()
	staging, _ := os.ReadDir(filepath.Join(out, "_staging"))
	for _, e := range staging {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left in _staging: %s", e.Name())
		}
	}
	if nights, _ := os.ReadDir(filepath.Join(out, "_nights", date)); len(nights) != 2 {
		t.Errorf("_nights/%s holds %d entries, want current and one night", date, len(nights))
	}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("dangling link %s", p)
			}
		}
		return nil
	})
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }
