package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

// nightFiles is one run's output as a test stages it: a file per table or
// artifact, and a manifest naming the run.
type nightFiles struct {
	id    string
	files map[string]string // name -> content of its one file
}

func (n nightFiles) names() []string { return sortedKeys(n.files) }

func (n nightFiles) manifest() string { return `{"run_id":"` + n.id + `"}` }

// fileName is the one file of a staged folder: tables hold a part file,
// the report its page.
func fileName(name string) string {
	if name == "report" {
		return "report.html"
	}
	return "part-00000.parquet"
}

func newNight(id string, names ...string) nightFiles {
	n := nightFiles{id: id, files: map[string]string{}}
	for _, name := range names {
		n.files[name] = id + ":" + name
	}
	return n
}

var (
	nightA = newNight("A", "customer_summary", "quarantine", "product_affinity", "report")
	// nightB drops product_affinity and adds segment_summary, so a table
	// gone tonight and one new tonight are both covered.
	nightB = newNight("B", "customer_summary", "quarantine", "segment_summary", "report")
)

// stageNight writes n's files into a new staging folder of root.
func stageNight(t *testing.T, root string, n nightFiles) string {
	t.Helper()
	return stageNightOn(t, root, date, n)
}

// stageNightOn is stageNight for another date than the tests' usual one.
func stageNightOn(t *testing.T, root, d string, n nightFiles) string {
	t.Helper()
	staging, err := newStaging(root, d, n.id)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range n.files {
		writeFile(t, filepath.Join(staging, name, fileName(name)), content)
	}
	return staging
}

// publish does what a run does after its stages: commit, then tidy. A
// failed commit leaves the staging folder to the caller.
func publish(t *testing.T, fsys fileSystem, root string, n nightFiles) (staging string, commitErr, tidyErr error) {
	t.Helper()
	return publishOn(t, fsys, root, date, n)
}

// publishOn is publish for another date than the tests' usual one.
func publishOn(t *testing.T, fsys fileSystem, root, d string, n nightFiles) (staging string, commitErr, tidyErr error) {
	t.Helper()
	staging = stageNightOn(t, root, d, n)
	if commitErr = commit(fsys, root, staging, d, n.id, n.names(), []byte(n.manifest())); commitErr != nil {
		return staging, commitErr, nil
	}
	return staging, nil, tidy(fsys, root, d)
}

// committedRoot is an output root holding one published night.
func committedRoot(t *testing.T, n nightFiles) string {
	t.Helper()
	root := t.TempDir()
	if _, err, terr := publish(t, osFS{}, root, n); err != nil || terr != nil {
		t.Fatal(err, terr)
	}
	return root
}

// oldLayoutRoot is an output root as versions before _nights committed a
// night: real folders at snapshot_date=<date>.
func oldLayoutRoot(t *testing.T, n nightFiles) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range n.files {
		writeFile(t, filepath.Join(PartitionDir(root, name, date), fileName(name)), content)
	}
	writeFile(t, filepath.Join(RunDir(root, date), ManifestName), n.manifest())
	writeFile(t, filepath.Join(RunDir(root, date), SuccessName), "")
	writeFile(t, filepath.Join(root, stagingDir, date+".lock"), "")
	return root
}

// view is what a reader of root sees for date: every file under
// <root>/<name>/snapshot_date=*/ by path, the manifest and _SUCCESS.
type view struct {
	files    map[string]string
	manifest string
	success  bool
}

