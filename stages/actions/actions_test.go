package actions

import (
	"testing"
	"time"

	"retain/calendar"
	"retain/config"
	"retain/night"
	"retain/stages/actions/actionsconfig"
)

func defaults(t *testing.T) actionsconfig.Actions {
	j, err := config.Decode([]byte("name: t\ninput: {orders: {path: x}}\n"), "/", []config.Section{night.InputSection, actionsconfig.Section})
	if err != nil {
		t.Fatal(err)
	}
	return *actionsconfig.Of(j)
}

func day(s string) int32 {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return calendar.Day(d)
}

// purchases builds a customer from (date, orders, revenue) triples, each
// day a cell of its own.
func purchases(entries ...any) Customer {
	var c Customer
	for i := 0; i < len(entries); i += 3 {
		d := day(entries[i].(string))
		c.First, c.Last = append(c.First, d), append(c.Last, d)
		c.Orders = append(c.Orders, int64(entries[i+1].(int)))
		c.Revenue = append(c.Revenue, float64(entries[i+2].(int)))
	}
	return c
}

func TestWinbackBoundaries(t *testing.T) {
	cfg := defaults(t)
	run := day("2026-11-22")
	tests := []struct {
		last, stage, entered string
	}{
		{"2026-08-25", "active", "2026-08-25"},    // 89 days
		{"2026-08-24", "winback_1", "2026-11-22"}, // exactly 90 days: entered today
		{"2026-05-26", "winback_2", "2026-11-22"}, // exactly 180
		{"2026-02-26", "winback_2", "2026-08-25"}, // 270 − 1
		{"2026-02-25", "winback_3", "2026-11-22"}, // exactly 270
		{"2025-11-22", "lapsed", "2026-11-22"},    // exactly 365
		{"2020-01-01", "lapsed", "2020-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.last, func(t *testing.T) {
			r := Evaluate(cfg, run, purchases(tt.last, 1, 10))
			if r.WinbackStage != tt.stage || r.WinbackEnteredOn != day(tt.entered) {
				t.Errorf("got %s since %s, want %s since %s", r.WinbackStage, calendar.Date(r.WinbackEnteredOn).Format(time.DateOnly), tt.stage, tt.entered)
			}
		})
	}
}

func TestTiersAndMilestones(t *testing.T) {
	cfg := defaults(t)
	run := day("2026-11-22")
	// 1500 before today plus 500 today reaches Gold's 2000 exactly.
	r := Evaluate(cfg, run, purchases("2026-01-10", 4, 1500, "2026-11-22", 1, 500))
	if r.Tier != "Gold" || r.NextTier != "Platinum" || *r.SpendToNext != 3000 || !r.TierUpgradedToday || r.OrdersToNext != nil {
		t.Errorf("threshold hit exactly: %+v", r)
	}
	if r.Milestone == nil || *r.Milestone != 5 {
		t.Errorf("5th order today: milestone %v", r.Milestone)
	}
	// Two orders today jump from 9 to 11: the 10th is reached.
	r = Evaluate(cfg, run, purchases("2026-01-10", 9, 90, "2026-11-22", 2, 20))
	if r.Milestone == nil || *r.Milestone != 10 || r.Tier != "Bronze" || r.TierUpgradedToday {
		t.Errorf("9 → 11 orders: %+v", r)
	}
	// No order today: nothing reached, even at exactly 5 orders.
	r = Evaluate(cfg, run, purchases("2026-01-10", 5, 6000))
	if r.Milestone != nil || r.Tier != "Platinum" || r.NextTier != "" || r.SpendToNext != nil {
		t.Errorf("top tier, no order today: %+v", r)
	}
	cfg.Tiers = actionsconfig.Tiers{Basis: "orders", Levels: []actionsconfig.Tier{{Name: "Regular", Min: 2}, {Name: "VIP", Min: 10}}}
	r = Evaluate(cfg, run, purchases("2026-01-10", 1, 10))
	if r.Tier != "" || r.NextTier != "Regular" || r.OrdersToNext == nil || *r.OrdersToNext != 1 || r.SpendToNext != nil {
		t.Errorf("below the first order tier: %+v", r)
	}
	cfg.Tiers = actionsconfig.Tiers{Basis: "trailing_12m_spend", Levels: []actionsconfig.Tier{{Name: "Active", Min: 0}, {Name: "Big", Min: 1000}}}
	r = Evaluate(cfg, run, purchases("2025-01-01", 1, 5000, "2026-06-01", 1, 100))
	if r.Tier != "Active" || *r.SpendToNext != 900 {
		t.Errorf("trailing 12 months ignores last year's 5000: %+v", r)
	}
}

func TestAnniversaries(t *testing.T) {
	cfg := defaults(t)
	tests := []struct {
		first, run string
		want       bool
	}{
		{"2025-11-22", "2026-11-22", true},
		{"2026-11-22", "2026-11-22", false}, // the first order itself
		{"2025-11-21", "2026-11-22", false},
		{"2024-02-29", "2025-02-28", true}, // no 29th: celebrated on the 28th
		{"2024-02-29", "2025-03-01", false},
		{"2024-02-29", "2028-02-29", true},
		{"2024-02-29", "2028-02-28", false}, // leap year: the real day counts
		{"2023-02-28", "2024-02-28", true},
	}
	for _, tt := range tests {
		t.Run(tt.first+"/"+tt.run, func(t *testing.T) {
			r := Evaluate(cfg, day(tt.run), purchases(tt.first, 1, 10))
			if r.Anniversary != tt.want {
				t.Errorf("anniversary = %v, want %v", r.Anniversary, tt.want)
			}
		})
	}
}

func TestDecliningAndNew(t *testing.T) {
	cfg := defaults(t)
	run := day("2026-11-22")
	// Window from 2026-08-25. Before: 10 orders over 2026-01-01..08-24 (236
	// days, 0.042/day); after: 1 order in 90 days (0.011/day) < half.
	r := Evaluate(cfg, run, purchases("2026-01-01", 5, 500, "2026-06-01", 5, 500, "2026-10-01", 1, 50))
	if !r.FrequencyDeclining || !r.ValueDeclining {
		t.Errorf("rate and value fell: %+v", r)
	}
	// Same early history, 4 recent orders of 100: rate 0.044/day, not declining.
	r = Evaluate(cfg, run, purchases("2026-01-01", 5, 500, "2026-06-01", 5, 500, "2026-10-01", 4, 400))
	if r.FrequencyDeclining || r.ValueDeclining {
		t.Errorf("steady customer flagged: %+v", r)
	}
	for _, tt := range []struct {
		first string
		want  bool
	}{{"2026-11-22", true}, {"2026-10-24", true}, {"2026-10-23", false}} { // 29 and 30 days before
		if r := Evaluate(cfg, run, purchases(tt.first, 1, 10)); r.NewCustomer != tt.want {
			t.Errorf("first order %s: new = %v", tt.first, r.NewCustomer)
		}
	}
}
