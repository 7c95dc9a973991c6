package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrVolumeDrop is wrapped when a night reads far fewer input rows than the
// last committed night of the same job: a half-written export or a dropped
// partition upstream would otherwise publish a shop that shrank overnight.
var ErrVolumeDrop = errors.New("input volume dropped")

// VolumeCheck records what a run's input volume was compared with.
type VolumeCheck struct {
	// PreviousRunDate is the last committed night of the job before this one.
	PreviousRunDate string `json:"previous_run_date"`
	// PreviousRowsRead is that night's rows_read.
	PreviousRowsRead int64 `json:"previous_rows_read"`
	// MaxDrop is the share by which rows_read may fall.
	MaxDrop float64 `json:"max_drop"`
	// Allowed says the run was told to accept a larger drop.
	Allowed bool `json:"allowed,omitempty"`
}

// checkVolume compares rowsRead with the latest committed date before
// date whose manifest names the same job; the first night of a job has
// nothing to compare with and passes. Earlier dates only, so a rerun of a
// date is compared with the night before it, not with its own last run.
func checkVolume(root, jobName, date string, rowsRead int64, maxDrop float64, allow bool) (*VolumeCheck, error) {
	dirs, err := filepath.Glob(filepath.Join(root, runsDir, "snapshot_date=*"))
	if err != nil {
		return nil, err
	}
	var dates []string
	for _, d := range dirs {
		if day := strings.TrimPrefix(filepath.Base(d), "snapshot_date="); day < date {
			dates = append(dates, day)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dates)))
	for _, day := range dates {
		if !done(root, day) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(RunDir(root, day), ManifestName))
		if err != nil {
			continue
		}
		var m struct {
			Job  string `json:"job"`
			Rows struct {
				Read int64 `json:"rows_read"`
			} `json:"row_accounting"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Job != jobName {
			continue
		}
		vc := &VolumeCheck{PreviousRunDate: day, PreviousRowsRead: m.Rows.Read, MaxDrop: maxDrop, Allowed: allow}
		if float64(rowsRead) < float64(m.Rows.Read)*(1-maxDrop) && !allow {
			return vc, fmt.Errorf("%w: %d rows read, against %d on %s (more than %.0f%% fewer); check the input, or rerun with --allow-volume-drop if the drop is real",
				ErrVolumeDrop, rowsRead, m.Rows.Read, day, maxDrop*100)
		}
		return vc, nil
	}
	return nil, nil
}
