package audiences

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the audiences section, so these
// tests depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/", []config.Section{Section})
}

func TestSectionValues(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       Config
	}{
		{"defaults", "", Config{Enabled: true, Lists: Names, TopSegments: DefaultTopSegments, PAliveDrop: 0.2}},
		{"off", "audiences: {enabled: false}\n", Config{Enabled: false, Lists: Names, TopSegments: DefaultTopSegments, PAliveDrop: 0.2}},
		{"some", "audiences: {lists: [new_customers, at_risk_high_value]}\n", Config{Enabled: true, Lists: []string{"new_customers", "at_risk_high_value"}, TopSegments: DefaultTopSegments, PAliveDrop: 0.2}},
		{"movers", "audiences: {top_segments: [Champions], p_alive_drop: 0.5}\n", Config{Enabled: true, Lists: Names, TopSegments: []string{"Champions"}, PAliveDrop: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := *Section.Of(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("audiences = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"no lists", "audiences: {lists: []}\n", "audiences.lists: want at least one list"},
		{"unknown list", "audiences: {lists: [new_customers, vips]}\n", `audiences.lists: unknown audience "vips"`},
		{"enabled not a bool", "audiences: {enabled: maybe}\n", "maybe"},
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