func readerView(t *testing.T, root string, names []string) view {
	t.Helper()
	v := view{files: map[string]string{}}
	for _, name := range names {
		paths, err := filepath.Glob(filepath.Join(root, name, "snapshot_date=*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			rel, _ := filepath.Rel(root, p)
			v.files[rel] = readFile(t, p)
		}
	}
	if raw, err := os.ReadFile(filepath.Join(RunDir(root, date), ManifestName)); err == nil {
		v.manifest = string(raw)
	}
	v.success = exists(filepath.Join(RunDir(root, date), SuccessName))
	return v
}

// viewOf is what a reader must see when n is the published night; the zero
// night is a date never published.
func viewOf(n nightFiles) view {
	v := view{files: map[string]string{}}
	if n.id == "" {
		return v
	}
	for name, content := range n.files {
		v.files[filepath.Join(name, "snapshot_date="+date, fileName(name))] = content
	}
	v.manifest, v.success = n.manifest(), true
	return v
}

func (v view) String() string {
	b, _ := json.Marshal(map[string]any{"files": v.files, "manifest": v.manifest, "success": v.success})
	return string(b)
}

func allNames(nights ...nightFiles) []string {
	set := map[string]bool{}
	for _, n := range nights {
		for name := range n.files {
			set[name] = true
		}
	}
	return sortedKeys(set)
}

func checkView(t *testing.T, root string, want nightFiles, also ...nightFiles) {
	t.Helper()
	got := readerView(t, root, allNames(append(also, want)...))
	if got.String() != viewOf(want).String() {
		t.Errorf("reader sees\n%s\nwant night %q:\n%s", got, want.id, viewOf(want))
	}
}

// checkNoLeftovers: only the published nightFiles, its links and the lock files
// remain.
func checkNoLeftovers(t *testing.T, root string, published nightFiles) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(root, stagingDir))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left in %s: %s", stagingDir, e.Name())
		}
	}
	nights, _ := os.ReadDir(filepath.Join(root, nightsDir))
	if len(nights) != 1 || nights[0].Name() != date {
		t.Errorf("%s holds %v, want only %s", nightsDir, nights, date)
	}
	cur, err := os.Readlink(filepath.Join(nightDir(root, date), currentName))
	if err != nil {
		t.Fatal(err)
	}
	inside, _ := os.ReadDir(nightDir(root, date))
	if len(inside) != 2 {
		t.Errorf("%s holds %v, want current and %s only", nightDir(root, date), inside, cur)
	}
	m, err := os.ReadFile(filepath.Join(nightDir(root, date), cur, ManifestName))
	if err != nil || string(m) != published.manifest() {
		t.Errorf("current names %s holding manifest %s, want %s", cur, m, published.manifest())
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasSuffix(d.Name(), ".tmp") || strings.HasPrefix(d.Name(), pointerPrefix) || d.Name() == adoptedName {
			t.Errorf("left behind: %s", rel)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("dangling link %s", rel)
			}
		}
		return nil
	})
}

func TestCommitReplacesNight(t *testing.T) {
	root := committedRoot(t, nightA)
	checkView(t, root, nightA, nightB)
	if _, err, terr := publish(t, osFS{}, root, nightB); err != nil || terr != nil {
		t.Fatal(err, terr)
	}
	checkView(t, root, nightB, nightA)
	checkNoLeftovers(t, root, nightB)
	// Links are relative, so a copied output root reads the same.
	target, err := os.Readlink(PartitionDir(root, "quarantine", date))
	if err != nil || filepath.IsAbs(target) {
		t.Errorf("table link %q, %v: want a relative link", target, err)
	}
}

// TestOldLayoutIsAdopted: a root committed by a version before _nights is
// taken over by the next commit of the date.
func TestOldLayoutIsAdopted(t *testing.T) {
	root := oldLayoutRoot(t, nightA)
	if _, err, terr := publish(t, osFS{}, root, nightB); err != nil || terr != nil {
		t.Fatal(err, terr)
	}
	checkView(t, root, nightB, nightA)
	checkNoLeftovers(t, root, nightB)
}

// TestAdoptWithoutExchange: where two paths cannot be swapped atomically,
// adoption falls back to a rename and a link.
func TestAdoptWithoutExchange(t *testing.T) {
	root := oldLayoutRoot(t, nightA)
	if err := adopt(noExchangeFS{}, root, date); err != nil {
		t.Fatal(err)
	}
	checkView(t, root, nightA, nightB)
	if _, err, terr := publish(t, noExchangeFS{}, root, nightB); err != nil || terr != nil {
		t.Fatal(err, terr)
	}
	checkView(t, root, nightB, nightA)
	checkNoLeftovers(t, root, nightB)
}

