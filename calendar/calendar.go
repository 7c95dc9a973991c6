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
		y, m := yearMonth(day)
		return y*4 + (m-1)/3
	}
	y, m := yearMonth(day)
	return y*12 + m - 1
}

// yearMonth is Date(day)'s year and month (1–12) by integer arithmetic on
// the proleptic Gregorian calendar (the days-to-civil algorithm of
// Hinnant's chrono notes): stages ask for a period per purchase day, and
// going through time.Time costs more than the rest of their work.
func yearMonth(day int32) (year, month int) {
	z := int64(day) + 719468 // days since 0000-03-01
	era := floorDiv(z, 146097)
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365], from March 1
	mp := (5*doy + 2) / 153                                // [0, 11], March = 0
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return int(y), int(m)
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
