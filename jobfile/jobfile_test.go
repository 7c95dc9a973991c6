package jobfile

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"retain/config"
	"retain/lineage"
	"retain/night"
	"retain/stages/actions/actionsconfig"
	"retain/stages/affinity"
	"retain/stages/audiences"
	"retain/stages/clv/clvconfig"
	"retain/stages/cohorts"
	"retain/stages/kpis"
	"retain/stages/margin/marginconfig"
	"retain/stages/segments"
	"retain/stages/validate/validateconfig"
	"retain/warehouse/bqsink"
)

// TestSectionsDeclared: every section's declaration is valid and its
// defaults pass its own rules.
func TestSectionsDeclared(t *testing.T) {
	s, err := Sections()
	if err != nil {
		t.Fatal(err)
	}
	if err := config.Check(s); err != nil {
		t.Fatal(err)
	}
}

// TestReferenceInStep fails when docs/config.md was not regenerated after a
// section changed: run `go run ./cmd/retain config > docs/config.md`.
func TestReferenceInStep(t *testing.T) {
	var b bytes.Buffer
	if err := WriteReference(&b); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Error("docs/config.md is stale; regenerate it with `go run ./cmd/retain config > docs/config.md`")
	}
}

// sectionValues reads every section's value out of a file, by key, so the
// tests below can cover each section without knowing its type.
var sectionValues = map[string]func(*config.File) any{
	"actions":   func(f *config.File) any { return actionsconfig.Of(f) },
	"affinity":  func(f *config.File) any { return affinity.Section.Of(f) },
	"audiences": func(f *config.File) any { return audiences.Section.Of(f) },
	"clv":       func(f *config.File) any { return clvconfig.Of(f) },
	"cohorts":   func(f *config.File) any { return cohorts.Section.Of(f) },
	"input":     func(f *config.File) any { return night.InputOf(f) },
	"kpis":      func(f *config.File) any { return kpis.Section.Of(f) },
	"lineage":   func(f *config.File) any { return lineage.Section.Of(f) },
	"margin":    func(f *config.File) any { return marginconfig.Of(f) },
	"output":    func(f *config.File) any { return night.OutputSection.Of(f) },
	"segments":  func(f *config.File) any { return segments.Section.Of(f) },
	"sink":      func(f *config.File) any { return bqsink.Section.Of(f) },
	"validate":  func(f *config.File) any { return validateconfig.Of(f) },
}

// TestSectionsCovered keeps the tests here complete: a new section must be
// added to sectionValues, and so to the defaults below.
func TestSectionsCovered(t *testing.T) {
	s, err := Sections()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, sec := range s {
		keys = append(keys, sec.Key())
	}
	if want := slices.Sorted(maps.Keys(sectionValues)); !slices.Equal(keys, want) {
		t.Errorf("sections %v, the tests cover %v", keys, want)
	}
}

const base = "name: n\ninput: {orders: {path: o.csv}}\n"

// TestParseDefaults: a file with only what is required gets every other
// key's default, in every section.
func TestParseDefaults(t *testing.T) {
	f, err := Parse([]byte(base), "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "n" || f.Timezone != "UTC" || f.Location() != time.UTC || f.Dir() != "/jobs" {
		t.Errorf("file = name %q, timezone %q, location %v, dir %q", f.Name, f.Timezone, f.Location(), f.Dir())
	}
	if got := f.Resolve("o.csv"); got != "/jobs/o.csv" {
		t.Errorf("Resolve = %s", got)
	}
	var noSink *bqsink.Config
	want := map[string]any{
		"actions": &actionsconfig.Actions{
			WinbackDays:       []int{90, 180, 270, 365},
			DeclineWindowDays: 90, FrequencyDeclineRatio: 0.5, ValueDeclineRatio: 0.8,
			Tiers:             actionsconfig.Tiers{Basis: "lifetime_spend", Levels: []actionsconfig.Tier{{Name: "Bronze", Min: 0}, {Name: "Silver", Min: 500}, {Name: "Gold", Min: 2000}, {Name: "Platinum", Min: 5000}}},
			Milestones:        []int{5, 10, 25, 50, 100},
			NewCustomerDays:   30,
			TopSpenderPercent: 10,
			ChurnRisk:         actionsconfig.ChurnRisk{PNoPurchaseHigh: 0.8, PNoPurchaseMedium: 0.5, GapHigh: 3, GapMedium: 1.5},
			WonBackDays:       90,
		},
		"affinity":  &affinity.Config{MinPairOrders: 5, TopK: 10, MaxPairs: 5_000_000, OpenOrders: 4096},
		"audiences": &audiences.Config{Enabled: true, Lists: audiences.Names, TopSegments: audiences.DefaultTopSegments, PAliveDrop: 0.2},
		"clv":       &clvconfig.CLV{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01, IntervalLevel: 0.8, IntervalDraws: 200, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25},
		"cohorts":   &cohorts.Config{Period: "month"},
		"input":     &night.Input{Orders: night.Source{Path: "/jobs/o.csv", CSV: night.CSVOptions{NullValues: []string{"", "NULL"}, MaxMalformedShare: 0.01}}},
		"kpis":      &kpis.Config{Period: "month", ChurnDays: 180},
		"lineage":   &lineage.Config{},
		"margin":    &marginconfig.Margin{},
		"output":    &night.Output{RowGroupRows: 256 * 1024, KeepDays: 0, KeepMonthEnds: 0},
		"segments":  &segments.Config{Rules: segments.DefaultRules, SinceLookbackDays: segments.DefaultSinceLookbackDays, ChangeTracking: true},
		"sink":      &noSink,
		"validate":  &validateconfig.Validate{CountedStatuses: []string{"completed"}, RefundStatuses: []string{"refunded", "returned"}, MaxVolumeDrop: 0.5, MaxAmount: 1e9, MinOrderTS: "1990-01-01"},
	}
	for key, of := range sectionValues {
		if got := of(f); !reflect.DeepEqual(got, want[key]) {
			t.Errorf("%s = %+v, want %+v", key, got, want[key])
		}
	}
}