type noExchangeFS struct{ osFS }

func (noExchangeFS) Exchange(a, b string) error { return errNoExchange }

// TestRerunUnderSameRunID: a scheduler retries with the run id it gave
// before; each publish gets a folder of its own.
func TestRerunUnderSameRunID(t *testing.T) {
	root := t.TempDir()
	for i := range 3 {
		n := newNight("manual-1", "customer_summary")
		n.files["customer_summary"] = fmt.Sprint("attempt ", i)
		if _, err := cleanStale(osFS{}, root, date); err != nil {
			t.Fatal(err)
		}
		if _, err, terr := publish(t, osFS{}, root, n); err != nil || terr != nil {
			t.Fatalf("attempt %d: %v, %v", i, err, terr)
		}
		checkView(t, root, n)
		checkNoLeftovers(t, root, n)
	}
}

// TestCleanStaleAcrossDates: a run of any date removes what killed runs of
// other dates left, unless their run is alive.
func TestCleanStaleAcrossDates(t *testing.T) {
	root := committedRoot(t, nightA)
	const (
		other  = "2026-11-21" // killed while its stages ran
		never  = "2026-11-20" // killed after its links, before its flip
		alive  = "2026-11-19" // running now
		myDate = "2026-11-30"
	)
	writeFile(t, filepath.Join(root, stagingDir, other+"-dead", "customer_summary", "part-00000.parquet"), "half written")
	// Killed runs of the published date: one between its move and its flip,
	// one between making the new pointer and renaming it.
	writeFile(t, filepath.Join(nightDir(root, date), "killed", "customer_summary", "part-00000.parquet"), "never published")
	if err := os.Symlink("killed", filepath.Join(nightDir(root, date), pointerPrefix+"killed")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(nightDir(root, never), "zombie", "customer_summary", "part-00000.parquet"), "never published")
	if err := os.Symlink(tableLink(never, "customer_summary"), PartitionDir(root, "customer_summary", never)); err != nil {
		t.Fatal(err)
	}
	liveStaging := filepath.Join(root, stagingDir, alive+"-live")
	writeFile(t, filepath.Join(liveStaging, "customer_summary", "part-00000.parquet"), "being written")
	release, err := tryLockDate(root, alive)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	own, err := lockDate(root, myDate)
	if err != nil {
		t.Fatal(err)
	}
	defer own()
	cleaned, err := cleanStale(osFS{}, root, myDate)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cleaned, ","); got != never+","+other+","+date {
		t.Errorf("cleaned dates %s", got)
	}
	for _, gone := range []string{
		filepath.Join(root, stagingDir, other+"-dead"),
		filepath.Join(nightDir(root, date), "killed"),
		filepath.Join(nightDir(root, date), pointerPrefix+"killed"),
		nightDir(root, never),
		PartitionDir(root, "customer_summary", never),
	} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s not removed", gone)
		}
	}
	if !exists(liveStaging) {
		t.Error("the staging folder of a live run was removed")
	}
	checkView(t, root, nightA, nightB)
	// Nothing left for the next run to do: no lock of another date taken.
	if cleaned, err := cleanStale(osFS{}, root, myDate); err != nil || len(cleaned) != 0 {
		t.Errorf("second clean: %v, %v", cleaned, err)
	}
}

func TestLockDateIsExclusive(t *testing.T) {
	root := t.TempDir()
	release, err := lockDate(root, date)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDate(root, date); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another run of "+date) {
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

func TestCheckRunID(t *testing.T) {
	for _, id := range []string{"manual-1", "20261122T010203Z-a1b2c3", "scheduled__2026-11-22T00-00-00-00-00", "a.b_c"} {
		if err := CheckRunID(id); err != nil {
			t.Errorf("%q rejected: %v", id, err)
		}
	}
	for _, id := range []string{"", "current", "_adopted", ".hidden", "a/b", "../x", strings.Repeat("x", 129)} {
		if err := CheckRunID(id); !errors.Is(err, ErrRunID) {
			t.Errorf("%q accepted: %v", id, err)
		}
	}
}
