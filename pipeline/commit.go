package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Layout of an output root:
//
//	<root>/<table>/snapshot_date=<date>/part-00000.parquet   the tables
//	<root>/_runs/snapshot_date=<date>/_manifest.json          what the run did
//	<root>/_runs/snapshot_date=<date>/_SUCCESS                written last
//	<root>/_staging/<date>-<run id>/                           a run in flight
//
// A run writes only under its staging folder. Commit first records what it
// is about to move (a journal), then swaps each table's partition folder with
// a rename, then writes the manifest and _SUCCESS. A run killed before the
// journal leaves only its staging folder, which the next run of that date
// deletes; one killed after it is rolled forward by the next run of that date.
// Readers of one table never see a mix of two runs' files.

const (
	stagingDir  = "_staging"
	runsDir     = "_runs"
	journalName = "_COMMIT"
	// ManifestName is the manifest's file name in the run folder.
	ManifestName = "_manifest.json"
	// SuccessName marks a date whose run committed completely.
	SuccessName = "_SUCCESS"
)

// PartitionDir is where a table's rows for one snapshot date live.
func PartitionDir(root, table, date string) string {
	return filepath.Join(root, table, "snapshot_date="+date)
}

// RunDir is where a date's manifest and _SUCCESS live.
func RunDir(root, date string) string {
	return filepath.Join(root, runsDir, "snapshot_date="+date)
}

type journal struct {
	RunDate  string          `json:"run_date"`
	Tables   []string        `json:"tables"`
	Manifest json.RawMessage `json:"manifest"`
}

// lockDate takes the output root's lock for one date, so two runs of the
// same date never interleave; runs of different dates proceed in parallel.
// The lock dies with the process, so a killed run never blocks the next.
func lockDate(root, date string) (release func(), err error) {
	dir := filepath.Join(root, stagingDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, date+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another run of %s is writing to %s: %w", date, root, err)
	}
	return func() { f.Close() }, nil
}

// newStaging makes the staging folder of a run.
func newStaging(root, date, runID string) (string, error) {
	dir := filepath.Join(root, stagingDir, date+"-"+runID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// recoverDate finishes or discards what earlier runs of date left behind.
// The caller holds the date's lock, so no live run owns these folders.
func recoverDate(root, date string) (rolledForward int, err error) {
	entries, err := os.ReadDir(filepath.Join(root, stagingDir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), date+"-") {
			continue
		}
		dir := filepath.Join(root, stagingDir, e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, journalName))
		switch {
		case err == nil:
			var j journal
			if err := json.Unmarshal(raw, &j); err != nil {
				return rolledForward, fmt.Errorf("commit journal %s: %w", dir, err)
			}
			if err := rollForward(root, dir, j); err != nil {
				return rolledForward, err
			}
			rolledForward++
		case errors.Is(err, fs.ErrNotExist):
			if err := os.RemoveAll(dir); err != nil {
				return rolledForward, err
			}
		default:
			return rolledForward, err
		}
	}
	return rolledForward, nil
}

// commit makes a finished run's staged tables visible.
func commit(root, staging, date string, tables []string, manifest []byte) error {
	j := journal{RunDate: date, Tables: tables, Manifest: manifest}
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(staging, journalName), raw); err != nil {
		return err
	}
	return rollForward(root, staging, j)
}

// rollForward is idempotent: every step checks what is already done, so it
// can resume after being killed at any point.
func rollForward(root, staging string, j journal) error {
	runDir := RunDir(root, j.RunDate)
	if err := os.Remove(filepath.Join(runDir, SuccessName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, t := range j.Tables {
		staged := PartitionDir(staging, t, j.RunDate)
		if _, err := os.Stat(staged); errors.Is(err, fs.ErrNotExist) {
			continue // moved in by an earlier attempt
		}
		dst := PartitionDir(root, t, j.RunDate)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if _, err := os.Stat(dst); err == nil {
			old := filepath.Join(staging, "_replaced", t)
			if err := os.RemoveAll(old); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
				return err
			}
			if err := os.Rename(dst, old); err != nil {
				return err
			}
		}
		if err := os.Rename(staged, dst); err != nil {
			return err
		}
		syncDir(filepath.Dir(dst))
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(runDir, ManifestName), j.Manifest); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(runDir, SuccessName), nil); err != nil {
		return err
	}
	return os.RemoveAll(staging)
}

// writeFileAtomic writes via a temporary file and a rename, so readers see
// the old content or the new, never a part.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes renames in dir durable; failure only weakens durability
// after a power loss, so it is not an error.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
