package validate

import (
	"time"
)

// parseTimestamp reads the timestamp texts shops export. Texts without a
// zone are wall-clock times in loc. layout, when set, is tried first.
func parseTimestamp(s string, loc *time.Location, layout string) (time.Time, bool) {
	if layout != "" {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		return date(s[0:4], s[5:7], s[8:10], loc)
	case len(s) == 8:
		return date(s[0:4], s[4:6], s[6:8], loc)
	}
	for _, l := range zoned {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	for _, l := range local {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var (
	zoned = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 -0700 MST"}
	local = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"}
)

// date parses digit fields without allocating and rejects impossible dates
// (2026-02-30) that time.Date would silently normalise.
func date(ys, ms, ds string, loc *time.Location) (time.Time, bool) {
	y, ok1 := digits(ys)
	m, ok2 := digits(ms)
	d, ok3 := digits(ds)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}
