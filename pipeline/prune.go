package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Retention is how many nights an output root keeps (output.keep_days and
// output.keep_month_ends).
type Retention struct {
	// Days is how many snapshot dates up to the newest are kept; 0 keeps
	// every night.
	Days int
	// MonthEnds keeps, beyond Days, the last day of each of this many
	// months before the newest date's month.
	MonthEnds int
}

// prunable lists the dates of committed that ret no longer keeps once date
// is committed.
//
// The window ends at the newest of committed and date, not at date: a
// backfill of an old date must never delete the nights after it, and it
// should remove no more than tonight's run would. date itself is never
// listed, even when it falls before the window: the run was asked for that
// night, and deleting it the moment it is written would make the backfill
// silently do nothing. It stays until a later run prunes it.
func prunable(committed []string, date string, ret Retention) []string {
	if ret.Days <= 0 {
		return nil
	}
	newest, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil
	}
	days := make([]time.Time, 0, len(committed))
	for _, c := range committed {
		d, err := time.Parse(time.DateOnly, c)
		if err != nil {
			continue
		}
		days = append(days, d)
		if d.After(newest) {
			newest = d
		}
	}
	first := newest.AddDate(0, 0, 1-ret.Days)
	month := newest.Year()*12 + int(newest.Month())
	var out []string
	for _, d := range days {
		s := d.Format(time.DateOnly)
		if !d.Before(first) || s == date {
			continue
		}
		monthEnd := d.AddDate(0, 0, 1).Day() == 1
		if back := month - (d.Year()*12 + int(d.Month())); monthEnd && back >= 1 && back <= ret.MonthEnds {
			continue
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// committedDates lists the dates with a night or a _runs entry: every date
// a reader may see, and those a pruning cut short left behind.
func committedDates(fsys fileSystem, root string) ([]string, error) {
	set := map[string]bool{}
	for _, dir := range []string{filepath.Join(root, nightsDir), filepath.Join(root, runsDir)} {
		entries, err := fsys.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			d := strings.TrimPrefix(e.Name(), "snapshot_date=")
			if _, err := time.Parse(time.DateOnly, d); err == nil {
				set[d] = true
			}
		}
	}
	return sortedKeys(set), nil
}

// planPrune lists the dates a run of date removes after its commit.
func planPrune(fsys fileSystem, root, date string, ret Retention) ([]string, error) {
	if ret.Days <= 0 {
		return nil, nil
	}
	committed, err := committedDates(fsys, root)
	if err != nil {
		return nil, err
	}
	return prunable(committed, date, ret), nil
}

// prune removes the nights of dates, skipping own (the caller holds its
// lock and just wrote it) and any date a live run holds. Each table's link
// goes first, then the _runs link, so a reader sees every table of a night
// whole or not at all; only once those removals are on disk does the
// night's folder go, since a power loss must not bring back a link into a
// removed folder. A failure part way leaves a night folder that no link
// reaches, which the next prune (the date stays before the window) or
// cleanStale removes.
func prune(fsys fileSystem, root, own string, dates []string) (pruned []string, err error) {
	var locked []string
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	for _, d := range dates {
		if d == own {
			continue
		}
		release, err := tryLockDate(root, d)
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			return nil, err
		}
		releases = append(releases, release)
		locked = append(locked, d)
	}
	if len(locked) == 0 {
		return nil, nil
	}
	entries, err := fsys.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var tables []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			tables = append(tables, e.Name())
		}
	}
	for _, d := range locked {
		// A date of the layout before _nights has real folders, which no
		// single call removes; moved into a night they are links like any other.
		if err := adopt(fsys, root, d); err != nil {
			return nil, err
		}
		for _, t := range tables {
			if err := unlink(fsys, PartitionDir(root, t, d), tableLink(d, t)); err != nil {
				return nil, err
			}
		}
		if err := unlink(fsys, RunDir(root, d), runLink(d)); err != nil {
			return nil, err
		}
	}
	for _, t := range append(tables, runsDir) {
		if err := fsys.Sync(filepath.Join(root, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	for _, d := range locked {
		if err := fsys.RemoveAll(nightDir(root, d)); err != nil {
			return pruned, err
		}
		pruned = append(pruned, d)
	}
	return pruned, fsys.Sync(filepath.Join(root, nightsDir))
}

// unlink removes link if it is the layout's link with target.
func unlink(fsys fileSystem, link, target string) error {
	got, err := fsys.Readlink(link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.Is(err, syscall.EINVAL):
		return fmt.Errorf("%w: %s is not a link", ErrLayout, link)
	case err != nil:
		return err
	case got != target:
		return fmt.Errorf("%w: %s points to %s, want %s", ErrLayout, link, got, target)
	}
	if err := fsys.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
