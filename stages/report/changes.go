package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/schemas"
	"retain/stages/actions/actionsconfig"
	"retain/stages/internal/history"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/segments/segmentsconfig"
)

// Nights the KPI tiles compare: tonight, the previous night and the same
// day of the previous kpis.period.
const (
	tonight = iota
	previousNight
	previousPeriod
	nightCount
)

// nightFigures are one night's tile figures, each customer counted as a
// run for that night on the same input counts them.
type nightFigures struct {
	day                         int32
	customers, active           int64
	revenue                     float64
	start, reactivated, churned int64 // the period so far, as retention_kpis counts them
}

// changes gathers the "what changed since yesterday" part of the page in
// the same pass as the rest: the customers' activity as of each night
// (history.Cells.Upto: the grid cuts after each of the nights, so a cell
// is wholly before or after it), the predicted value now and before, and the total
// segment transitions.
type changes struct {
	walk              history.PeriodWalker
	unit              calendar.Unit
	churn, activeDays int32
	nights            [nightCount]nightFigures
	// predicted values summed tonight, on the previous night and on the
	// same day of the previous period (clv's period_day_prediction);
	// hasPrevious when the previous night predicted any, hasPeriod when
	// that day's fits made a value.
	predicted, previousPredicted, periodPredicted float64
	hasPrevious, hasPeriod                        bool
	moves                                         map[[2]string]int64
	// tracked counts the nights computed: all of them, or tonight alone
	// when segments.change_tracking is off.
	tracked int
}

func newChanges(runDay int32, jobPeriod string, churnDays int, winback []int, tracking bool) (*changes, error) {
	unit, err := calendar.ParseUnit(jobPeriod)
	if err != nil {
		return nil, err
	}
	c := &changes{unit: unit, churn: int32(churnDays), activeDays: int32(winback[0]), moves: map[[2]string]int64{}}
	c.nights[tonight].day = runDay
	c.nights[previousNight].day = runDay - 1
	c.nights[previousPeriod].day = unit.SameDayBefore(runDay)
	c.walk.Visit = c.visit
	c.tracked = nightCount
	if !tracking {
		c.tracked = previousNight
	}
	return c, nil
}

func (c *changes) visit(cu *history.Cells) error {
	for k := range c.tracked {
		n := &c.nights[k]
		j := cu.Upto(n.day)
		if j == 0 {
			continue
		}
		n.customers++
		if n.day-cu.Last[j-1] < c.activeDays {
			n.active++
		}
		for _, r := range cu.Revenue[:j] {
			n.revenue += r
		}
		// Spans as retention_kpis has them: each purchase day keeps the
		// customer for churn days, and a span ends (churn) on the first day
		// churn days after its last order. A cell is shorter than churn
		// days, so a span breaks only between cells.
		ps := c.unit.Start(n.day)
		start, end := cu.First[0], cu.Last[0]+c.churn
		span := func() {
			if start < ps && end >= ps {
				n.start++
			}
			if start >= ps && start != cu.First[0] {
				n.reactivated++
			}
			if end >= ps && end <= n.day {
				n.churned++
			}
		}
		for i := 1; i < j; i++ {
			if cu.First[i] < end {
				end = cu.Last[i] + c.churn
				continue
			}
			span()
			start, end = cu.First[i], cu.Last[i]+c.churn
		}
		span()
	}
	return nil
}

func (c *changes) addSegments(rec arrow.Record) {
	t := schemas.CustomerSegments
	now := rec.Column(t.MustIndex("predicted_clv")).(*array.Float64)
	before := rec.Column(t.MustIndex("previous_predicted_clv")).(*array.Float64)
	for i := 0; i < int(rec.NumRows()); i++ {
		if now.IsValid(i) {
			c.predicted += now.Value(i)
		}
		if before.IsValid(i) {
			c.previousPredicted += before.Value(i)
			c.hasPrevious = true
		}
	}
}

func (c *changes) addPeriodPrediction(rec arrow.Record) error {
	t := schemas.PeriodDayPrediction
	day := rec.Column(t.MustIndex("as_of_date")).(*array.Date32)
	v := rec.Column(t.MustIndex("predicted_clv")).(*array.Float64)
	for i := 0; i < int(rec.NumRows()); i++ {
		// Both stages derive the day from kpis.period; a mismatch would
		// compare the tile with another day than the page names.
		if d := int32(day.Value(i)); d != c.nights[previousPeriod].day {
			return fmt.Errorf("%s is as of %s, the tiles compare with %s", t.Name,
				calendar.Date(d).Format("2006-01-02"), calendar.Date(c.nights[previousPeriod].day).Format("2006-01-02"))
		}
		if v.IsValid(i) {
			c.periodPredicted, c.hasPeriod = v.Value(i), true
		}
	}
	return nil
}

func (c *changes) addTransitions(rec arrow.Record) {
	t := schemas.SegmentTransitions
	dim := rec.Column(t.MustIndex("dimension")).(*array.String)
	from := rec.Column(t.MustIndex("from_segment")).(*array.String)
	to := rec.Column(t.MustIndex("to_segment")).(*array.String)
	n := rec.Column(t.MustIndex("customers")).(*array.Int64)
	for i := 0; i < int(rec.NumRows()); i++ {
		if dim.Value(i) == "total" {
			c.moves[[2]string{from.Value(i), to.Value(i)}] += n.Value(i)
		}
	}
}