// TestParseErrors covers what belongs to the file as a whole; each
// section's own rules are tested beside its declaration.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", base + "ouput: {path: x}\n", `line 3: unknown key "ouput"`},
		{"unknown nested key", "name: n\ninput: {orders: {path: o, fromat: csv}}\n", "fromat"},
		{"no name", "input: {orders: {path: o}}\n", "name is required"},
		{"name with a slash", "name: a/b\ninput: {orders: {path: o}}\n", `name "a/b" must not contain slashes or spaces`},
		{"bad zone", "name: n\ntimezone: Mars/Olympus\ninput: {orders: {path: o}}\n", `timezone "Mars/Olympus"`},
		{"second document", base + "---\nname: other\n", "a job file holds one YAML document"},
		{"empty file", "", "the job file is empty"},
		{"only a comment", "# nothing yet\n", "the job file is empty"},
		{"not a mapping", "- name: n\n", "the job file must be a mapping"},
		{"no orders path", "name: n\n", "input.orders.path is required"},
		{"fractional integer", base + "clv: {horizon_days: 90.5}\n", "clv.horizon_days: 90.5 is not a whole number"},
		{"fractional list element", base + "actions: {milestones: [2.5]}\n", "actions.milestones[0]: 2.5 is not a whole number"},
		{"fractional in a second section", base + "affinity: {top_k: 1}\noutput: {row_group_rows: 2048.5}\n", "output.row_group_rows: 2048.5 is not a whole number"},
		{"month ends without keep_days", base + "output: {keep_month_ends: 3}\n", "output.keep_month_ends needs output.keep_days"},
		{"negative keep_days", base + "output: {keep_days: -1}\n", "output.keep_days"},
		{"duplicate key", base + "clv: {horizon_days: 30}\nclv: {horizon_days: 60}\n", "already defined"},
		{"wrong type", base + "kpis: {churn_days: soon}\n", "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "/")
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

// TestParseKeepsExplicitValues: a value a file sets wins over the default,
// even 0 or 1; integral floats such as 1e4 are whole numbers; and setting
// one key of a section leaves its other keys, and other sections, at their
// defaults.
func TestParseKeepsExplicitValues(t *testing.T) {
	f, err := Parse([]byte(base+"affinity: {max_pairs: 1e4}\nclv: {horizon_days: 30, monthly_discount_rate: 0}\nvalidate: {max_volume_drop: 1}\ntimezone: Europe/Berlin\n"), "/")
	if err != nil {
		t.Fatal(err)
	}
	a, c, v := affinity.Section.Of(f), clvconfig.Of(f), validateconfig.Of(f)
	if a.MaxPairs != 10_000 || c.HorizonDays != 30 || c.MonthlyDiscountRate != 0 || v.MaxVolumeDrop != 1 {
		t.Errorf("set values lost: affinity %+v, clv %+v, validate %+v", a, c, v)
	}
	if a.OpenOrders != 4096 || c.HorizonMonths != 12 || v.CountedStatuses[0] != "completed" || kpis.Section.Of(f).ChurnDays != 180 {
		t.Errorf("defaults lost: affinity %+v, clv %+v, validate %+v", a, c, v)
	}
	if f.Timezone != "Europe/Berlin" || f.Location().String() != "Europe/Berlin" {
		t.Errorf("zone = %q (%v)", f.Timezone, f.Location())
	}
	if got := clvconfig.Layout(f).HorizonDays; got != 30 {
		t.Errorf("layout horizon = %d, want 30", got)
	}
}

// TestParseBigQuery: a file that reads orders from BigQuery and loads into
// it resolves both credentials files against its folder, and --input still
// switches it to local files. The sections' own rules are tested in night
// and bqsink.
func TestParseBigQuery(t *testing.T) {
	f, err := Parse([]byte(`
name: n
input:
  orders:
    bigquery: {project: my-shop-prod, dataset: sales, table: orders, location: EU, credentials_file: key.json, pushdown: true}
    columns: {order_id: OrderNo, order_ts: PlacedAt}
sink: {kind: bigquery, project: my-shop-prod, dataset: retain, table_prefix: retain_, credentials_file: /keys/sink.json}
`), "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	src := night.InputOf(f).Orders.BigQuery
	if src == nil || src.Ref().String() != "my-shop-prod.sales.orders" || src.CredentialsFile != "/jobs/key.json" || !src.Pushdown {
		t.Fatalf("source = %+v", src)
	}
	sink := *bqsink.Section.Of(f)
	if sink == nil || sink.Ref("customer_segments").String() != "my-shop-prod.retain.retain_customer_segments" || sink.CredentialsFile != "/keys/sink.json" {
		t.Fatalf("sink = %+v", sink)
	}
	if err := night.OverrideInput(f, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if night.InputOf(f).Orders.BigQuery != nil || *bqsink.Section.Of(f) != sink {
		t.Error("--input must switch orders to local files and leave the sink alone")
	}
}

// TestLoad: paths resolve against the job file's folder, and errors name
// the file.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(base+"kpis: {churn_days: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := night.InputOf(f).Orders.Path, filepath.Join(dir, "o.csv"); got != want {
		t.Errorf("orders path = %s, want %s", got, want)
	}
	if _, err := Load(bad); !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), bad+": ") {
		t.Errorf("err = %v, want ErrInvalid after the file's name", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || errors.Is(err, config.ErrInvalid) {
		t.Errorf("a missing file: err = %v, want a read error, not ErrInvalid", err)
	}
}

// FuzzParse: no job file, however broken, panics or hangs the parser;
// every error wraps ErrInvalid; a file that parses holds its ranges and
// parses again the same.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		base,
		base + "affinity: {max_pairs: 0}\n",
		base + "clv: {horizon_days: 90.5}\n",
		base + "---\nname: x\n",
		"name: n\ninput: {orders: {bigquery: {project: my-shop, dataset: d, table: t, pushdown: true}}}\n",
		"name: n\ninput: {orders: {path: o, columns: {order_id: X}}, fx_rates: {path: r}, reporting_currency: EUR}\nsink: {kind: bigquery, project: my-shop, dataset: d}\n",
		"name: n\ninput: {orders: {path: o}}\nactions: {tiers: {basis: orders, levels: [{name: a, min: 1}, {name: b, min: 2}]}, milestones: [1, 2]}\n",
		base + "kpis: {retention_spend: {\"2026-10-01\": 5}}\nsegments: {rules: [{name: x, r: [1, 5], f: [1, 5], m: [1, 5]}]}\n",
		base + "validate: {max_amount: &a 2.5}\nclv: {<<: {horizon_days: *a}}\n",
		"&a name: n\ninput: *a\n",
		"&a {name: n, clv: {<<: *a}}\n",
		"name: [n]\n",
		"segments: {rules: [{name: x, r: [5, 1]}]}\n",
		"a: &a [*a]\n",
		"",
		"~",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		done := make(chan struct{})
		var file *config.File
		var err error
		go func() { file, err = Parse(raw, "/jobs"); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse hangs on %q", raw)
		}
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		in := night.InputOf(file)
		if file.Name == "" || file.Location() == nil || affinity.Section.Of(file).MaxPairs < 1000 || kpis.Section.Of(file).ChurnDays < 1 ||
			clvconfig.Of(file).HorizonDays < 1 || len(segments.Section.Of(file).Rules) == 0 || len(actionsconfig.Of(file).WinbackDays) != 4 ||
			in.Orders.Path == "" && in.Orders.BigQuery == nil {
			t.Fatalf("parsed file breaks a rule: %q", raw)
		}
		again, err := Parse(raw, "/jobs")
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if again.Name != file.Name || again.Timezone != file.Timezone {
			t.Fatalf("second parse differs: %s %s, was %s %s", again.Name, again.Timezone, file.Name, file.Timezone)
		}
		for key, of := range sectionValues {
			if a, b := of(file), of(again); !reflect.DeepEqual(a, b) {
				t.Fatalf("second parse differs in %s: %+v, was %+v", key, b, a)
			}
		}
	})
}

// TestExampleJobs loads the job files under jobs/ that users copy, so a
// change to a section's keys cannot leave one stale; jobs/bigquery.yaml
// must read orders, order items and FX rates from BigQuery and have a
// BigQuery sink.
func TestExampleJobs(t *testing.T) {
	paths, err := filepath.Glob("../jobs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 3 {
		t.Fatalf("example jobs %v", paths)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(p) != "bigquery.yaml" {
				return
			}
			in := night.InputOf(f)
			if src := in.Orders.BigQuery; src == nil || src.Ref().String() != "my-shop-prod.sales.orders" {
				t.Errorf("orders source = %+v, want my-shop-prod.sales.orders", src)
			}
			if in.OrderItems == nil || in.OrderItems.BigQuery == nil || in.FXRates == nil || in.FXRates.BigQuery == nil {
				t.Errorf("order items %+v and FX rates %+v, want both from BigQuery", in.OrderItems, in.FXRates)
			}
			if sink := *bqsink.Section.Of(f); sink == nil || sink.Ref("customer_segments").String() != "my-shop-prod.retain.retain_customer_segments" {
				t.Errorf("sink = %+v", sink)
			}
		})
	}
}
