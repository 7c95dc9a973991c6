package job

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	j, err := Parse([]byte("name: n\ninput: {orders: {path: o.csv}}\n"), "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	if j.Timezone != "UTC" || j.Output.RowGroupRows != 256*1024 || j.KPIs.ChurnDays != 180 ||
		j.KPIs.Period != "month" || j.Cohorts.Period != "month" || len(j.Segments.Rules) != 11 ||
		strings.Join(j.Validate.CountedStatuses, ",") != "completed" {
		t.Errorf("defaults not applied: %+v", j)
	}
	if got := j.Resolve("o.csv"); got != "/jobs/o.csv" {
		t.Errorf("Resolve = %s", got)
	}
	if got := j.Input.Orders.SourceColumn("amount"); got != "amount" {
		t.Errorf("unmapped column = %s, want amount", got)
	}
}

func TestParseSegmentRules(t *testing.T) {
	j, err := Parse([]byte(`
name: n
input: {orders: {path: o.csv}}
segments:
  cac: 12.5
  rules:
    - {name: Best, r: [5, 5], f: [4, 5], m: [1, 5]}
`), "/")
	if err != nil {
		t.Fatal(err)
	}
	r := j.Segments.Rules
	if len(r) != 1 || r[0].Name != "Best" || r[0].R != [2]int{5, 5} || !r[0].Matches(5, 4, 1) || r[0].Matches(4, 5, 5) || j.Segments.CAC != 12.5 {
		t.Errorf("rules = %+v", r)
	}
}

// TestDefaultSegmentGrid checks that the default rules give every (R, F)
// pair a named segment, so no customer lands in Other by default.
func TestDefaultSegmentGrid(t *testing.T) {
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			matched := ""
			for _, rule := range DefaultSegmentRules {
				if rule.Matches(r, f, 3) {
					matched = rule.Name
					break
				}
			}
			if matched == "" {
				t.Errorf("R%d F%d matches no default rule", r, f)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "name: n\ninput: {orders: {path: o}}\nouput: {path: x}\n", "ouput"},
		{"no name", "input: {orders: {path: o}}\n", "name is required"},
		{"no orders path", "name: n\n", "input.orders.path is required"},
		{"bad zone", "name: n\ntimezone: Mars/Olympus\ninput: {orders: {path: o}}\n", "Mars/Olympus"},
		{"bad format", "name: n\ninput: {orders: {path: o, format: xlsx}}\n", "xlsx"},
		{"unknown canonical column", "name: n\ninput: {orders: {path: o, columns: {order_total: t}}}\n", "order_total"},
		{"bad period", "name: n\ninput: {orders: {path: o}}\nkpis: {period: day}\n", "day"},
		{"bad rule range", "name: n\ninput: {orders: {path: o}}\nsegments: {rules: [{name: x, r: [0, 5], f: [1, 5], m: [1, 5]}]}\n", "within 1..5"},
		{"bad spend key", "name: n\ninput: {orders: {path: o}}\nkpis: {retention_spend: {jan: 5}}\n", "jan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "/")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseValidateLimits(t *testing.T) {
	j, err := Parse([]byte("name: n\ninput: {orders: {path: o}}\n"), "/")
	if err != nil {
		t.Fatal(err)
	}
	if j.Validate.MaxAmount != 1e9 || j.Validate.MinOrderTS != "1990-01-01" {
		t.Errorf("defaults: max_amount %v, min_order_ts %q", j.Validate.MaxAmount, j.Validate.MinOrderTS)
	}
	j, err = Parse([]byte("name: n\ninput: {orders: {path: o}}\nvalidate: {max_amount: 1e6, min_order_ts: 2001-02-03}\n"), "/")
	if err != nil {
		t.Fatal(err)
	}
	if j.Validate.MaxAmount != 1e6 || j.Validate.MinOrderTS != "2001-02-03" {
		t.Errorf("set: max_amount %v, min_order_ts %q", j.Validate.MaxAmount, j.Validate.MinOrderTS)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"max_amount: -1", "max_amount"},
		{"max_amount: .inf", "max_amount"},
		{"max_amount: .nan", "max_amount"},
		{"min_order_ts: yesterday", "min_order_ts"},
		{"min_order_ts: 1990-02-30", "min_order_ts"},
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			_, err := Parse([]byte("name: n\ninput: {orders: {path: o}}\nvalidate: {"+tt.yaml+"}\n"), "/")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
