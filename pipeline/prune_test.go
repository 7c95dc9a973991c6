package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pruneTables are the names every night of these tests holds.
var pruneTables = []string{"customer_summary", "quarantine", "report"}

func nightOf(d string) nightFiles {
	return newNight("n"+strings.ReplaceAll(d, "-", ""), pruneTables...)
}

// rootWithNights is an output root with a published night for each date.
func rootWithNights(t *testing.T, dates ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dates {
		if _, err, terr := publishOn(t, fastFS{}, root, d, nightOf(d)); err != nil || terr != nil {
			t.Fatal(err, terr)
		}
	}
	return root
}

// commitAndPrune does what a run of d does from the commit on.
func commitAndPrune(t *testing.T, root, d string, ret Retention) (planned, pruned []string) {
	t.Helper()
	stageNightOn(t, root, d, nightOf(d))
	planned, err := planPrune(fastFS{}, root, d, ret)
	if err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(root, stagingDir, d+"-"+nightOf(d).id)
	n := nightOf(d)
	if err := commit(fastFS{}, root, staging, d, n.id, n.names(), []byte(n.manifest())); err != nil {
		t.Fatal(err)
	}
	if err := tidy(fastFS{}, root, d); err != nil {
		t.Fatal(err)
	}
	pruned, err = prune(fastFS{}, root, d, planned)
	if err != nil {
		t.Fatal(err)
	}
	return planned, pruned
}

// checkDates: readers see exactly the nights of want, each whole, and
// nothing of a pruned date is left on disk.
func checkDates(t *testing.T, root string, want []string) {
	t.Helper()
	got, err := committedDates(osFS{}, root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("dates on disk %v, want %v", got, want)
	}
	for _, name := range append(slices.Clone(pruneTables), runsDir) {
		links, _ := filepath.Glob(filepath.Join(root, name, "snapshot_date=*"))
		var seen []string
		for _, l := range links {
			seen = append(seen, strings.TrimPrefix(filepath.Base(l), "snapshot_date="))
		}
		if !slices.Equal(seen, want) {
			t.Errorf("%s has dates %v, want %v", name, seen, want)
		}
	}
	for _, d := range want {
		for name, content := range nightOf(d).files {
			p := filepath.Join(PartitionDir(root, name, d), fileName(name))
			if raw, err := os.ReadFile(p); err != nil || string(raw) != content {
				t.Errorf("%s: %q, %v; want %q", p, raw, err, content)
			}
		}
		if !exists(filepath.Join(RunDir(root, d), SuccessName)) {
			t.Errorf("%s has no %s", d, SuccessName)
		}
	}
}

func TestPruneAfterCommit(t *testing.T) {
	days := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("2026-11-%02d", i))
		}
		return out
	}
	cases := []struct {
		name      string
		committed []string
		date      string
		ret       Retention
		remain    []string
	}{
		{"keep_days 0 keeps everything", days(1, 21), "2026-11-22", Retention{}, days(1, 22)},
		{"last three dates", days(15, 21), "2026-11-22", Retention{Days: 3}, days(20, 22)},
		{"by date, with gaps", []string{"2026-11-01", "2026-11-19", "2026-11-20"}, "2026-11-22", Retention{Days: 3}, []string{"2026-11-20", "2026-11-22"}},
		{"keep_days 1 keeps the date only", days(20, 21), "2026-11-22", Retention{Days: 1}, []string{"2026-11-22"}},
		{"rerun of the newest date", days(18, 22), "2026-11-22", Retention{Days: 2}, days(21, 22)},
		{
			"month ends of the two months before",
			[]string{"2026-08-31", "2026-09-15", "2026-09-30", "2026-10-30", "2026-10-31", "2026-11-20", "2026-11-21"},
			"2026-11-22", Retention{Days: 3, MonthEnds: 2},
			[]string{"2026-09-30", "2026-10-31", "2026-11-20", "2026-11-21", "2026-11-22"},
		},
		{
			"a short February's month end",
			[]string{"2026-01-31", "2026-02-27", "2026-02-28", "2026-03-30"},
			"2026-03-31", Retention{Days: 1, MonthEnds: 1},
			[]string{"2026-02-28", "2026-03-31"},
		},
		// The window ends at the newest committed date: the backfill keeps
		// every newer night and itself, and prunes only what tonight would.
		{"backfill of an old date", days(18, 22), "2026-11-05", Retention{Days: 3}, []string{"2026-11-05", "2026-11-20", "2026-11-21", "2026-11-22"}},
		{"backfill inside the window", days(17, 22), "2026-11-19", Retention{Days: 4}, days(19, 22)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := rootWithNights(t, c.committed...)
			planned, pruned := commitAndPrune(t, root, c.date, c.ret)
			all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(c.committed), c.date))))
			var want []string
			for _, d := range all {
				if !slices.Contains(c.remain, d) {
					want = append(want, d)
				}
			}
			if !slices.Equal(planned, want) || !slices.Equal(pruned, want) {
				t.Errorf("planned %v, pruned %v; want %v", planned, pruned, want)
			}
			checkDates(t, root, c.remain)
		})
	}
}

