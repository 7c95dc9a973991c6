// Package night holds what the stages of one nightly run share: the job,
// the run date and its observation window, the allocator, the logger and
// the ledger of where every input row went. The engine runs stages over
// it; the pipeline package commits what they made.
package night

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/engine"
)

// ErrNoInput is wrapped when a job's input holds no rows, so a scheduler
// can tell "nothing to do for this date" from a failure.
var ErrNoInput = errors.New("no input")

// ErrInputSchema is wrapped when an input lacks a required column or has a
// column of a type that cannot be converted; one variable for files and
// warehouse tables, so a caller tests either with errors.Is.
var ErrInputSchema = errors.New("input schema")

// Context is what every stage of one run shares: the job, the logical
// date, the allocator, the logger and the row accounting.
type Context struct {
	// Job is the decoded job file; each stage reads its own sections of it
	// (e.g. cohorts.Section.Of(rc.Job)).
	Job   *config.File
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
	// ArtifactRows counts rows of files other than tables (audience lists),
	// by path under the output root; the manifest reports them.
	ArtifactRows map[string]int64
	// ModelFits are the wall times of the run's model fits, one per
	// model_fit row. They go to the manifest rather than the table, so a
	// rerun of a date writes the same bytes.
	ModelFits []ModelFitTime
	// ordersCurrency is the one currency the used orders carried, when the
	// job names none; see Currency.
	ordersCurrency atomic.Pointer[string]
	// queries are the BigQuery query jobs issued; see NoteQuery.
	queriesMu sync.Mutex
	queries   []QueryStat
}

// Currency is the currency of the night's money columns:
// input.reporting_currency when set, otherwise the one currency the used
// orders carry, which validation notes once it has seen them all
// (NoteOrdersCurrency), otherwise unknown. A stage that publishes money
// asks for it after its input is complete, so validation has finished.
func (rc *Context) Currency() Currency {
	if c := InputOf(rc.Job).ReportingCurrency; c != "" {
		return CurrencyOf(c)
	}
	if c := rc.ordersCurrency.Load(); c != nil {
		return CurrencyOf(*c)
	}
	return Currency{Scale: UnknownScale}
}

// NoteOrdersCurrency records code as the one currency of the used orders.
// Validation calls it, once it has seen every order, when they carry one
// currency; it changes nothing when the job sets input.reporting_currency.
func (rc *Context) NoteOrdersCurrency(code string) { rc.ordersCurrency.Store(&code) }

// New fixes the observation window for runDate ("YYYY-MM-DD") in
// the job's time zone.
func New(j *config.File, runID, runDate string, mem memory.Allocator, log zerolog.Logger) (*Context, error) {
	loc := j.Location()
	d, err := time.ParseInLocation(time.DateOnly, runDate, loc)
	if err != nil {
		return nil, fmt.Errorf("run date %q: want YYYY-MM-DD: %w", runDate, err)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Context{
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

// RunDateString is the run date as YYYY-MM-DD.
func (rc *Context) RunDateString() string { return rc.RunDate.Format(time.DateOnly) }

// Accounting tracks where every input row went. Read must always equal
// Used + quarantined + excluded; Check enforces it before a run commits.
type Accounting struct {
	Read int64 `json:"rows_read"`
	Used int64 `json:"rows_used"`
	// RefundsUsed counts the used rows that are partial refunds of a used
	// order (negative amounts), part of Used.
	RefundsUsed int64            `json:"refund_rows_used,omitempty"`
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

// ModelFitTime is how long one model fit took; Model and FitScope name its
// model_fit row.
type ModelFitTime struct {
	Model    string  `json:"model"`
	FitScope string  `json:"fit_scope"`
	Seconds  float64 `json:"fit_seconds"`
}

// Spec declares a stage of the nightly job.
type Spec = engine.Spec[*Context]

// Registry holds the stages of the nightly job and the job-file sections
// each reads, so the job file is decoded into exactly what the registered
// stages declare and `retain stages` can show every stage's settings.
type Registry struct {
	engine.Registry[*Context]
	sections map[string][]config.Section
	all      []config.Section
}

// Register adds a stage and the sections of the job file it reads. A
// section several stages read is declared once, by one package, and
// registered by each.
func (r *Registry) Register(s Spec, sections ...config.Section) error {
	if err := r.Registry.Register(s); err != nil {
		return err
	}
	if r.sections == nil {
		r.sections = map[string][]config.Section{}
	}
	r.sections[s.Name] = sections
	for _, c := range sections {
		if err := r.AddSection(c); err != nil {
			return err
		}
	}
	return nil
}

// AddSection adds a section that no stage reads but the run does (where
// the output goes, lineage, the warehouse sink).
func (r *Registry) AddSection(c config.Section) error {
	for _, o := range r.all {
		if o == c {
			return nil
		}
		if o.Key() == c.Key() {
			return fmt.Errorf("%w: two declarations of job-file section %q", engine.ErrGraph, c.Key())
		}
	}
	r.all = append(r.all, c)
	return nil
}

// SectionsOf lists the sections stage reads.
func (r *Registry) SectionsOf(stage string) []config.Section { return r.sections[stage] }

// Sections lists every section of the job file, in key order.
func (r *Registry) Sections() []config.Section {
	out := append([]config.Section(nil), r.all...)
	slices.SortFunc(out, func(a, b config.Section) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}
