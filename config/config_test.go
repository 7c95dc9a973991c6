package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"retain/config"
)

const base = "name: n\ninput: {orders: {path: o.csv}}\n"

func decode(t *testing.T, yaml string) *config.File {
	t.Helper()
	f, err := config.Decode([]byte(yaml), "/jobs", sections)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDecodeDefaults(t *testing.T) {
	f := decode(t, base)
	if f.Name != "n" || f.Timezone != "UTC" || f.Location().String() != "UTC" || f.Dir() != "/jobs" {
		t.Errorf("file = %+v, location %v", f, f.Location())
	}
	if got, want := *clvSpec.Of(f), (clv{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01}); got != want {
		t.Errorf("clv = %+v, want %+v", got, want)
	}
	a := actionsSpec.Of(f)
	if !slices.Equal(a.WinbackDays, []int{90, 180, 270, 365}) || a.Tiers.Basis != "lifetime_spend" || len(a.Tiers.Levels) != 3 || a.ChurnRisk.MinOrders != 2 {
		t.Errorf("actions = %+v", a)
	}
	in := inputSpec.Of(f)
	if in.Orders.Path != "/jobs/o.csv" || in.Orders.CSV.Delimiter != "," || in.OrderItems != nil {
		t.Errorf("input = %+v", in)
	}
	if au := audiencesSpec.Of(f); au.Enabled == nil || !*au.Enabled || len(au.Lists) != 3 {
		t.Errorf("audiences = %+v", au)
	}
	if s := *sinkSpec.Of(f); s != nil {
		t.Errorf("sink = %+v, want none", s)
	}
	if k := kpisSpec.Of(f); k.Period != "month" || k.ChurnDays != 180 || k.RetentionSpend != nil {
		t.Errorf("kpis = %+v", k)
	}
}

// TestDefaultsAreNotShared: a file's values are its own, even when the
// defaults function returns a package-level slice.
func TestDefaultsAreNotShared(t *testing.T) {
	f := decode(t, base)
	actionsSpec.Of(f).WinbackDays[0] = 1
	actionsSpec.Of(f).Tiers.Levels[0].Name = "Tin"
	g := decode(t, base)
	if a := actionsSpec.Of(g); a.WinbackDays[0] != 90 || a.Tiers.Levels[0].Name != "Bronze" || winbackDefault[0] != 90 {
		t.Errorf("a change to one file reached another: %+v, winbackDefault %v", a, winbackDefault)
	}
}

func TestDecodeValues(t *testing.T) {
	f := decode(t, `
name: nightly
timezone: Europe/Berlin
clv: {horizon_days: 1e3, holdout_days: 0, monthly_discount_rate: 0}
actions:
  milestones: [1, 2.0]
  tiers: {levels: [{name: A, min: 0}, {name: B, min: 10}]}
kpis:
  retention_spend: {"2024-01-01": 12.5}
  churn_days_by_segment: {vip: 30}
validate: {max_amount: 1e6}
input:
  orders: {path: /data/o.parquet, format: parquet}
  order_items: {path: items.csv, csv: {delimiter: ";"}}
sink: {project: p}
`)
	if f.Location().String() != "Europe/Berlin" || f.Timezone != "Europe/Berlin" {
		t.Errorf("location = %v", f.Location())
	}
	c := clvSpec.Of(f)
	if c.HorizonDays != 1000 || c.HoldoutDays == nil || *c.HoldoutDays != 0 || c.MonthlyDiscountRate != 0 || c.Model != "auto" {
		t.Errorf("clv = %+v", c)
	}
	a := actionsSpec.Of(f)
	if !slices.Equal(a.Milestones, []int{1, 2}) || len(a.Tiers.Levels) != 2 || a.Tiers.Basis != "lifetime_spend" || !slices.Equal(a.WinbackDays, winbackDefault) {
		t.Errorf("actions = %+v", a)
	}
	k := kpisSpec.Of(f)
	if k.RetentionSpend["2024-01-01"] != 12.5 || k.ChurnDaysBySegment["vip"] != 30 || k.ChurnDays != 180 {
		t.Errorf("kpis = %+v", k)
	}
	in := inputSpec.Of(f)
	items := in.OrderItems
	if in.Orders.Path != "/data/o.parquet" || items == nil || items.Path != "/jobs/items.csv" {
		t.Fatalf("input = %+v", in)
	}
	// A nullable object the file sets starts from its type's Defaults.
	if items.CSV.Delimiter != ";" || !slices.Equal(items.CSV.NullValues, []string{"", "NULL"}) || items.CSV.MaxMalformedShare != 0.01 {
		t.Errorf("order_items = %+v", items)
	}
	if s := *sinkSpec.Of(f); s == nil || *s != (sink{Kind: "bigquery", Project: "p", Dataset: "retain"}) {
		t.Errorf("sink = %+v", s)
	}
}

// TestDecodeNull: a null key keeps an object's defaults, as the YAML
// decoder does, and leaves a nullable object unset.
func TestDecodeNull(t *testing.T) {
	f := decode(t, "name: n\nclv:\ninput: {orders: {path: o}, order_items: ~}\nsink: null\n")
	if c := clvSpec.Of(f); c.HorizonDays != 90 {
		t.Errorf("clv = %+v", c)
	}
	if in := inputSpec.Of(f); in.OrderItems != nil {
		t.Errorf("order_items = %+v, want none", in.OrderItems)
	}
	if s := *sinkSpec.Of(f); s != nil {
		t.Errorf("sink = %+v, want none", s)
	}
}

// TestDecodeMerge: merge keys are read as the YAML decoder reads them, the
// mapping's own keys winning.
func TestDecodeMerge(t *testing.T) {
	f := decode(t, base+"validate: {max_amount: &a 2.5}\nclv: {<<: {horizon_days: 2.5, horizon_months: 24}, horizon_days: 30}\n")
	if c := clvSpec.Of(f); c.HorizonDays != 30 || c.HorizonMonths != 24 {
		t.Errorf("clv = %+v", c)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		// Values a file sets are checked, never replaced by a default.
		{"zero int", base + "clv: {horizon_days: 0}\n", "clv.horizon_days: 0 is out of range; want a whole number from 1 to 3650"},
		{"negative pointer int", base + "clv: {holdout_days: -1}\n", "clv.holdout_days: -1 is out of range; want a whole number from 0 to 3650"},
		{"float below closed end", base + "validate: {max_volume_drop: -0.1}\n", "validate.max_volume_drop: -0.1 is out of range; want a number in [0, 1]"},
		{"float above closed end", base + "validate: {max_volume_drop: 1.5}\n", "validate.max_volume_drop: 1.5 is out of range; want a number in [0, 1]"},
		{"float at open end", base + "clv: {monthly_discount_rate: 1}\n", "clv.monthly_discount_rate: 1 is out of range; want a number in [0, 1)"},
		{"float at open low end", base + "validate: {max_amount: 0}\n", "validate.max_amount: 0 is out of range; want a number in (0, +Inf)"},
		{"negative float", base + "validate: {max_amount: -1}\n", "validate.max_amount: -1 is out of range; want a number in (0, +Inf)"},
		{"infinity", base + "validate: {max_amount: .inf}\n", "validate.max_amount: +Inf is out of range; want a number in (0, +Inf)"},
		{"not a number", base + "validate: {max_amount: .nan}\n", "validate.max_amount: NaN is out of range"},
		{"float in (0,100]", base + "actions: {top_spender_percent: 0}\n", "actions.top_spender_percent: 0 is out of range; want a number in (0, 100]"},
		{"enum", base + "clv: {model: x}\n", `clv.model "x": want auto, bgnbd, pareto_nbd or none`},
		{"enum with empty value", "name: n\ninput: {orders: {path: o, format: xlsx}}\n", `input.orders.format "xlsx": want "", parquet or csv`},
		{"enum in a list", base + "audiences: {lists: [new_customers, everyone]}\n", `audiences.lists[1] "everyone": want new_customers, tier_upgrades or lapsed_entered_today`},
		{"enum in a nested object", base + "actions: {tiers: {basis: visits}}\n", `actions.tiers.basis "visits": want lifetime_spend, trailing_12m_spend or orders`},
		{"enum in a nullable section", base + "sink: {kind: snowflake, project: p}\n", `sink.kind "snowflake": want bigquery`},
		{"range in a list", base + "actions: {milestones: [5, 0]}\n", "actions.milestones[1]: 0 is out of range; want a whole number from 1 to 2147483647"},
		{"range in a list of objects", base + "actions: {tiers: {levels: [{name: A, min: -5}]}}\n", "actions.tiers.levels[0].min: -5 is out of range; want a number in [0, +Inf)"},
		{"range in a map", base + "kpis: {retention_spend: {\"2024-01-01\": -5}}\n", "kpis.retention_spend.2024-01-01: -5 is out of range; want a number in [0, +Inf)"},
		{"range in a nullable object", "name: n\ninput: {orders: {path: o}, order_items: {path: i, csv: {max_malformed_share: 2}}}\n", "input.order_items.csv.max_malformed_share: 2 is out of range; want a number in [0, 1]"},
		{"fraction in a struct", base + "clv: {horizon_days: 90.5}\n", "clv.horizon_days: 90.5 is not a whole number"},
		{"fraction in a nested struct", base + "actions: {churn_risk: {min_orders: 2.5}}\n", "actions.churn_risk.min_orders: 2.5 is not a whole number"},
		{"fraction in a list", base + "actions: {milestones: [5, 7.5]}\n", "actions.milestones[1]: 7.5 is not a whole number"},
		{"fraction in a map", base + "kpis: {churn_days_by_segment: {vip: 30.5}}\n", "kpis.churn_days_by_segment.vip: 30.5 is not a whole number"},
		{"fraction in a pointer", base + "clv: {holdout_days: 1.5}\n", "clv.holdout_days: 1.5 is not a whole number"},
		{"fraction with underscores", base + "clv: {horizon_days: 9_0.5}\n", "clv.horizon_days: 9_0.5 is not a whole number"},
		{"fraction through an alias", base + "validate: {max_amount: &a 2.5}\nclv: {horizon_days: *a}\n", "clv.horizon_days: 2.5 is not a whole number"},
		{"fraction through a merge", base + "clv: {<<: {horizon_days: 2.5}}\n", "clv.horizon_days: 2.5 is not a whole number"},
		{"unknown top-level key", base + "ouput: {path: x}\n", `line 3: unknown key "ouput" (want name, timezone, actions, audiences, clv, input, kpis, sink or validate)`},
		{"unknown nested key", base + "clv: {horizn_days: 5}\n", "field horizn_days not found in type config_test.clv"},
		{"unknown key in a nullable object", "name: n\ninput: {orders: {path: o}, order_items: {paht: i}}\n", "field paht not found in type config_test.source"},
		{"duplicate key", base + "clv: {horizon_days: 1, horizon_days: 2}\n", `mapping key "horizon_days" already defined`},
		{"wrong type", base + "clv: {horizon_days: many}\n", "cannot unmarshal !!str `many` into int"},
		{"second document", base + "---\nname: other\n", `a job file holds one YAML document; found a second (a line "---"?)`},
		{"empty file", "", "the job file is empty"},
		{"only comments", "# nothing yet\n", "the job file is empty"},
		{"null document", "~\n", "the job file is empty"},
		{"not a mapping", "[name, n]\n", "line 1: the job file must be a mapping"},
		{"syntax error", "name: [n\n", "yaml: line"},
		{"no name", "input: {orders: {path: o}}\n", "name is required"},
		{"name with slash", "name: a/b\ninput: {orders: {path: o}}\n", `name "a/b" must not contain slashes or spaces`},
		{"name with space", "name: a b\ninput: {orders: {path: o}}\n", `name "a b" must not contain slashes or spaces`},
		{"bad timezone", base + "timezone: Mars/Olympus\n", `timezone "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"cross-field check", base + "actions: {churn_risk: {p_alive_high: 0.8}}\n", "actions.churn_risk: want p_alive_high < p_alive_medium"},
		{"check of a list", base + "actions: {winback_days: [90, 80, 270, 365]}\n", "actions.winback_days [90 80 270 365]: want 4 increasing day counts"},
		{"check needing a value", "name: n\n", "input.orders.path is required"},
		{"check of a map key", base + "kpis: {retention_spend: {jan: 5}}\n", `kpis.retention_spend key "jan"`},
		{"check without ErrInvalid", base + "sink: {dataset: d}\n", "invalid job file: sink.project is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Decode([]byte(tt.yaml), "/jobs", sections)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

// TestDecodeErrorsAreStable: with several faults, the same one is
// reported every time (sections in key order, map keys sorted).
func TestDecodeErrorsAreStable(t *testing.T) {
	yaml := base + "validate: {max_amount: 0}\nclv: {horizon_days: 0}\nkpis: {retention_spend: {\"2024-02-01\": -1, \"2024-01-01\": -2}}\n"
	for range 20 {
		_, err := config.Decode([]byte(yaml), "/", sections)
		if err == nil || !strings.Contains(err.Error(), "clv.horizon_days: 0") {
			t.Fatalf("err = %v, want the clv error first", err)
		}
	}
	yaml = base + "kpis: {retention_spend: {\"2024-02-01\": -1, \"2024-01-01\": -2}}\n"
	for range 20 {
		_, err := config.Decode([]byte(yaml), "/", sections)
		if err == nil || !strings.Contains(err.Error(), "kpis.retention_spend.2024-01-01: -2") {
			t.Fatalf("err = %v, want the first key's error", err)
		}
	}
}

func TestResolve(t *testing.T) {
	f := decode(t, base)
	for in, want := range map[string]string{"o.csv": "/jobs/o.csv", "sub/../x": "/jobs/x", "/abs/x": "/abs/x", "": ""} {
		if got := f.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (config.Env{Dir: "/d"}).Resolve("x"); got != "/d/x" {
		t.Errorf("Env.Resolve = %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path, sections)
	if err != nil {
		t.Fatal(err)
	}
	if f.Dir() != dir || inputSpec.Of(f).Orders.Path != filepath.Join(dir, "o.csv") {
		t.Errorf("dir %q, orders %q", f.Dir(), inputSpec.Of(f).Orders.Path)
	}
	if err := os.WriteFile(path, []byte(base+"clv: {horizon_days: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, sections); !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), path+": invalid job file: clv.horizon_days") {
		t.Errorf("err = %v, want it prefixed with the path", err)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yaml"), sections); err == nil || errors.Is(err, config.ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a read error that is not ErrInvalid", err)
	}
}

// TestOfWithoutDecode: a section not decoded yields its checked defaults,
// so tests can build a File cheaply.
func TestOfWithoutDecode(t *testing.T) {
	f, err := config.Decode([]byte("name: n\n"), "/jobs", []config.Section{clvSpec})
	if err != nil {
		t.Fatal(err)
	}
	if k := kpisSpec.Of(f); k.ChurnDays != 180 || k.Period != "month" {
		t.Errorf("kpis = %+v", k)
	}
	if c := clvSpec.Of(nil); c.HorizonDays != 90 {
		t.Errorf("clv of nil = %+v", c)
	}
	var zero config.File
	if c := clvSpec.Of(&zero); c.HorizonDays != 90 || zero.Location().String() != "UTC" {
		t.Errorf("clv of a zero File = %+v", c)
	}
	// The check runs on the defaults, and they come back even when it
	// rejects them.
	if in := inputSpec.Of(f); in.Orders.CSV.Delimiter != "," {
		t.Errorf("input = %+v", in)
	}
	// Changes to an undecoded section's defaults are not kept.
	kpisSpec.Of(f).ChurnDays = 1
	if k := kpisSpec.Of(f); k.ChurnDays != 180 {
		t.Errorf("kpis = %+v after changing a copy", k)
	}
}

func TestSet(t *testing.T) {
	f := decode(t, base)
	in := *inputSpec.Of(f)
	in.Orders.Path = "override/orders"
	if err := inputSpec.Set(f, in); err != nil {
		t.Fatal(err)
	}
	if got := inputSpec.Of(f).Orders.Path; got != "/jobs/override/orders" {
		t.Errorf("after Set, orders = %q (the check resolves it)", got)
	}
	bad := *clvSpec.Of(f)
	bad.HorizonDays = 0
	if err := clvSpec.Set(f, bad); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "clv.horizon_days: 0 is out of range") {
		t.Errorf("Set err = %v", err)
	}
	if clvSpec.Of(f).HorizonDays != 90 {
		t.Errorf("a rejected Set changed the file")
	}
	var zero config.File
	if err := kpisSpec.Set(&zero, kpis{Period: "week", ChurnDays: 30}); err != nil || kpisSpec.Of(&zero).Period != "week" {
		t.Errorf("Set on a zero File: %v, %+v", err, kpisSpec.Of(&zero))
	}
	if err := kpisSpec.Set(nil, kpis{}); !errors.Is(err, config.ErrSpec) {
		t.Errorf("Set on nil: %v", err)
	}
}

// Declarations with mistakes; each must fail with ErrSpec, never panic.
type (
	noYAMLTag struct {
		A int `doc:"a"`
	}
	rangeOnString struct {
		A string `yaml:"a" doc:"a" range:"[1,2]"`
	}
	enumOnInt struct {
		A int `yaml:"a" doc:"a" enum:"x|y"`
	}
	openIntRange struct {
		A int `yaml:"a" doc:"a" range:"(0,5]"`
	}
	badRange struct {
		A float64 `yaml:"a" doc:"a" range:"[1;2]"`
	}
	emptyRange struct {
		A float64 `yaml:"a" doc:"a" range:"[2,1]"`
	}
	twoRules struct {
		A string `yaml:"a" doc:"a" enum:"x" range:"[1,2]"`
	}
	dupKeys struct {
		A int `yaml:"a" doc:"a"`
		B int `yaml:"a" doc:"b"`
	}
	emptyOption struct {
		A int `yaml:"a," doc:"a"`
	}
	optionsAllowed struct {
		A int `yaml:"a,omitempty,flow" doc:"a"`
	}
	inline struct {
		A clv `yaml:",inline" doc:"a"`
	}
	recursive struct {
		Next *recursive `yaml:"next" doc:"next"`
	}
	anyField struct {
		A any `yaml:"a" doc:"a"`
	}
	intKeys struct {
		A map[int]string `yaml:"a" doc:"a"`
	}
	selfDecoding struct {
		When time.Time `yaml:"when" doc:"a"`
	}
	embedded struct {
		clv
	}
)

func TestSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		sec  config.Section
		want string
	}{
		{"no yaml tag", config.NewSpec[noYAMLTag]("s", "", nil, nil), "s (field noYAMLTag.A): no yaml key"},
		{"range on a string", config.NewSpec[rangeOnString]("s", "", nil, nil), "s.a: a range needs numbers"},
		{"enum on an int", config.NewSpec[enumOnInt]("s", "", nil, nil), "s.a: an enum needs strings"},
		{"open int range", config.NewSpec[openIntRange]("s", "", nil, nil), "integer ranges are inclusive"},
		{"bad range", config.NewSpec[badRange]("s", "", nil, nil), `range "[1;2]"`},
		{"empty range", config.NewSpec[emptyRange]("s", "", nil, nil), "the low bound is above the high one"},
		{"two rules", config.NewSpec[twoRules]("s", "", nil, nil), "a range or an enum, not both"},
		{"duplicate keys", config.NewSpec[dupKeys]("s", "", nil, nil), `key "a" is taken by field A`},
		{"empty yaml option", config.NewSpec[emptyOption]("s", "", nil, nil), `yaml option "" is not supported`},
		{"inline", config.NewSpec[inline]("s", "", nil, nil), "no yaml key"},
		{"recursive", config.NewSpec[recursive]("s", "", nil, nil), "contains itself"},
		{"any", config.NewSpec[anyField]("s", "", nil, nil), "cannot hold a interface {}"},
		{"int keys", config.NewSpec[intKeys]("s", "", nil, nil), "map keys must be strings"},
		{"self-decoding type", config.NewSpec[selfDecoding]("s", "", nil, nil), "decodes itself"},
		{"embedded", config.NewSpec[embedded]("s", "", nil, nil), "embedded fields are not supported"},
		{"not a struct", config.NewSpec[int]("s", "", nil, nil), "must be a struct"},
		{"bad key", config.NewSpec[clv]("Clv", "", nil, nil), `section key "Clv"`},
		{"file key", config.NewSpec[clv]("timezone", "", nil, nil), "belongs to the file itself"},
		{"nil spec", (*config.Spec[clv])(nil), "a nil section"},
		{"nil section", nil, "a nil section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Decode([]byte(base), "/", []config.Section{tt.sec})
			if !errors.Is(err, config.ErrSpec) || errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode err = %v, want ErrSpec mentioning %q", err, tt.want)
			}
			if err := config.Check([]config.Section{tt.sec}); !errors.Is(err, config.ErrSpec) {
				t.Errorf("Check err = %v, want ErrSpec", err)
			}
			if err := config.Markdown(new(strings.Builder), []config.Section{tt.sec}); !errors.Is(err, config.ErrSpec) {
				t.Errorf("Markdown err = %v, want ErrSpec", err)
			}
		})
	}
	_, err := config.Decode([]byte(base), "/", []config.Section{clvSpec, config.NewSpec[clv]("clv", "", nil, nil)})
	if !errors.Is(err, config.ErrSpec) || !strings.Contains(err.Error(), `two sections have the key "clv"`) {
		t.Errorf("duplicate sections: %v", err)
	}
}

func TestCheck(t *testing.T) {
	if err := config.Check(sections); err != nil {
		t.Errorf("Check(sections) = %v", err)
	}
	breaks := config.NewSpec("clv", "", func() clv { return clv{Model: "auto", HorizonDays: 0, HorizonMonths: 12} }, nil)
	if err := config.Check([]config.Section{breaks}); !errors.Is(err, config.ErrSpec) || !strings.Contains(err.Error(), "clv: the defaults break a rule: clv.horizon_days: 0 is out of range") {
		t.Errorf("Check = %v", err)
	}
}

// TestNilDefaults: without a defaults function a section starts from its
// type's Defaults method, or from zero.
func TestNilDefaults(t *testing.T) {
	src := config.NewSpec[source]("src", "", nil, nil)
	plain := config.NewSpec[tier]("plain", "", nil, nil)
	f, err := config.Decode([]byte("name: n\nplain: {name: x}\n"), "/", []config.Section{src, plain})
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Of(f); got.CSV.Delimiter != "," {
		t.Errorf("src = %+v", got)
	}
	if got := *plain.Of(f); !reflect.DeepEqual(got, tier{Name: "x"}) {
		t.Errorf("plain = %+v", got)
	}
	opts := config.NewSpec[optionsAllowed]("opts", "", nil, nil)
	f, err = config.Decode([]byte("name: n\nopts: {a: 3}\n"), "/", []config.Section{opts})
	if err != nil || opts.Of(f).A != 3 {
		t.Errorf("yaml options: %v", err)
	}
}