func TestPruneOldLayout(t *testing.T) {
	root := oldLayoutRoot(t, nightOf(date))
	for _, d := range []string{"2026-11-25", "2026-11-26"} {
		if _, err, terr := publishOn(t, fastFS{}, root, d, nightOf(d)); err != nil || terr != nil {
			t.Fatal(err, terr)
		}
	}
	commitAndPrune(t, root, "2026-11-27", Retention{Days: 2})
	checkDates(t, root, []string{"2026-11-26", "2026-11-27"})
}

// TestPruneSkipsLockedDate: a date a live run is writing is left to it.
func TestPruneSkipsLockedDate(t *testing.T) {
	root := rootWithNights(t, "2026-11-20", "2026-11-21")
	release, err := lockDate(root, "2026-11-20")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, pruned := commitAndPrune(t, root, "2026-11-22", Retention{Days: 1})
	if !slices.Equal(pruned, []string{"2026-11-21"}) {
		t.Errorf("pruned %v, want 2026-11-21 only", pruned)
	}
	checkDates(t, root, []string{"2026-11-20", "2026-11-22"})
}

func TestOutputRetentionIsOptIn(t *testing.T) {
	if got := prunable([]string{"2000-01-01"}, "2026-11-22", Retention{MonthEnds: 5}); got != nil {
		t.Errorf("keep_days 0 prunes %v", got)
	}
}

// TestPruneUnderFaults prunes three nights with the nth file-system call
// failing ("fail") or with it and every later call failing ("die": kill -9).
// The night just committed and the kept one stay whole, a reader sees each
// table of a pruned night whole or not at all, and the next run's prune
// leaves exactly the kept nights.
func TestPruneUnderFaults(t *testing.T) {
	const d = "2026-11-22"
	before := []string{"2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"}
	ret := Retention{Days: 2}
	keep := []string{"2026-11-21", d}
	for _, die := range []bool{false, true} {
		mode := "fail"
		if die {
			mode = "die"
		}
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			for n := 1; ; n++ {
				if n > 1000 {
					t.Fatal("the prune never finished")
				}
				root := rootWithNights(t, append(slices.Clone(before), d)...)
				plan, err := planPrune(fastFS{}, root, d, ret)
				if err != nil {
					t.Fatal(err)
				}
				f := &faultFS{n: n, die: die}
				_, err = prune(f, root, d, plan)
				if !f.triggered() {
					if err != nil {
						t.Fatalf("no fault, yet %v", err)
					}
					checkDates(t, root, keep)
					t.Logf("%d file-system calls", f.calls)
					return
				}
				ok := t.Run(fmt.Sprintf("call %d", n), func(t *testing.T) {
					for _, k := range keep {
						checkWhole(t, root, k, false)
					}
					for _, p := range plan {
						checkWhole(t, root, p, true)
					}
				})
				if !ok {
					t.Logf("call %d failed with: %v", n, err)
				}

				// The next run, of the next date.
				if _, err := cleanStale(fastFS{}, root, "2026-11-23"); err != nil {
					t.Fatalf("call %d: clean: %v", n, err)
				}
				commitAndPrune(t, root, "2026-11-23", Retention{Days: 3})
				checkDates(t, root, append(slices.Clone(keep), "2026-11-23"))
				if t.Failed() {
					return
				}
			}
		})
	}
}

// checkWhole: each table of date d, and its _runs entry, is there whole or
// (when mayBeGone) not at all.
func checkWhole(t *testing.T, root, d string, mayBeGone bool) {
	t.Helper()
	for name, content := range nightOf(d).files {
		dir := PartitionDir(root, name, d)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && mayBeGone {
			continue
		}
		p := filepath.Join(dir, fileName(name))
		if raw, err := os.ReadFile(p); err != nil || string(raw) != content {
			t.Errorf("%s: %q, %v; want %q", p, raw, err, content)
		}
	}
	run := RunDir(root, d)
	if _, err := os.Stat(run); errors.Is(err, fs.ErrNotExist) && mayBeGone {
		return
	}
	if !exists(filepath.Join(run, SuccessName)) || !exists(filepath.Join(run, ManifestName)) {
		t.Errorf("%s is there without its manifest and %s", run, SuccessName)
	}
}
