package actionsconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the actions section, so these
// tests depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/", []config.Section{Section})
}

func TestSectionValues(t *testing.T) {
	f, err := decode("actions: {winback_days: [30, 60, 90, 120], tiers: {basis: orders, levels: [{name: a, min: 1}, {name: b, min: 2}]}, milestones: [1, 2]}\n")
	if err != nil {
		t.Fatal(err)
	}
	a := Of(f)
	if !reflect.DeepEqual(a.WinbackDays, []int{30, 60, 90, 120}) || a.Tiers.Basis != "orders" ||
		!reflect.DeepEqual(a.Tiers.Levels, []Tier{{"a", 1}, {"b", 2}}) || !reflect.DeepEqual(a.Milestones, []int{1, 2}) {
		t.Errorf("set values not kept: %+v", a)
	}
	// Keys the file leaves out keep their defaults.
	if a.DeclineWindowDays != 90 || a.NewCustomerDays != 30 || a.TopSpenderPercent != 10 || a.ChurnRisk.PNoPurchaseHigh != 0.8 || a.ChurnRisk.PNoPurchaseMedium != 0.5 {
		t.Errorf("defaults lost: %+v", a)
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		// Values a file sets are checked, never replaced by a default.
		{"negative new_customer_days", "actions: {new_customer_days: -3}\n", "actions.new_customer_days: -3 is out of range"},
		{"negative milestone", "actions: {milestones: [5, -1]}\n", "actions.milestones[1]: -1 is out of range"},
		{"milestones not increasing", "actions: {milestones: [10, 5]}\n", "actions.milestones must be increasing (5 after 10)"},
		{"no milestones", "actions: {milestones: []}\n", "actions.milestones: want at least one order count"},
		{"fractional milestone", "actions: {milestones: [2.5]}\n", "actions.milestones[0]: 2.5 is not a whole number"},
		{"negative tier minimum", "actions: {tiers: {levels: [{name: A, min: -5}]}}\n", "actions.tiers.levels[0].min: -5 is out of range"},
		{"tiers not increasing", "actions: {tiers: {levels: [{name: A, min: 5}, {name: B, min: 5}]}}\n", "actions.tiers.levels must be in increasing min order (B after A)"},
		{"fractional order tier", "actions: {tiers: {basis: orders, levels: [{name: A, min: 0}, {name: B, min: 2.5}]}}\n", "actions.tiers.levels[1].min: 2.5 is not a whole number of orders (tiers.basis is orders)"},
		{"tier without a name", "actions: {tiers: {levels: [{min: 0}]}}\n", "actions.tiers.levels[0] has no name"},
		{"no tiers", "actions: {tiers: {levels: []}}\n", "actions.tiers.levels: want at least one level"},
		{"bad tier basis", "actions: {tiers: {basis: visits}}\n", `actions.tiers.basis "visits": want lifetime_spend, trailing_12m_spend or orders`},
		{"three winback days", "actions: {winback_days: [90, 180, 270]}\n", "actions.winback_days [90 180 270]: want 4 increasing day counts"},
		{"winback days not increasing", "actions: {winback_days: [90, 90, 270, 365]}\n", "want 4 increasing day counts"},
		{"winback day of 0", "actions: {winback_days: [0, 180, 270, 365]}\n", "actions.winback_days[0]: 0 is out of range"},
		{"p_no_purchase cut-offs crossed", "actions: {churn_risk: {p_no_purchase_medium: 0.9}}\n", "p_no_purchase_medium < p_no_purchase_high"},
		{"p_no_purchase cut-offs equal", "actions: {churn_risk: {p_no_purchase_medium: 0.6, p_no_purchase_high: 0.6}}\n", "p_no_purchase_medium < p_no_purchase_high"},
		{"removed p_alive cut-off", "actions: {churn_risk: {p_alive_high: 0.3}}\n", "p_alive_high"},
		{"gap cut-offs crossed", "actions: {churn_risk: {gap_medium: 4}}\n", "gap_medium < gap_high"},
		{"p_no_purchase of 1", "actions: {churn_risk: {p_no_purchase_high: 1}}\n", "actions.churn_risk.p_no_purchase_high: 1 is out of range"},
		{"p_no_purchase of 0", "actions: {churn_risk: {p_no_purchase_medium: 0}}\n", "actions.churn_risk.p_no_purchase_medium: 0 is out of range"},
		{"zero decline ratio", "actions: {frequency_decline_ratio: 0}\n", "actions.frequency_decline_ratio: 0 is out of range"},
		{"top spenders above 100", "actions: {top_spender_percent: 101}\n", "actions.top_spender_percent: 101 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.yaml)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
