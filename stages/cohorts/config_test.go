package cohorts

import (
	"errors"
	"strings"
	"testing"

	"retain/config"
)

func TestSection(t *testing.T) {
	tests := []struct {
		name, yaml, want, err string
	}{
		{"default", "", "month", ""},
		{"week", "cohorts: {period: week}\n", "week", ""},
		{"quarter", "cohorts: {period: quarter}\n", "quarter", ""},
		{"day", "cohorts: {period: day}\n", "", `cohorts.period "day": want month, week or quarter`},
		{"empty", "cohorts: {period: \"\"}\n", "", `cohorts.period ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Decode([]byte("name: n\n"+tt.yaml), "/", []config.Section{Section})
			if tt.err != "" {
				if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := Section.Of(f).Period; got != tt.want {
				t.Errorf("period = %q, want %q", got, tt.want)
			}
		})
	}
}
