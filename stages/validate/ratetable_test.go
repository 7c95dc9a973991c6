package validate

import "testing"

// TestRateTable: the table of a currency's rates by day answers as the
// search over its points does, before, between, on and after them, and a
// span too long for a table is searched.
func TestRateTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pts   []ratePoint
		table bool
	}{
		{"none", nil, false},
		{"one", []ratePoint{{100, 1.5}}, true},
		{"gaps", []ratePoint{{-3, 0.5}, {0, 0.75}, {1, 1.25}, {9, 2}, {30, 0.1}}, true},
		{"too long", []ratePoint{{0, 1}, {maxRateDays + 5, 2}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &seenCurrency{pts: tc.pts}
			lo, hi := int32(-10), int32(40)
			if n := len(tc.pts); n > 0 {
				lo, hi = tc.pts[0].day-5, tc.pts[n-1].day+5
			}
			for day := lo; day <= hi; day++ {
				gotRate, gotOK := c.rateOn(day)
				wantRate, wantOK := rateOn(tc.pts, day)
				if gotRate != wantRate || gotOK != wantOK {
					t.Fatalf("day %d: %v %v, want %v %v", day, gotRate, gotOK, wantRate, wantOK)
				}
			}
			if (c.byDay != nil) != tc.table {
				t.Errorf("table built: %v, want %v", c.byDay != nil, tc.table)
			}
		})
	}
}
