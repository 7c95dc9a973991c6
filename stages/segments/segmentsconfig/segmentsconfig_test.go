package segmentsconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the segments section, so these
// tests depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/jobs", []config.Section{Section})
}

func TestSectionDefaults(t *testing.T) {
	f, err := decode("")
	if err != nil {
		t.Fatal(err)
	}
	c := Section.Of(f)
	if c.CAC != 0 || !reflect.DeepEqual(c.Rules, DefaultRules) {
		t.Errorf("defaults = %+v, want cac 0 and the default grid", c)
	}
	// The defaults are a copy: a file's rules must not reach the next file.
	c.Rules[0].Name = "changed"
	if DefaultRules[0].Name != "Champions" {
		t.Error("a decoded file shares its rules with DefaultRules")
	}
}

func TestSectionRules(t *testing.T) {
	f, err := decode(`
segments:
  cac: 12.5
  rules:
    - {name: Best, r: [5, 5], f: [4, 5], m: [1, 5]}
`)
	if err != nil {
		t.Fatal(err)
	}
	c := Section.Of(f)
	if c.CAC != 12.5 {
		t.Errorf("cac = %v, want 12.5", c.CAC)
	}
	want := []Rule{{"Best", [2]int{5, 5}, [2]int{4, 5}, [2]int{1, 5}}}
	if !reflect.DeepEqual(c.Rules, want) {
		t.Fatalf("rules = %+v, want only %+v (a file's rules replace the grid)", c.Rules, want)
	}
	for _, tt := range []struct {
		r, f, m int
		want    bool
	}{
		{5, 4, 1, true},
		{5, 5, 5, true},
		{4, 5, 5, false},
		{5, 3, 1, false},
	} {
		if got := c.Rules[0].Matches(tt.r, tt.f, tt.m); got != tt.want {
			t.Errorf("Matches(%d, %d, %d) = %v, want %v", tt.r, tt.f, tt.m, got, tt.want)
		}
	}
}

// TestDefaultRulesGrid checks that the default rules give every (R, F)
// pair, whatever M, exactly one named segment, so no customer lands in
// Other by default and the order of the rules does not matter.
func TestDefaultRulesGrid(t *testing.T) {
	names := map[string]bool{}
	for _, rule := range DefaultRules {
		names[rule.Name] = true
	}
	if len(names) != 11 || len(DefaultRules) != 11 {
		t.Errorf("%d rules with %d names, want 11 named segments", len(DefaultRules), len(names))
	}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				var matched []string
				for _, rule := range DefaultRules {
					if rule.Matches(r, f, m) {
						matched = append(matched, rule.Name)
					}
				}
				if len(matched) != 1 {
					t.Errorf("R%d F%d M%d matches %v, want one default rule", r, f, m, matched)
				}
			}
		}
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"score below 1", "segments: {rules: [{name: x, r: [0, 5], f: [1, 5], m: [1, 5]}]}\n", "segments.rules[0].r[0]: 0 is out of range; want a whole number from 1 to 5"},
		{"score above 5", "segments: {rules: [{name: x, r: [1, 5], f: [1, 5], m: [1, 6]}]}\n", "segments.rules[0].m[1]: 6 is out of range"},
		{"range reversed", "segments: {rules: [{name: x, r: [5, 1], f: [1, 5], m: [1, 5]}]}\n", "segments.rules[0] (x): ranges must be [low, high] within 1..5"},
		{"rule without a name", "segments: {rules: [{r: [1, 5], f: [1, 5], m: [1, 5]}]}\n", "segments.rules[0] has no name"},
		{"no rules", "segments: {rules: []}\n", "segments.rules: want at least one rule"},
		{"negative cac", "segments: {cac: -1}\n", "segments.cac: -1 is out of range"},
		{"fractional score", "segments: {rules: [{name: x, r: [1, 4.5], f: [1, 5], m: [1, 5]}]}\n", "segments.rules[0].r[1]: 4.5 is not a whole number"},
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

// TestChangeTracking: on unless the file turns it off.
func TestChangeTracking(t *testing.T) {
	tests := []struct {
		yaml string
		want bool
	}{
		{"", true},
		{"segments: {change_tracking: true}\n", true},
		{"segments: {change_tracking: false}\n", false},
	}
	for _, tt := range tests {
		f, err := decode(tt.yaml)
		if err != nil {
			t.Fatal(err)
		}
		if got := Of(f).ChangeTracking; got != tt.want {
			t.Errorf("%q: change_tracking %v, want %v", tt.yaml, got, tt.want)
		}
	}
}
