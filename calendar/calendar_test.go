package calendar

import (
	"math"
	"testing"
	"time"
)

func day(s string) int32 {
	t, err := timeParse(s)
	if err != nil {
		panic(err)
	}
	return Day(t)
}

func TestPeriods(t *testing.T) {
	tests := []struct {
		unit        Unit
		in          string
		start, next string
	}{
		{Month, "2026-02-28", "2026-02-01", "2026-03-01"},
		{Month, "2024-02-29", "2024-02-01", "2024-03-01"},
		{Month, "2026-12-31", "2026-12-01", "2027-01-01"},
		{Quarter, "2026-05-17", "2026-04-01", "2026-07-01"},
		{Quarter, "2026-12-31", "2026-10-01", "2027-01-01"},
		{Week, "2026-11-22", "2026-11-16", "2026-11-23"}, // a Sunday belongs to the week from Monday
		{Week, "2026-11-23", "2026-11-23", "2026-11-30"},
		{Week, "1970-01-01", "1969-12-29", "1970-01-05"},
	}
	for _, tt := range tests {
		t.Run(string(tt.unit)+"/"+tt.in, func(t *testing.T) {
			s := tt.unit.Start(day(tt.in))
			if s != day(tt.start) {
				t.Errorf("Start = %s, want %s", Date(s).Format("2006-01-02"), tt.start)
			}
			if n := tt.unit.Next(s); n != day(tt.next) {
				t.Errorf("Next = %s, want %s", Date(n).Format("2006-01-02"), tt.next)
			}
			if d := tt.unit.Index(day(tt.next)) - tt.unit.Index(day(tt.in)); d != 1 {
				t.Errorf("Index step = %d, want 1", d)
			}
		})
	}
}

func timeParse(s string) (t time.Time, err error) { return time.Parse(time.DateOnly, s) }

// TestSameDayBefore: as many days into the previous period as the day is
// into its own, or that period's last day when it is shorter.
func TestSameDayBefore(t *testing.T) {
	tests := []struct {
		unit      Unit
		day, want string
	}{
		{Month, "2026-11-22", "2026-10-22"},
		{Month, "2026-03-31", "2026-02-28"},
		{Month, "2024-03-30", "2024-02-29"},
		{Month, "2026-01-01", "2025-12-01"},
		{Week, "2026-11-22", "2026-11-15"},
		{Quarter, "2026-11-22", "2026-08-22"},
		{Quarter, "2026-05-31", "2026-03-02"}, // day 61 of each quarter
		{Quarter, "2026-06-30", "2026-03-31"},
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.day)
		got := Date(tt.unit.SameDayBefore(Day(d))).Format(time.DateOnly)
		if got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.unit, tt.day, got, tt.want)
		}
	}
}

// TestIndexMatchesTime: the integer calendar gives time.Time's year and
// month on every day of 1600–2400 (leap centuries, the epoch, both signs)
// and at the ends of int32.
func TestIndexMatchesTime(t *testing.T) {
	days := []int32{math.MinInt32, math.MinInt32 + 1, math.MaxInt32 - 1, math.MaxInt32}
	for d := Day(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); d <= Day(time.Date(2400, 12, 31, 0, 0, 0, 0, time.UTC)); d++ {
		days = append(days, d)
	}
	for _, d := range days {
		tm := Date(d)
		for _, c := range []struct {
			u    Unit
			want int
		}{
			{Month, tm.Year()*12 + int(tm.Month()-1)},
			{Quarter, tm.Year()*4 + int(tm.Month()-1)/3},
		} {
			if got := c.u.Index(d); got != c.want {
				t.Fatalf("%s.Index(%d) (%s) = %d, want %d", c.u, d, tm.Format(time.DateOnly), got, c.want)
			}
		}
	}
}
