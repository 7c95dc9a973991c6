package clvconfig

import (
	"errors"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the clv section, so these tests
// depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/", []config.Section{Section})
}

// TestSectionValues: a value the file sets wins over the default, even
// when it is 0, and the others keep theirs.
func TestSectionValues(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       CLV
	}{
		{"defaults", "", CLV{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01, IntervalLevel: 0.8, IntervalDraws: 200, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25}},
		{"set", "clv: {horizon_days: 30, monthly_discount_rate: 0}\n", CLV{Model: "auto", HorizonDays: 30, HorizonMonths: 12, MonthlyDiscountRate: 0, IntervalLevel: 0.8, IntervalDraws: 200, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25}},
		{"whole float", "clv: {model: none, holdout_days: 3e1}\n", CLV{Model: "none", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01, HoldoutDays: 30, IntervalLevel: 0.8, IntervalDraws: 200, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25}},
		{"intervals off", "clv: {interval_level: 0.95, interval_draws: 0}\n", CLV{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01, IntervalLevel: 0.95, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25}},
		{"mbgnbd", "clv: {model: mbgnbd}\n", CLV{Model: "mbgnbd", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01, IntervalLevel: 0.8, IntervalDraws: 200, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := *Of(f); got != tt.want {
				t.Errorf("clv = %+v, want %+v", got, tt.want)
			}
			if got := Layout(f).HorizonDays; got != tt.want.HorizonDays {
				t.Errorf("layout horizon %d, want %d", got, tt.want.HorizonDays)
			}
		})
	}
}

// TestMarginRate: unset by default, so predicted_clv_margin stays null
// unless a shop states its margin; 1 is allowed (a shop that counts revenue
// as margin).
func TestMarginRate(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       float64 // 0 for unset
	}{
		{"unset", "", 0},
		{"null", "clv: {margin_rate: null}\n", 0},
		{"set", "clv: {margin_rate: 0.35}\n", 0.35},
		{"whole", "clv: {margin_rate: 1}\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			got := Of(f).MarginRate
			if (got == nil) != (tt.want == 0) || got != nil && *got != tt.want {
				t.Errorf("margin_rate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"negative min_customers", "clv: {min_customers: -1}\n", "clv.min_customers: -1 is out of range"},
		{"fractional horizon_days", "clv: {horizon_days: 90.5}\n", "clv.horizon_days: 90.5 is not a whole number"},
		{"zero horizon_days", "clv: {horizon_days: 0}\n", "clv.horizon_days: 0 is out of range"},
		{"discount rate of 1", "clv: {monthly_discount_rate: 1}\n", "clv.monthly_discount_rate: 1 is out of range"},
		{"negative holdout", "clv: {holdout_days: -1}\n", "clv.holdout_days: -1 is out of range"},
		{"interval level of 1", "clv: {interval_level: 1}\n", "clv.interval_level: 1 is out of range"},
		{"interval level of 0", "clv: {interval_level: 0}\n", "clv.interval_level: 0 is out of range"},
		{"too many draws", "clv: {interval_draws: 10001}\n", "clv.interval_draws: 10001 is out of range"},
		{"one draw", "clv: {interval_draws: 1}\n", "clv.interval_draws: 1 is too few"},
		{"margin of 0", "clv: {margin_rate: 0}\n", "clv.margin_rate: 0 is out of range"},
		{"margin above 1", "clv: {margin_rate: 1.5}\n", "clv.margin_rate: 1.5 is out of range"},
		{"unknown model", "clv: {model: gamma}\n", `clv.model "gamma": want auto, bgnbd, pareto_nbd, mbgnbd or none`},
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
