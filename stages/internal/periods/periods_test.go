package periods

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"retain/calendar"
	"retain/config"
	"retain/stages/actions/actionsconfig"
	"retain/stages/clv/clvconfig"
	"retain/stages/cohorts/cohortsconfig"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/segments/segmentsconfig"
)

func job(t *testing.T, yaml string) *config.File {
	t.Helper()
	f, err := config.Decode([]byte("name: n\n"+yaml), "/", Sections)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// nights are the nights the stages ask a history as of, for the job's
// night runDay: the cells must not straddle any of them.
func nights(f *config.File, runDay int32) []int32 {
	u, _ := calendar.ParseUnit(kpisconfig.Section.Of(f).Period)
	pd := u.SameDayBefore(runDay)
	out := []int32{runDay - 1, pd, runDay - int32(actionsconfig.Section.Of(f).DeclineWindowDays), runDay - 365}
	if h := int32(clvconfig.Section.Of(f).HoldoutDays); h > 0 {
		out = append(out, runDay-h, runDay-1-h, pd-h)
		for d := runDay - h + 1; d < runDay; d++ {
			out = append(out, d)
		}
	}
	if s := segmentsconfig.Section.Of(f); s.ChangeTracking {
		for d := runDay - int32(s.SinceLookbackDays); d < runDay; d++ {
			out = append(out, d)
		}
	}
	return out
}

// TestCellsKeepEveryNightApart checks, on random histories under several
// jobs, what the stages rely on: the cells partition the days in order,
// the first day alone; no cell spans two periods, a night a stage asks
// about, or kpis.churn_days; every day from DailyFrom on is alone.
func TestCellsKeepEveryNightApart(t *testing.T) {
	day := func(s string) int32 { return calendar.Day(mustTime(t, s)) }
	jobs := []string{
		"",
		"kpis: {churn_days: 10}\n",
		"kpis: {period: week, churn_days: 3}\nsegments: {change_tracking: false}\n",
		"kpis: {period: quarter}\nclv: {holdout_days: 30}\n",
		"clv: {holdout_days: 120}\nactions: {decline_window_days: 400}\n",
		"segments: {since_lookback_days: 7}\nkpis: {period: week}\n",
		"kpis: {period: week}\ncohorts: {period: quarter}\n",
		"kpis: {period: quarter}\ncohorts: {period: week}\n",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, y := range jobs {
		f := job(t, y)
		for _, run := range []string{"2026-11-22", "2026-03-31", "2024-03-01", "2026-01-01"} {
			runDay := day(run)
			g, err := For(f, runDay)
			if err != nil {
				t.Fatal(err)
			}
			asked := nights(f, runDay)
			churn := int32(kpisconfig.Section.Of(f).ChurnDays)
			for range 300 {
				var days []int32
				for d := runDay - int32(rng.IntN(1500)); d <= runDay; d += 1 + int32(rng.IntN(40)) {
					days = append(days, d)
				}
				next := 0
				g.Cells(days, func(from, to int) {
					if from != next || to <= from {
						t.Fatalf("%q %s: cells [%d,%d) after %d", y, run, from, to, next)
					}
					next = to
					first, last := days[from], days[to-1]
					if from == 0 && to != 1 {
						t.Errorf("%q %s: the first day shares its cell", y, run)
					}
					cu, _ := calendar.ParseUnit(cohortsconfig.Section.Of(f).Period)
					for _, u := range []calendar.Unit{g.Unit, cu} {
						if u.Start(first) != u.Start(last) {
							t.Errorf("%q %s: cell %d..%d spans two %s periods", y, run, first, last, u)
						}
					}
					if last-first >= churn {
						t.Errorf("%q %s: cell %d..%d is a churn (%d) long", y, run, first, last, churn)
					}
					if last >= g.DailyFrom && first != last {
						t.Errorf("%q %s: cell %d..%d in the daily window from %d", y, run, first, last, g.DailyFrom)
					}
					for _, n := range asked {
						if first <= n && n < last {
							t.Errorf("%q %s: cell %d..%d straddles night %d", y, run, first, last, n)
						}
					}
				})
				if next != len(days) {
					t.Fatalf("%q %s: cells end at %d of %d days", y, run, next, len(days))
				}
			}
		}
	}
}

// TestGridCoarse checks the grid stays coarse where nothing asks for more:
// on the default job a customer with one order a week for a year before
// the lookback has about one cell a month there.
func TestGridCoarse(t *testing.T) {
	f := job(t, "")
	runDay := calendar.Day(mustTime(t, "2026-11-22"))
	g, err := For(f, runDay)
	if err != nil {
		t.Fatal(err)
	}
	var days []int32
	for d := runDay - 500; d < g.DailyFrom; d += 7 {
		days = append(days, d)
	}
	var cells int
	g.Cells(days, func(int, int) { cells++ })
	if cells > 21 || cells < 14 {
		t.Errorf("%d days in %d cells, want about one a month", len(days), cells)
	}
	if !slices.IsSorted(g.Cuts) {
		t.Errorf("cuts not sorted: %v", g.Cuts)
	}
}

func timeParse(s string) (time.Time, error) { return time.Parse(time.DateOnly, s) }

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := timeParse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestStartTable checks the tabulated starts are the computed ones, on
// both edges of the table and past them, under every job of
// TestCellsKeepEveryNightApart, and that a grid built by hand computes.
func TestStartTable(t *testing.T) {
	jobs := []string{
		"",
		"kpis: {churn_days: 10}\n",
		"kpis: {period: week, churn_days: 3}\nsegments: {change_tracking: false}\n",
		"kpis: {period: quarter}\nclv: {holdout_days: 30}\n",
		"clv: {holdout_days: 120}\nactions: {decline_window_days: 400}\n",
		"kpis: {period: week}\ncohorts: {period: quarter}\n",
		"kpis: {period: quarter}\ncohorts: {period: week}\n",
	}
	for _, y := range jobs {
		f := job(t, y)
		for _, run := range []string{"2026-11-22", "2024-02-29", "1970-01-01"} {
			g, err := For(f, calendar.Day(mustTime(t, run)))
			if err != nil {
				t.Fatal(err)
			}
			if len(g.starts) != tableDays || g.startsFrom != g.DailyFrom-tableDays {
				t.Fatalf("%q %s: %d starts from %d, want %d from %d", y, run, len(g.starts), g.startsFrom, tableDays, g.DailyFrom-tableDays)
			}
			for d := g.startsFrom - 400; d < g.DailyFrom+40; d++ {
				if got, want := g.Start(d), g.start(d); got != want {
					t.Fatalf("%q %s: Start(%d) = %d, computed %d", y, run, d, got, want)
				}
			}
			bare := Grid{Unit: g.Unit, Cohort: g.Cohort, Chunk: g.Chunk, Cuts: g.Cuts, DailyFrom: g.DailyFrom}
			for _, d := range []int32{g.startsFrom, g.DailyFrom - 1, math.MinInt32, math.MaxInt32} {
				if bare.Start(d) != g.start(d) {
					t.Errorf("%q %s: a grid without a table starts day %d at %d, want %d", y, run, d, bare.Start(d), g.start(d))
				}
			}
		}
	}
}

// BenchmarkStart is Start over two years of days before the lookback, from
// the table and computed, on the default job.
func BenchmarkStart(b *testing.B) {
	f, err := config.Decode([]byte("name: n\n"), "/", Sections)
	if err != nil {
		b.Fatal(err)
	}
	g, err := For(f, calendar.Day(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		b.Fatal(err)
	}
	bare := Grid{Unit: g.Unit, Cohort: g.Cohort, Chunk: g.Chunk, Cuts: g.Cuts, DailyFrom: g.DailyFrom}
	for _, c := range []struct {
		name string
		g    *Grid
	}{{"table", &g}, {"computed", &bare}} {
		b.Run(c.name, func(b *testing.B) {
			var sum int32
			for i := range b.N {
				sum += c.g.Start(g.DailyFrom - 1 - int32(i%730))
			}
			if sum == 1 {
				b.Log(sum)
			}
		})
	}
}
