package pipeline

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/job"
)

// RunContext is what every stage of one run shares: the job, the logical
// date, the allocator, the logger and the row accounting.
type RunContext struct {
	Job   *job.Job
	RunID string
	// RunDate is midnight at the start of the run date in the job's zone.
	RunDate time.Time
	// WindowEnd is the first instant after the observation window: midnight
	// at the end of the run date in the job's zone. Orders at or after it are
	// excluded.
	WindowEnd time.Time
	// SnapshotDate is RunDate as the value of every snapshot_date column.
	SnapshotDate arrow.Date32
	Mem          memory.Allocator
	Log          zerolog.Logger
	Rows         *Accounting
	// Items accounts for input.order_items rows the same way, when the job
	// reads them.
	Items *Accounting
	// UsedOrders is set by validation when a later stage reads order items:
	// it lends its order-id fingerprints instead of that stage building a
	// second set of the same size, the largest state of a run. The borrower
	// clears it when done.
	UsedOrders OrderLookup
	// StagingDir is where this run's stages write before the commit makes
	// their files visible; see StagedDir.
	StagingDir string
	// ArtifactRows counts rows of files other than tables (audience lists),
	// by path under the output root; the manifest reports them.
	ArtifactRows map[string]int64
	// ModelFits are the wall times of the run's model fits, one per
	// model_fit row. They go to the manifest rather than the table, so a
	// rerun of a date writes the same bytes.
	ModelFits []ModelFitTime
}

// NewRunContext fixes the observation window for runDate ("YYYY-MM-DD") in
// the job's time zone.
func NewRunContext(j *job.Job, runID, runDate string, mem memory.Allocator, log zerolog.Logger) (*RunContext, error) {
	loc := j.Location()
	d, err := time.ParseInLocation(time.DateOnly, runDate, loc)
	if err != nil {
		return nil, fmt.Errorf("run date %q: want YYYY-MM-DD: %w", runDate, err)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &RunContext{
		Job:          j,
		RunID:        runID,
		RunDate:      d,
		WindowEnd:    d.AddDate(0, 0, 1),
		SnapshotDate: arrow.Date32FromTime(time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)),
		Mem:          mem,
		Log:          log,
		Rows:         NewAccounting(),
		Items:        NewAccounting(),
		ArtifactRows: map[string]int64{},
	}, nil
}

// OrderLookup tells a stage that reads order items which orders the run
// used.
type OrderLookup interface {
	// Claim looks up ids in order and claims each: used[i] says whether
	// ids[i] is a used order, claimed[i] whether it was claimed before (by
	// an earlier call or earlier in ids). It works on a batch so the
	// lookups can overlap their memory reads.
	Claim(ids []string, used, claimed []bool)
}

// StagedDir is the folder a stage writes table or artifact name into; the
// commit publishes it as <output>/<name>/snapshot_date=<date>.
func (rc *RunContext) StagedDir(name string) string { return filepath.Join(rc.StagingDir, name) }

// RunDateString is the run date as YYYY-MM-DD.
func (rc *RunContext) RunDateString() string { return rc.RunDate.Format(time.DateOnly) }

// Accounting tracks where every input row went. Read must always equal
// Used + quarantined + excluded; Check enforces it before a run commits.
type Accounting struct {
	Read        int64            `json:"rows_read"`
	Used        int64            `json:"rows_used"`
	Quarantined map[string]int64 `json:"rows_quarantined_by_reason"`
	Excluded    map[string]int64 `json:"rows_excluded_by_reason"`
	// Trimmed counts, per identifier column, rows whose value had leading
	// or trailing blanks, which were removed. These rows are counted above
	// as well, wherever they went.
	Trimmed map[string]int64 `json:"ids_trimmed_by_column,omitempty"`
	// Replaced counts, per text column, used rows whose value was not
	// valid UTF-8 and was written with U+FFFD for the invalid bytes.
	Replaced map[string]int64 `json:"text_replaced_by_column,omitempty"`
}

// NewAccounting returns empty accounting.
func NewAccounting() *Accounting {
	return &Accounting{Quarantined: map[string]int64{}, Excluded: map[string]int64{}, Trimmed: map[string]int64{}, Replaced: map[string]int64{}}
}

// TotalQuarantined sums quarantined rows over reasons.
func (a *Accounting) TotalQuarantined() int64 { return sum(a.Quarantined) }

// TotalExcluded sums excluded rows over reasons.
func (a *Accounting) TotalExcluded() int64 { return sum(a.Excluded) }

// Check returns an error when rows went missing or were counted twice.
func (a *Accounting) Check() error {
	q, e := a.TotalQuarantined(), a.TotalExcluded()
	if a.Read != a.Used+q+e {
		return fmt.Errorf("row accounting does not add up: read %d != used %d + quarantined %d + excluded %d", a.Read, a.Used, q, e)
	}
	return nil
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
