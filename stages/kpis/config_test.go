package kpis

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the kpis section, so these
// tests depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/", []config.Section{Section})
}

func TestSectionValues(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       Config
	}{
		{"defaults", "", Config{Period: "month", ChurnDays: 180}},
		{"set", "kpis: {period: week, churn_days: 90, retention_spend: {\"2026-10-01\": 1500, \"2026-11-01\": 0}}\n",
			Config{Period: "week", ChurnDays: 90, RetentionSpend: map[string]float64{"2026-10-01": 1500, "2026-11-01": 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := *Section.Of(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("kpis = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad period", "kpis: {period: day}\n", `kpis.period "day": want month, week or quarter`},
		{"bad spend key", "kpis: {retention_spend: {jan: 5}}\n", `kpis.retention_spend key "jan"`},
		{"negative retention spend", "kpis: {retention_spend: {\"2026-10-01\": -5}}\n", "kpis.retention_spend.2026-10-01: -5 is out of range"},
		// A value the file sets is checked, never replaced by the default.
		{"zero churn_days", "kpis: {churn_days: 0}\n", "kpis.churn_days: 0 is out of range"},
		{"churn_days above ten years", "kpis: {churn_days: 3651}\n", "kpis.churn_days: 3651 is out of range"},
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
