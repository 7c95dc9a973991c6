package bqsource

import (
	"fmt"
	"strings"

	"retain/calendar"
	"retain/night"
	"retain/stages/internal/localday"
	"retain/stages/internal/periods"
)

// cellStartSQL is the SQL of periods.Grid.CellStart: the first day of the cell that holds purchase day day (a
// DATE expression) of a customer whose first purchase day is first. The
// grid's days are DATE literals, so the expression needs no parameter and
// `retain plan` shows the night's cuts as they are.
func cellStartSQL(g periods.Grid, day, first string) string {
	lit := func(d int32) string { return "DATE '" + calendar.Date(d).Format("2006-01-02") + "'" }
	unit := map[calendar.Unit]string{calendar.Week: "WEEK(MONDAY)", calendar.Month: "MONTH", calendar.Quarter: "QUARTER"}
	start := "DATE_TRUNC(" + day + ", " + unit[g.Unit] + ")"
	if g.Chunk > 0 {
		start = fmt.Sprintf("DATE_ADD(%s, INTERVAL DIV(DATE_DIFF(%s, %s, DAY), %d) * %d DAY)", start, day, start, g.Chunk, g.Chunk)
	}
	if g.Cohort != "" {
		start = "GREATEST(" + start + ", DATE_TRUNC(" + day + ", " + unit[g.Cohort] + "))"
	}
	if len(g.Cuts) > 0 {
		// The last cut on or before day; the earliest cut stands for
		// "none" when day is before every cut, as start is later then.
		var b strings.Builder
		b.WriteString("CASE")
		for i := len(g.Cuts) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, " WHEN %s >= %s THEN %s", day, lit(g.Cuts[i]), lit(g.Cuts[i]))
		}
		b.WriteString(" ELSE " + start + " END")
		start = "GREATEST(" + start + ", " + b.String() + ")"
	}
	grid := "IF(" + day + " >= " + lit(g.DailyFrom) + ", " + day + ", " + start + ")"
	return "IF(" + day + " = " + first + ", " + day + ", GREATEST(" + grid + ", DATE_ADD(" + first + ", INTERVAL 1 DAY)))"
}

// CellStart is the night's grid (periods.For) as the pushdown applies it:
// the SQL of cellStartSQL over the DATE expressions day and first, and the
// Go rule it must agree with, for a test on a SQL engine.
func CellStart(rc *night.Context, day, first string) (string, func(day, first int32) int32, error) {
	g, err := periods.For(rc.Job, localday.RunDate(rc))
	if err != nil {
		return "", nil, err
	}
	return cellStartSQL(g, day, first), g.CellStart, nil
}
