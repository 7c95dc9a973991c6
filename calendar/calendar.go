// Package calendar holds the reporting periods (week, month, quarter) as
// day numbers (days since 1970-01-01), the unit every stage counts dates in.
package calendar

import (
	"fmt"
	"time"
)

// Unit is a reporting period length.
type Unit string

// The supported units. Weeks start on Monday (ISO 8601).
const (
	Week    Unit = "week"
	Month   Unit = "month"
	Quarter Unit = "quarter"
)

// ParseUnit checks a unit name from a job file.
func ParseUnit(s string) (Unit, error) {
	switch u := Unit(s); u {
	case Week, Month, Quarter:
		return u, nil
	}
	return "", fmt.Errorf("period %q: want week, month or quarter", s)
}

// Date turns a day number into a UTC midnight time.
func Date(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// Day turns a date into its day number.
func Day(t time.Time) int32 {
	return int32(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Start is the first day of the period that contains day.
func (u Unit) Start(day int32) int32 {
	t := Date(day)
	switch u {
	case Week:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return day - int32(wd)
	case Quarter:
		m := (t.Month()-1)/3*3 + 1
		return Day(time.Date(t.Year(), m, 1, 0, 0, 0, 0, time.UTC))
	}
	return Day(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC))
}

// Next is the first day of the period after the one starting at start.
func (u Unit) Next(start int32) int32 {
	switch u {
	case Week:
		return start + 7
	case Quarter:
		return Day(Date(start).AddDate(0, 3, 0))
	}
	return Day(Date(start).AddDate(0, 1, 0))
}

// Index numbers periods so that consecutive periods differ by one; the
// difference of two indexes is a period offset.
func (u Unit) Index(day int32) int {
	switch u {
	case Week:
		// 1970-01-05 was a Monday, day 4.
		return int(floorDiv(int64(day)-4, 7))
	case Quarter:
		t := Date(day)
		return t.Year()*4 + int(t.Month()-1)/3
	}
	t := Date(day)
	return t.Year()*12 + int(t.Month()-1)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// SameDayBefore is the same day of the period before the one containing
// day, or that period's last day when it is shorter (31 March → 28
// February): the day a "previous period" comparison is made against.
func (u Unit) SameDayBefore(day int32) int32 {
	cur := u.Start(day)
	return min(u.Start(cur-1)+(day-cur), cur-1)
}
