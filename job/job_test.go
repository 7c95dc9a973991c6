package job

import (
	"errors"
	"strings"
	"testing"
	"time"
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

const base = "name: n\ninput: {orders: {path: o}}\n"

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
		// Values a job file sets are checked, never replaced by a default.
		{"zero max_pairs", base + "affinity: {max_pairs: 0}\n", "affinity.max_pairs: 0 is out of range"},
		{"zero open_orders", base + "affinity: {open_orders: 0}\n", "affinity.open_orders: 0 is out of range"},
		{"zero churn_days", base + "kpis: {churn_days: 0}\n", "kpis.churn_days: 0 is out of range"},
		{"negative new_customer_days", base + "actions: {new_customer_days: -3}\n", "actions.new_customer_days: -3 is out of range"},
		{"negative milestone", base + "actions: {milestones: [5, -1]}\n", "actions.milestones[1]: -1 is out of range"},
		{"milestones not increasing", base + "actions: {milestones: [10, 5]}\n", "milestones must be increasing"},
		{"negative tier minimum", base + "actions: {tiers: {levels: [{name: A, min: -5}]}}\n", "actions.tiers.levels[0].min: -5 is out of range"},
		{"negative min_customers", base + "clv: {min_customers: -1}\n", "clv.min_customers: -1 is out of range"},
		{"fractional horizon_days", base + "clv: {horizon_days: 90.5}\n", "clv.horizon_days: 90.5 is not a whole number"},
		{"fractional milestone", base + "actions: {milestones: [2.5]}\n", "actions.milestones[0]: 2.5 is not a whole number"},
		{"second document", base + "---\nname: other\n", "one YAML document"},
		{"empty file", "", "empty"},
		{"discount rate of 1", base + "clv: {monthly_discount_rate: 1}\n", "clv.monthly_discount_rate: 1 is out of range"},
		{"p_alive cut-offs crossed", base + "actions: {churn_risk: {p_alive_high: 0.8}}\n", "p_alive_high < p_alive_medium"},
		{"volume drop above 1", base + "validate: {max_volume_drop: 1.5}\n", "validate.max_volume_drop: 1.5 is out of range"},
		{"no counted statuses", base + "validate: {counted_statuses: []}\n", "validate.counted_statuses"},
		{"no segment rules", base + "segments: {rules: []}\n", "segments.rules"},
		{"no audience lists", base + "audiences: {lists: []}\n", "audiences.lists"},
		{"tiny row groups", base + "output: {row_group_rows: 10}\n", "output.row_group_rows: 10 is out of range"},
		{"negative retention spend", base + "kpis: {retention_spend: {\"2026-10-01\": -5}}\n", "kpis.retention_spend.2026-10-01: -5 is out of range"},
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

// TestParseKeepsExplicitValues: a value a job file sets wins over the
// default, and integral floats such as 1e3 are whole numbers.
func TestParseKeepsExplicitValues(t *testing.T) {
	j, err := Parse([]byte(base+"affinity: {max_pairs: 1e4}\nclv: {horizon_days: 30, monthly_discount_rate: 0}\nvalidate: {max_volume_drop: 1}\n"), "/")
	if err != nil {
		t.Fatal(err)
	}
	if j.Affinity.MaxPairs != 10_000 || j.CLV.HorizonDays != 30 || *j.CLV.MonthlyDiscountRate != 0 || j.Validate.MaxVolumeDrop != 1 ||
		j.Affinity.OpenOrders != 4096 || j.Validate.CountedStatuses[0] != "completed" {
		t.Errorf("job = %+v", j)
	}
}

// FuzzParse: no job file, however broken, panics the parser, and a file
// that parses is checked (every range holds) and parses again the same.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		base,
		base + "affinity: {max_pairs: 0}\n",
		base + "clv: {horizon_days: 90.5}\n",
		base + "---\nname: x\n",
		"name: n\ninput: {orders: {bigquery: {project: p, dataset: d, table: t, pushdown: true}}}\n",
		"name: n\ninput: {orders: {path: o, columns: {order_id: X}}, fx_rates: {path: r}, reporting_currency: EUR}\nsink: {kind: bigquery, project: p, dataset: d}\n",
		"name: n\ninput: {orders: {path: o}}\nactions: {tiers: {basis: orders, levels: [{name: a, min: 1}, {name: b, min: 2}]}, milestones: [1, 2]}\n",
		"&a name: n\ninput: *a\n",
		"name: [n]\n",
		"segments: {rules: [{name: x, r: [5, 1]}]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		done := make(chan struct{})
		var j *Job
		var err error
		go func() { j, err = Parse(raw, "/jobs"); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("Parse hangs on %q", raw)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if j.Name == "" || j.Location() == nil || j.Affinity.MaxPairs < 1000 || j.KPIs.ChurnDays < 1 || j.CLV.HorizonDays < 1 || len(j.Segments.Rules) == 0 {
			t.Fatalf("parsed job breaks a range: %+v", j)
		}
		if _, err := Parse(raw, "/jobs"); err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
	})
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
		{"max_amount: 0", "max_amount"},
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
