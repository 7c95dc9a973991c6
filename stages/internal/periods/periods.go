// Package periods cuts a customer's history into the cells of the
// customer_periods table: the grid every stage after the customer summary
// reads a customer's days through, instead of one row per purchase day.
//
// A cell is a run of days inside one reporting period (kpis.period) and
// one cohort period (cohorts.period) that
// no night a stage reports on falls inside: the grid cuts at the day after
// each such night (the run date's previous night, the same day of the
// previous period, the end of the holdout's calibration, the actions'
// windows), makes each day of the nights a stage replays one by one
// (segments' lookback, the holdout window) a cell of its own, and keeps a
// cell shorter than kpis.churn_days, so two purchase days of one cell are
// never a churn apart. A customer's first purchase day is always a cell of
// its own: the BTYD inputs (frequency, mean repeat value) set it apart.
//
// The grid depends on the job file and the run date only, so the local
// fold and the warehouse's SQL (bqsource) cut the same cells, and a stage
// that asks the history as of one of the grid's nights gets the answer a
// run for that night would give.
package periods

import (
	"fmt"
	"math"
	"slices"

	"retain/calendar"
	"retain/config"
	"retain/stages/actions/actionsconfig"
	"retain/stages/clv/clvconfig"
	"retain/stages/cohorts/cohortsconfig"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/segments/segmentsconfig"
)

// Grid is the cell boundaries of one night.
type Grid struct {
	// Unit is kpis.period: no cell spans two periods.
	Unit calendar.Unit
	// Cohort is cohorts.period, when it differs from Unit: no cell spans
	// two of its periods either.
	Cohort calendar.Unit
	// Chunk, when positive, cuts each period into runs of Chunk days from
	// its start (kpis.churn_days, when a period can be longer).
	Chunk int32
	// Cuts are the days, ascending, on which a cell starts whatever the
	// period.
	Cuts []int32
	// DailyFrom is the first day that is a cell of its own, as is every
	// later day; the run date + 1 when none is.
	DailyFrom int32

	// starts[i] is Start(startsFrom + i), filled by For: the local fold
	// asks it for every purchase day, and a lookup is cheaper than the
	// calendar arithmetic (BenchmarkStart). A Grid built by hand has none
	// and computes every start; one from For must not have its fields
	// changed, or the table disagrees with them.
	starts     []int32
	startsFrom int32
}

// tableDays is how many days before DailyFrom For tabulates: 40 years, so
// any shop's history fits, for 58 KB a night. Earlier days are computed.
const tableDays = 40 * 366

// Sections are the job file's sections the grid reads, for the stage that
// cuts it to declare.
var Sections = []config.Section{kpisconfig.Section, cohortsconfig.Section, actionsconfig.Section, clvconfig.Section, segmentsconfig.Section}

// longest is the most days a period of the unit has.
func longest(u calendar.Unit) int32 {
	switch u {
	case calendar.Week:
		return 7
	case calendar.Quarter:
		return 92
	}
	return 31
}

// For is the grid of the job's night runDay: the union of what every stage
// reading customer_periods asks of it. A stage that asks a customer's
// history as of a new night adds that night here; the test beside this
// file replays each such question on random histories, day by day and
// cell by cell.
func For(f *config.File, runDay int32) (Grid, error) {
	k := kpisconfig.Section.Of(f)
	u, err := calendar.ParseUnit(k.Period)
	if err != nil {
		return Grid{}, fmt.Errorf("kpis.period: %w", err)
	}
	g := Grid{Unit: u, DailyFrom: runDay + 1}
	cu, err := calendar.ParseUnit(cohortsconfig.Section.Of(f).Period)
	if err != nil {
		return Grid{}, fmt.Errorf("cohorts.period: %w", err)
	}
	if cu != u {
		g.Cohort = cu
	}
	if c := int32(k.ChurnDays); c < longest(u) {
		g.Chunk = c
	}
	periodDay := u.SameDayBefore(runDay)
	// The previous night and the same day of the previous period (clv,
	// segments, report, actions' won-back test).
	cut := []int32{runDay, periodDay + 1}
	a := actionsconfig.Section.Of(f)
	// The decline window's start and the trailing year of the tiers.
	cut = append(cut, runDay-int32(a.DeclineWindowDays)+1, runDay-364)
	if h := int32(clvconfig.Section.Of(f).HoldoutDays); h > 0 {
		// Tonight's holdout is counted day by day; the earlier nights'
		// calibration ends are cuts.
		g.DailyFrom = min(g.DailyFrom, runDay-h+1)
		cut = append(cut, runDay-h, periodDay-h+1)
	}
	if s := segmentsconfig.Section.Of(f); s.ChangeTracking {
		// Segments replays each night of its lookback.
		g.DailyFrom = min(g.DailyFrom, runDay-int32(s.SinceLookbackDays)+1)
	}
	for _, d := range cut {
		if d < g.DailyFrom {
			g.Cuts = append(g.Cuts, d)
		}
	}
	slices.Sort(g.Cuts)
	g.Cuts = slices.Compact(g.Cuts)
	g.tabulate()
	return g, nil
}

// tabulate fills g.starts for the tableDays days before g.DailyFrom.
func (g *Grid) tabulate() {
	from := int64(g.DailyFrom) - tableDays
	if from < math.MinInt32 {
		from = math.MinInt32
	}
	starts := make([]int32, int64(g.DailyFrom)-from)
	for i := range starts {
		starts[i] = g.start(int32(from + int64(i)))
	}
	g.starts, g.startsFrom = starts, int32(from)
}

// Start is the first day of the grid cell holding day (a customer's first
// purchase day aside, which Cells sets apart).
func (g *Grid) Start(day int32) int32 {
	if i := int64(day) - int64(g.startsFrom); i >= 0 && i < int64(len(g.starts)) {
		return g.starts[i]
	}
	return g.start(day)
}

// start is Start computed from the calendar.
func (g *Grid) start(day int32) int32 {
	if day >= g.DailyFrom {
		return day
	}
	s := g.Unit.Start(day)
	if g.Chunk > 0 {
		s += (day - s) / g.Chunk * g.Chunk
	}
	if g.Cohort != "" {
		s = max(s, g.Cohort.Start(day))
	}
	// The last cut on or before day, when it is later than s.
	i, _ := slices.BinarySearch(g.Cuts, day+1)
	if i > 0 && g.Cuts[i-1] > s {
		s = g.Cuts[i-1]
	}
	return s
}

// CellStart is the first day of the cell holding purchase day day of a
// customer whose first purchase day is first: first's cell is first alone,
// and the grid cell after it starts no earlier than the day after.
func (g *Grid) CellStart(day, first int32) int32 {
	if day == first {
		return day
	}
	return max(g.Start(day), first+1)
}

// Cells calls cell once per cell of a customer whose purchase days are
// days (ascending, distinct) with the half-open range [from, to) of days
// it holds. The first day is a cell of its own.
func (g *Grid) Cells(days []int32, cell func(from, to int)) {
	for i := 0; i < len(days); {
		start := g.CellStart(days[i], days[0])
		j := i + 1
		for j < len(days) && g.CellStart(days[j], days[0]) == start {
			j++
		}
		cell(i, j)
		i = j
	}
}