// tile is one KPI with its changes; an empty change has nothing to compare.
// The Exact fields are the unrounded figures of tonight, the previous night
// and the previous period ("" when unknown), written as data attributes so
// a reader of the page can check a tile against the run of that night.
type tile struct {
	Label, Value                   string
	VsNight, VsPeriod              string
	NightDay, PeriodOn             string
	Exact, ExactNight, ExactPeriod string
}

func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func (n nightFigures) rates() (crr, churn float64, ok bool) {
	if n.start == 0 {
		return 0, 0, false
	}
	s := float64(n.start)
	return float64(n.start+n.reactivated-n.churned) / s, float64(n.churned) / s, true
}

func signed(v float64, format func(float64) string) string {
	if v >= 0 {
		return "+" + format(v)
	}
	return "−" + format(-v)
}

func (c *changes) tiles(currency string, months int) []tile {
	unit := ""
	if currency != "" {
		unit = " " + currency
	}
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	cash := func(v float64) string { return money(v) + unit }
	points := func(v float64) string { return fmt.Sprintf("%.1f pp", v*100) }
	now, night, period := c.nights[tonight], c.nights[previousNight], c.nights[previousPeriod]
	exists := func(n nightFigures) bool { return n.customers > 0 }
	mk := func(label string, value func(nightFigures) (float64, bool), show, diff func(float64) string) tile {
		v, ok := value(now)
		t := tile{Label: label, Value: "—"}
		if ok {
			t.Value, t.Exact = show(v), exact(v)
		}
		if b, okB := value(night); okB && exists(night) {
			t.ExactNight = exact(b)
			if ok {
				t.VsNight = signed(v-b, diff)
			}
		}
		if b, okB := value(period); okB && exists(period) {
			t.ExactPeriod = exact(b)
			if ok {
				t.VsPeriod = signed(v-b, diff)
			}
		}
		return t
	}
	crr := func(n nightFigures) (float64, bool) { v, _, ok := n.rates(); return v, ok }
	churn := func(n nightFigures) (float64, bool) { _, v, ok := n.rates(); return v, ok }
	out := []tile{
		mk("Customers", func(n nightFigures) (float64, bool) { return float64(n.customers), true }, count, count),
		mk("Active customers", func(n nightFigures) (float64, bool) { return float64(n.active), true }, count, count),
		mk("Revenue to date", func(n nightFigures) (float64, bool) { return n.revenue, true }, cash, cash),
		mk("Retention rate (CRR), period to date", crr, pct, points),
		mk("Churn rate, period to date", churn, pct, points),
	}
	value := tile{Label: fmt.Sprintf("Predicted value, next %d months", months), Value: cash(c.predicted), Exact: exact(c.predicted)}
	if c.hasPrevious {
		value.VsNight, value.ExactNight = signed(c.predicted-c.previousPredicted, cash), exact(c.previousPredicted)
	}
	if c.hasPeriod {
		value.VsPeriod, value.ExactPeriod = signed(c.predicted-c.periodPredicted, cash), exact(c.periodPredicted)
	}
	out = append(out, value)
	for i := range out {
		out[i].NightDay = calendar.Date(night.day).Format("2006-01-02")
		out[i].PeriodOn = calendar.Date(period.day).Format("2006-01-02")
	}
	return out
}

// transitionMatrix is the from × to table of the total dimension: rows
// from `new` and every segment, columns the segments, in segment order.
type transitionMatrix struct {
	To   []string
	Rows []matrixRow
}

type matrixRow struct {
	From  string
	Cells []matrixCell
}

type matrixCell struct {
	Text  string
	Style template.CSS
}

func (c *changes) matrix(segments []segmentRow) transitionMatrix {
	var m transitionMatrix
	seen := map[string]bool{}
	var names []string
	for _, s := range segments {
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	// A from-segment nobody is in tonight still shows as a row.
	for k := range c.moves {
		if k[0] != schemas.NewSegment && !seen[k[0]] {
			seen[k[0]] = true
			names = append(names, k[0])
		}
	}
	sortTail(names, len(segments))
	m.To = names
	var max64 int64 = 1
	for _, v := range c.moves {
		max64 = max(max64, v)
	}
	for _, from := range append([]string{schemas.NewSegment}, names...) {
		row := matrixRow{From: from}
		any := false
		for _, to := range names {
			v := c.moves[[2]string{from, to}]
			if v == 0 {
				row.Cells = append(row.Cells, matrixCell{})
				continue
			}
			any = true
			alpha := math.Max(0.08, float64(v)/float64(max64))
			color := "37, 99, 235"
			if from == to {
				color = "100, 116, 139"
			}
			row.Cells = append(row.Cells, matrixCell{Text: fmt.Sprint(v),
				Style: template.CSS(fmt.Sprintf("background: rgba(%s, %.2f); color: %s", color, alpha, textColor(alpha)))})
		}
		if any {
			m.Rows = append(m.Rows, row)
		}
	}
	return m
}

// sortTail orders the names after the first n (segments only in the
// previous night) by name, so the page does not depend on map order.
func sortTail(names []string, n int) {
	tail := names[min(n, len(names)):]
	for i := 1; i < len(tail); i++ {
		for j := i; j > 0 && tail[j] < tail[j-1]; j-- {
			tail[j], tail[j-1] = tail[j-1], tail[j]
		}
	}
}

// changesConfig reads what the tiles need of the job.
func changesConfig(s *stage) (*changes, error) {
	k := kpisconfig.Section.Of(s.rc.Job)
	return newChanges(s.runDay, k.Period, k.ChurnDays, actionsconfig.Of(s.rc.Job).WinbackDays, segmentsconfig.Of(s.rc.Job).ChangeTracking)
}
