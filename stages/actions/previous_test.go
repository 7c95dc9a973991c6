package actions

import "testing"

// TestPreviousNight: the previous night's stage is the stage on the run date
// − 1 over the days up to then, and a won-back order needs a silence of at
// least actions.won_back_days (90) before the run date.
func TestPreviousNight(t *testing.T) {
	cfg := defaults(t)
	run := "2026-11-22"
	tests := []struct {
		name    string
		days    []string
		prev    string
		wonBack bool
	}{
		{"first order tonight", []string{run}, "", false},
		// 90 days from 2026-08-24 to the run date; 89 to the night before.
		{"exactly 90 days silent, back tonight", []string{"2026-08-24", run}, "active", true},
		{"92 days silent, back tonight", []string{"2026-08-22", run}, "winback_1", true},
		{"89 days silent, back tonight", []string{"2026-08-25", run}, "active", false},
		{"lapsed customer back tonight", []string{"2025-01-01", run}, "lapsed", true},
		// 90 days since the last order on the run date − 1 is 2026-08-23.
		{"silent, crosses 90 tonight", []string{"2026-08-24"}, "active", false},
		{"silent, crossed 90 yesterday", []string{"2026-08-23"}, "winback_1", false},
		{"ordered yesterday, not tonight", []string{"2026-01-01", "2026-11-21"}, "active", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Customer
			for _, d := range tt.days {
				c.First, c.Last = append(c.First, day(d)), append(c.Last, day(d))
				c.Orders = append(c.Orders, 1)
				c.Revenue = append(c.Revenue, 10)
			}
			r := Evaluate(cfg, day(run), c)
			if r.PreviousWinbackStage != tt.prev || r.WonBackToday != tt.wonBack {
				t.Errorf("previous %q, won back %v; want %q, %v", r.PreviousWinbackStage, r.WonBackToday, tt.prev, tt.wonBack)
			}
		})
	}
}
