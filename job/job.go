// Package job holds the job file: what a nightly run reads, how it maps a
// shop's columns onto the input contract, and where it writes. The struct tags
// and doc comments here are the job file's reference documentation.
package job

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"retain/schemas"
	"retain/warehouse/bqident"
)

// ErrInvalid is wrapped by every job-file validation error.
var ErrInvalid = errors.New("invalid job file")

// Job is one job file.
type Job struct {
	// Name identifies the job in logs, the manifest and the run id.
	Name string `yaml:"name"`
	// Timezone is the IANA zone that defines calendar days: the run date ends
	// at midnight there, and purchase days are local days. Default UTC.
	Timezone string `yaml:"timezone"`
	// Input names the source tables.
	Input Input `yaml:"input"`
	// Output says where tables are written.
	Output Output `yaml:"output"`
	// Validate configures which orders count.
	Validate Validate `yaml:"validate"`
	// Segments configures RFM segments and historical CLV.
	Segments Segments `yaml:"segments"`
	// Cohorts configures the cohort retention table.
	Cohorts Cohorts `yaml:"cohorts"`
	// KPIs configures the retention KPI table.
	KPIs KPIs `yaml:"kpis"`
	// CLV configures the predictive models.
	CLV CLV `yaml:"clv"`
	// Actions configures win-back stages, churn risk, tiers and milestones.
	Actions Actions `yaml:"actions"`
	// Audiences configures the per-audience CSV lists.
	Audiences Audiences `yaml:"audiences"`
	// Affinity configures product_affinity.
	Affinity Affinity `yaml:"affinity"`
	// Lineage sends OpenLineage events for each run when set.
	Lineage Lineage `yaml:"lineage"`
	// Sink, when set, also loads every committed table into a warehouse.
	Sink *Sink `yaml:"sink"`

	// dir is the job file's folder; relative paths resolve against it.
	dir string
	loc *time.Location
}

// Input lists the source tables. Only orders is required.
type Input struct {
	Orders     Source  `yaml:"orders"`
	OrderItems *Source `yaml:"order_items"`
	// FXRates converts order amounts into ReportingCurrency (see schemas.FXRates).
	FXRates *Source `yaml:"fx_rates"`
	// ReportingCurrency is the currency every money column is in; orders
	// without a currency are taken to be in it. Without fx_rates, orders in
	// any other currency are quarantined as unknown_currency; with neither
	// set, orders in more than one currency fail the run rather than be
	// summed unconverted.
	ReportingCurrency string `yaml:"reporting_currency"`
}

// Source is one input table: local files by default, or a BigQuery table.
type Source struct {
	// Path is one file, a folder (every file in it with the format's
	// extension) or a glob. Relative paths resolve against the job file.
	Path string `yaml:"path"`
	// BigQuery reads the table from BigQuery instead of files (orders only).
	BigQuery *BigQuerySource `yaml:"bigquery"`
	// Format is parquet or csv; empty means by file extension.
	Format string `yaml:"format"`
	// Columns maps canonical column names (see `retain schema`) to the
	// shop's own column names. Unmapped canonical names are looked up as is.
	Columns map[string]string `yaml:"columns"`
	// TimestampFormat is a Go time layout for string timestamps that the
	// built-in layouts (RFC 3339, 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD',
	// 'YYYYMMDD') do not cover.
	TimestampFormat string `yaml:"timestamp_format"`
	// CSV holds options for CSV files.
	CSV CSVOptions `yaml:"csv"`
}

// CSVOptions configures the CSV reader.
type CSVOptions struct {
	// Delimiter is the field separator, one character; default ",".
	Delimiter string `yaml:"delimiter"`
	// NullValues are the cell texts read as null; default "" and "NULL".
	NullValues []string `yaml:"null_values"`
	// MaxMalformedShare is the share of a file's records, 0 to 1, that may
	// be malformed (quarantined as malformed_row) before the file fails the
	// run; default 0.01. FX rates fail on any malformed record.
	MaxMalformedShare *float64 `yaml:"max_malformed_share"`
}

// Output says where and how tables are written.
type Output struct {
	// Path is the root folder of the output tables.
	Path string `yaml:"path"`
	// RowGroupRows caps rows per Parquet row group; default 262,144, which
	// bounds the writer's buffer per table while keeping row groups large.
	RowGroupRows int64 `yaml:"row_group_rows"`
}

// Validate configures which valid orders are used.
type Validate struct {
	// CountedStatuses are the order statuses that count as purchases
	// (compared case-insensitively); default [completed]. Orders with
	// another status are excluded and counted; orders with no status count.
	CountedStatuses []string `yaml:"counted_statuses"`
	// MaxVolumeDrop is the share by which rows read may fall against the
	// last committed night of the job before the run fails instead of
	// committing; default 0.5, 1 turns the guard off. `retain run
	// --allow-volume-drop` commits such a night anyway.
	MaxVolumeDrop float64 `yaml:"max_volume_drop"`
	// MaxAmount is the largest order amount used, in the reporting
	// currency (after conversion); larger ones are quarantined as
	// amount_out_of_range, so one absurd value cannot make every revenue
	// share and CLV meaningless. Default 1e9; must be positive.
	MaxAmount float64 `yaml:"max_amount"`
	// MinOrderTS is the earliest order date used (YYYY-MM-DD, from midnight
	// in the job's zone); earlier orders are quarantined as
	// order_ts_out_of_range, since a year-0001 order would stretch every
	// cohort and tenure back to it. Default 1990-01-01; must be before the
	// run date.
	MinOrderTS string `yaml:"min_order_ts"`
}

// CLV configures predictive customer lifetime value.
type CLV struct {
	// Model is auto (default: BG/NBD and Pareto/NBD, the better one on the
	// holdout, or by likelihood without one), bgnbd, pareto_nbd or none.
	Model string `yaml:"model"`
	// HorizonDays is the window of expected_purchases_<h>d; default 90.
	HorizonDays int `yaml:"horizon_days"`
	// HorizonMonths and MonthlyDiscountRate shape predicted_clv; defaults 12 and 0.01.
	HorizonMonths       int      `yaml:"horizon_months"`
	MonthlyDiscountRate *float64 `yaml:"monthly_discount_rate"`
	// HoldoutDays, when positive, also fits on history before run date − N
	// and scores predictions against the last N days.
	HoldoutDays int `yaml:"holdout_days"`
	// MinCustomers is the fewest customers a model is fitted on (default
	// 100): four parameters from a handful of histories would only produce
	// confident nonsense, so smaller shops get null predictions and say why.
	MinCustomers int `yaml:"min_customers"`
}

// Actions configures the per-customer columns marketers act on.
type Actions struct {
	// WinbackDays are the days since the last order at which a customer
	// enters winback_1, winback_2, winback_3 and lapsed; default 90, 180, 270, 365.
	WinbackDays []int `yaml:"winback_days"`
	// DeclineWindowDays is the recent window compared with the customer's
	// earlier history; default 90. A customer's order rate is declining
	// below FrequencyDeclineRatio (default 0.5) of the earlier rate, order
	// value below ValueDeclineRatio (default 0.8) of the earlier average.
	DeclineWindowDays     int     `yaml:"decline_window_days"`
	FrequencyDeclineRatio float64 `yaml:"frequency_decline_ratio"`
	ValueDeclineRatio     float64 `yaml:"value_decline_ratio"`
	// Tiers are loyalty levels on Basis: lifetime_spend (default),
	// trailing_12m_spend or orders.
	Tiers Tiers `yaml:"tiers"`
	// Milestones are the order counts celebrated; default 5, 10, 25, 50, 100.
	Milestones []int `yaml:"milestones"`
	// NewCustomerDays makes a customer new while their first order is that
	// recent; default 30.
	NewCustomerDays int `yaml:"new_customer_days"`
	// TopSpenderPercent marks the top share of customers by revenue; default 10.
	TopSpenderPercent float64 `yaml:"top_spender_percent"`
	// ChurnRisk sets the churn_risk cut-offs.
	ChurnRisk ChurnRisk `yaml:"churn_risk"`
}

// Affinity configures product_affinity (needs input.order_items).
type Affinity struct {
	// MinPairOrders is the fewest orders a pair needs to be listed; default 5.
	MinPairOrders int `yaml:"min_pair_orders"`
	// TopK keeps each product's K strongest pairs; default 10.
	TopK int `yaml:"top_k"`
	// MaxPairs caps the distinct pairs held in memory; default 5,000,000.
	MaxPairs int `yaml:"max_pairs"`
	// OpenOrders is how many orders may collect items at once, so items of
	// interleaved orders still form one basket; default 4,096.
	OpenOrders int `yaml:"open_orders"`
}

// Audiences says which customer lists are written as CSV under
// <output>/audiences/snapshot_date=D/ for mail and automation tools.
type Audiences struct {
	// Enabled turns the lists off when false; default true.
	Enabled *bool `yaml:"enabled"`
	// Lists names the audiences to write; default all of AudienceNames.
	Lists []string `yaml:"lists"`
}

// AudienceNames are the audiences retain knows, in their documented order.
var AudienceNames = []string{
	"winback_1_entered_today", "winback_2_entered_today", "winback_3_entered_today", "lapsed_entered_today",
	"new_customers", "tier_upgrades", "milestones_today", "anniversaries_today", "at_risk_high_value",
}

func (a *Audiences) check() error {
	if a.Enabled == nil {
		return fmt.Errorf("%w: audiences.enabled: want true or false", ErrInvalid)
	}
	if len(a.Lists) == 0 {
		return fmt.Errorf("%w: audiences.lists: want at least one list (or enabled: false)", ErrInvalid)
	}
	for _, l := range a.Lists {
		if !slices.Contains(AudienceNames, l) {
			return fmt.Errorf("%w: audiences.lists: unknown audience %q (want one of %s)", ErrInvalid, l, strings.Join(AudienceNames, ", "))
		}
	}
	return nil
}

// Tiers are loyalty levels, each reached at Min of the basis.
type Tiers struct {
	Basis  string `yaml:"basis"`
	Levels []Tier `yaml:"levels"`
}

// Tier is one loyalty level.
type Tier struct {
	Name string  `yaml:"name"`
	Min  float64 `yaml:"min"`
}

// ChurnRisk cut-offs: by p_alive when a model predicted it (high below
// PAliveHigh, default 0.3; medium below PAliveMedium, 0.7), otherwise by days
// since the last order over the customer's typical gap between orders (high
// above GapHigh, default 3; medium above GapMedium, 1.5).
type ChurnRisk struct {
	PAliveHigh   float64 `yaml:"p_alive_high"`
	PAliveMedium float64 `yaml:"p_alive_medium"`
	GapHigh      float64 `yaml:"gap_high"`
	GapMedium    float64 `yaml:"gap_medium"`
}

func (a *Actions) check() error {
	w := a.WinbackDays
	if len(w) != 4 || w[0] < 1 || w[0] >= w[1] || w[1] >= w[2] || w[2] >= w[3] || w[3] > 36500 {
		return fmt.Errorf("%w: actions.winback_days %v: want 4 increasing day counts from 1 (winback_1, winback_2, winback_3, lapsed)", ErrInvalid, w)
	}
	switch a.Tiers.Basis {
	case "lifetime_spend", "trailing_12m_spend", "orders":
	default:
		return fmt.Errorf("%w: actions.tiers.basis %q: want lifetime_spend, trailing_12m_spend or orders", ErrInvalid, a.Tiers.Basis)
	}
	if len(a.Tiers.Levels) == 0 {
		return fmt.Errorf("%w: actions.tiers.levels: want at least one level", ErrInvalid)
	}
	for i, l := range a.Tiers.Levels {
		if l.Name == "" {
			return fmt.Errorf("%w: actions.tiers.levels[%d] has no name", ErrInvalid, i)
		}
		if err := floatIn(fmt.Sprintf("actions.tiers.levels[%d].min", i), l.Min, 0, math.MaxFloat64, false, false); err != nil {
			return err
		}
		if i > 0 && l.Min <= a.Tiers.Levels[i-1].Min {
			return fmt.Errorf("%w: actions.tiers.levels must be in increasing min order (%s after %s)", ErrInvalid, l.Name, a.Tiers.Levels[i-1].Name)
		}
	}
	if len(a.Milestones) == 0 {
		return fmt.Errorf("%w: actions.milestones: want at least one order count", ErrInvalid)
	}
	for i, m := range a.Milestones {
		if err := intIn(fmt.Sprintf("actions.milestones[%d]", i), m, 1, math.MaxInt32); err != nil {
			return err
		}
		if i > 0 && m <= a.Milestones[i-1] {
			return fmt.Errorf("%w: actions.milestones must be increasing (%d after %d)", ErrInvalid, m, a.Milestones[i-1])
		}
	}
	c := a.ChurnRisk
	if err := errors.Join(
		intIn("actions.decline_window_days", a.DeclineWindowDays, 1, 3650),
		floatIn("actions.frequency_decline_ratio", a.FrequencyDeclineRatio, 0, 1, true, false),
		floatIn("actions.value_decline_ratio", a.ValueDeclineRatio, 0, 1, true, false),
		intIn("actions.new_customer_days", a.NewCustomerDays, 1, 3650),
		floatIn("actions.top_spender_percent", a.TopSpenderPercent, 0, 100, true, false),
		floatIn("actions.churn_risk.p_alive_high", c.PAliveHigh, 0, 1, true, true),
		floatIn("actions.churn_risk.p_alive_medium", c.PAliveMedium, 0, 1, true, true),
		floatIn("actions.churn_risk.gap_medium", c.GapMedium, 0, 1000, true, false),
		floatIn("actions.churn_risk.gap_high", c.GapHigh, 0, 1000, true, false),
	); err != nil {
		return err
	}
	if c.PAliveHigh >= c.PAliveMedium || c.GapMedium >= c.GapHigh {
		return fmt.Errorf("%w: actions.churn_risk: want p_alive_high < p_alive_medium and gap_medium < gap_high", ErrInvalid)
	}
	return nil
}

// Layout is what in the job shapes output columns.
func (j *Job) Layout() schemas.Layout { return schemas.Layout{HorizonDays: j.CLV.HorizonDays} }

// Lineage says where OpenLineage events go: a file of JSON lines, an HTTP
// endpoint (e.g. http://marquez:5000/api/v1/lineage), or both.
type Lineage struct {
	File      string `yaml:"file"`
	URL       string `yaml:"url"`
	Namespace string `yaml:"namespace"`
}

// Segments configures customer_segments and segment_summary.
type Segments struct {
	// CAC is the customer acquisition cost subtracted from historical CLV; default 0.
	CAC float64 `yaml:"cac"`
	// Rules name segments by score ranges; the first matching rule wins and
	// a customer matching none is "Other". Default: DefaultSegmentRules.
	Rules []SegmentRule `yaml:"rules"`
}

// SegmentRule matches customers whose scores lie in the inclusive ranges.
type SegmentRule struct {
	Name string `yaml:"name"`
	R    [2]int `yaml:"r"`
	F    [2]int `yaml:"f"`
	M    [2]int `yaml:"m"`
}

// Matches reports whether scores r, f, m fall in the rule's ranges.
func (s SegmentRule) Matches(r, f, m int) bool {
	in := func(v int, rg [2]int) bool { return v >= rg[0] && v <= rg[1] }
	return in(r, s.R) && in(f, s.F) && in(m, s.M)
}

// DefaultSegmentRules is the R×F grid common in RFM practice, which gives
// every (R, F) pair exactly one of the 11 named segments; its Hibernating
// cell is split by recency into Hibernating (R 2) and Lost (R 1). M is not
// used by default; a shop can add M ranges in its job file.
var DefaultSegmentRules = []SegmentRule{
	{"Champions", [2]int{5, 5}, [2]int{4, 5}, [2]int{1, 5}},
	{"Loyal Customers", [2]int{3, 4}, [2]int{4, 5}, [2]int{1, 5}},
	{"Potential Loyalist", [2]int{4, 5}, [2]int{2, 3}, [2]int{1, 5}},
	{"New Customers", [2]int{5, 5}, [2]int{1, 1}, [2]int{1, 5}},
	{"Promising", [2]int{4, 4}, [2]int{1, 1}, [2]int{1, 5}},
	{"Need Attention", [2]int{3, 3}, [2]int{3, 3}, [2]int{1, 5}},
	{"About To Sleep", [2]int{3, 3}, [2]int{1, 2}, [2]int{1, 5}},
	{"Can't Lose Them", [2]int{1, 2}, [2]int{5, 5}, [2]int{1, 5}},
	{"At Risk", [2]int{1, 2}, [2]int{3, 4}, [2]int{1, 5}},
	{"Hibernating", [2]int{2, 2}, [2]int{1, 2}, [2]int{1, 5}},
	{"Lost", [2]int{1, 1}, [2]int{1, 2}, [2]int{1, 5}},
}

// Cohorts configures cohort_retention.
type Cohorts struct {
	// Period groups customers by the period of their first order: month
	// (default), week (ISO, starting Monday) or quarter.
	Period string `yaml:"period"`
}

// KPIs configures retention_kpis.
type KPIs struct {
	// Period is the reporting period: month (default), week or quarter.
	Period string `yaml:"period"`
	// ChurnDays is how long without an order makes a customer churned; default 180.
	ChurnDays int `yaml:"churn_days"`
	// RetentionSpend gives retention spend per period, keyed by the period's
	// start date (YYYY-MM-DD), for retention_cost_per_customer.
	RetentionSpend map[string]float64 `yaml:"retention_spend"`
}

// Load reads, defaults and checks a job file.
func Load(path string) (*Job, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	j, err := Parse(raw, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}

// Parse decodes a job file's bytes; dir is where relative paths resolve.
// Defaults are filled in before decoding, so a key the file sets — even to
// 0 — is checked against its range instead of being mistaken for unset.
// Unknown keys are errors, so a typo fails the run instead of being ignored.
func Parse(raw []byte, dir string) (*Job, error) {
	j := defaults()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the job file is empty", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: a job file holds one YAML document; found a second (a line \"---\"?)", ErrInvalid)
	}
	if err := integers(&root, reflect.TypeOf(*j), ""); err != nil {
		return nil, err
	}
	strict := yaml.NewDecoder(bytes.NewReader(raw))
	strict.KnownFields(true)
	if err := strict.Decode(j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	j.dir = dir
	if err := j.check(); err != nil {
		return nil, err
	}
	return j, nil
}

// integers rejects a fractional number given for an integer field, which
// the YAML decoder would silently truncate (horizon_days: 90.5 → 90).
func integers(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.DocumentNode:
		for _, c := range n.Content {
			if err := integers(c, t, path); err != nil {
				return err
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			for f := 0; f < t.NumField(); f++ {
				if name, _, _ := strings.Cut(t.Field(f).Tag.Get("yaml"), ","); name == key {
					if err := integers(n.Content[i+1], t.Field(f).Type, join(path, key)); err != nil {
						return err
					}
				}
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := integers(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i, c := range n.Content {
			if err := integers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case n.Kind == yaml.ScalarNode && t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f != math.Trunc(f) {
			return fmt.Errorf("%w: %s: %s is not a whole number", ErrInvalid, path, n.Value)
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// defaults is a job with every default filled in; the job file's keys
// override them.
func defaults() *Job {
	on := true
	rate := 0.01
	return &Job{
		Timezone: "UTC",
		Output:   Output{RowGroupRows: 256 * 1024},
		Validate: Validate{CountedStatuses: []string{"completed"}, MaxVolumeDrop: 0.5, MaxAmount: 1e9, MinOrderTS: "1990-01-01"},
		Segments: Segments{Rules: slices.Clone(DefaultSegmentRules)},
		Cohorts:  Cohorts{Period: "month"},
		KPIs:     KPIs{Period: "month", ChurnDays: 180},
		CLV:      CLV{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: &rate, MinCustomers: 100},
		Actions: Actions{
			WinbackDays:       []int{90, 180, 270, 365},
			DeclineWindowDays: 90, FrequencyDeclineRatio: 0.5, ValueDeclineRatio: 0.8,
			Tiers:             Tiers{Basis: "lifetime_spend", Levels: []Tier{{"Bronze", 0}, {"Silver", 500}, {"Gold", 2000}, {"Platinum", 5000}}},
			Milestones:        []int{5, 10, 25, 50, 100},
			NewCustomerDays:   30,
			TopSpenderPercent: 10,
			ChurnRisk:         ChurnRisk{PAliveHigh: 0.3, PAliveMedium: 0.7, GapHigh: 3, GapMedium: 1.5},
		},
		Audiences: Audiences{Enabled: &on, Lists: slices.Clone(AudienceNames)},
		Affinity:  Affinity{MinPairOrders: 5, TopK: 10, MaxPairs: 5_000_000, OpenOrders: 4096},
	}
}

// intIn fails unless lo <= v <= hi, naming the field and the range.
func intIn(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: %s: %d is out of range; want a whole number from %d to %d", ErrInvalid, field, v, lo, hi)
	}
	return nil
}

// floatIn fails unless v lies in the interval, open at an end when asked.
func floatIn(field string, v, lo, hi float64, loOpen, hiOpen bool) error {
	bad := math.IsNaN(v) || v < lo || v > hi || (loOpen && v == lo) || (hiOpen && v == hi)
	if !bad {
		return nil
	}
	l, h := "[", "]"
	if loOpen {
		l = "("
	}
	if hiOpen {
		h = ")"
	}
	return fmt.Errorf("%w: %s: %g is out of range; want a number in %s%g, %g%s", ErrInvalid, field, v, l, lo, hi, h)
}

// check validates a decoded job and resolves what depends on its values.
func (j *Job) check() error {
	if j.Name == "" {
		return fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if strings.ContainsAny(j.Name, "/\\ ") {
		return fmt.Errorf("%w: name %q must not contain slashes or spaces", ErrInvalid, j.Name)
	}
	if j.Timezone == "" {
		j.Timezone = "UTC"
	}
	loc, err := time.LoadLocation(j.Timezone)
	if err != nil {
		return fmt.Errorf("%w: timezone %q: %v", ErrInvalid, j.Timezone, err)
	}
	j.loc = loc
	if err := intIn("output.row_group_rows", int(min(j.Output.RowGroupRows, math.MaxInt32)), 1024, 64<<20); err != nil {
		return err
	}
	if err := j.Validate.check(); err != nil {
		return err
	}
	if err := j.Segments.check(); err != nil {
		return err
	}
	for _, p := range []struct {
		field string
		v     *string
	}{{"cohorts.period", &j.Cohorts.Period}, {"kpis.period", &j.KPIs.Period}} {
		switch *p.v {
		case "month", "week", "quarter":
		default:
			return fmt.Errorf("%w: %s %q: want month, week or quarter", ErrInvalid, p.field, *p.v)
		}
	}
	if err := j.CLV.check(); err != nil {
		return err
	}
	if err := j.Actions.check(); err != nil {
		return err
	}
	if err := j.Audiences.check(); err != nil {
		return err
	}
	if err := j.Affinity.check(); err != nil {
		return err
	}
	if err := intIn("kpis.churn_days", j.KPIs.ChurnDays, 1, 3650); err != nil {
		return err
	}
	for k, v := range j.KPIs.RetentionSpend {
		if _, err := time.Parse(time.DateOnly, k); err != nil {
			return fmt.Errorf("%w: kpis.retention_spend key %q: want the period's start date YYYY-MM-DD", ErrInvalid, k)
		}
		if err := floatIn("kpis.retention_spend."+k, v, 0, math.MaxFloat64, false, false); err != nil {
			return err
		}
	}
	if err := j.Input.Orders.check("input.orders", schemas.Orders); err != nil {
		return err
	}
	if j.Sink != nil {
		if err := j.Sink.check(); err != nil {
			return err
		}
		j.Sink.CredentialsFile = j.Resolve(j.Sink.CredentialsFile)
	}
	if bq := j.Input.Orders.BigQuery; bq != nil {
		bq.CredentialsFile = j.Resolve(bq.CredentialsFile)
		if bq.Pushdown && (j.Input.FXRates != nil || j.Input.OrderItems != nil || j.Input.Orders.TimestampFormat != "") {
			return fmt.Errorf("%w: input.orders.bigquery.pushdown works without fx_rates, order_items and timestamp_format", ErrInvalid)
		}
	}
	if j.Input.FXRates != nil {
		if j.Input.FXRates.BigQuery != nil {
			return fmt.Errorf("%w: input.fx_rates: only input.orders can be read from BigQuery", ErrInvalid)
		}
		if err := j.Input.FXRates.check("input.fx_rates", schemas.FXRates); err != nil {
			return err
		}
		if len(j.Input.ReportingCurrency) != 3 {
			return fmt.Errorf("%w: input.reporting_currency must be a 3-letter currency code when fx_rates is set", ErrInvalid)
		}
	}
	if c := j.Input.ReportingCurrency; c != "" && len(c) != 3 {
		return fmt.Errorf("%w: input.reporting_currency %q: want a 3-letter currency code", ErrInvalid, c)
	}
	if j.Input.OrderItems != nil {
		if j.Input.OrderItems.BigQuery != nil {
			return fmt.Errorf("%w: input.order_items: only input.orders can be read from BigQuery", ErrInvalid)
		}
		if err := j.Input.OrderItems.check("input.order_items", schemas.OrderItems); err != nil {
			return err
		}
	}
	return nil
}

func (v *Validate) check() error {
	if len(v.CountedStatuses) == 0 {
		return fmt.Errorf("%w: validate.counted_statuses: want at least one status", ErrInvalid)
	}
	if _, err := time.Parse(time.DateOnly, v.MinOrderTS); err != nil {
		return fmt.Errorf("%w: validate.min_order_ts %q: want a date YYYY-MM-DD", ErrInvalid, v.MinOrderTS)
	}
	return errors.Join(
		floatIn("validate.max_volume_drop", v.MaxVolumeDrop, 0, 1, false, false),
		floatIn("validate.max_amount", v.MaxAmount, 0, math.Inf(1), true, true))
}

func (a *Affinity) check() error {
	return errors.Join(
		intIn("affinity.min_pair_orders", a.MinPairOrders, 1, math.MaxInt32),
		intIn("affinity.top_k", a.TopK, 1, math.MaxInt32),
		intIn("affinity.max_pairs", a.MaxPairs, 1000, 1<<30),
		intIn("affinity.open_orders", a.OpenOrders, 1, 1<<24),
	)
}

func (c *CLV) check() error {
	switch c.Model {
	case "auto", "bgnbd", "pareto_nbd", "none":
	default:
		return fmt.Errorf("%w: clv.model %q: want auto, bgnbd, pareto_nbd or none", ErrInvalid, c.Model)
	}
	if c.MonthlyDiscountRate == nil {
		return fmt.Errorf("%w: clv.monthly_discount_rate: want a number in [0, 1)", ErrInvalid)
	}
	return errors.Join(
		intIn("clv.horizon_days", c.HorizonDays, 1, 3650),
		intIn("clv.horizon_months", c.HorizonMonths, 1, 120),
		floatIn("clv.monthly_discount_rate", *c.MonthlyDiscountRate, 0, 1, false, true),
		intIn("clv.holdout_days", c.HoldoutDays, 0, 3650),
		intIn("clv.min_customers", c.MinCustomers, 1, math.MaxInt32),
	)
}

func (s *Segments) check() error {
	if err := floatIn("segments.cac", s.CAC, 0, math.MaxFloat64, false, false); err != nil {
		return err
	}
	if len(s.Rules) == 0 {
		return fmt.Errorf("%w: segments.rules: want at least one rule (leave the key out for the default grid)", ErrInvalid)
	}
	for i, r := range s.Rules {
		if r.Name == "" {
			return fmt.Errorf("%w: segments.rules[%d] has no name", ErrInvalid, i)
		}
		for _, rg := range [][2]int{r.R, r.F, r.M} {
			if rg[0] < 1 || rg[1] > 5 || rg[0] > rg[1] {
				return fmt.Errorf("%w: segments.rules[%d] (%s): ranges must be [low, high] within 1..5", ErrInvalid, i, r.Name)
			}
		}
	}
	return nil
}

func (s *Source) check(where string, t schemas.Table) error {
	if s.BigQuery != nil {
		if s.Path != "" || s.Format != "" {
			return fmt.Errorf("%w: %s: path/format and bigquery are exclusive", ErrInvalid, where)
		}
		if err := s.BigQuery.check(where + ".bigquery"); err != nil {
			return err
		}
		for _, c := range t.Columns {
			if err := bqident.Column(s.SourceColumn(c.Name)); err != nil {
				return fmt.Errorf("%w: %s.columns.%s: %w", ErrInvalid, where, c.Name, err)
			}
		}
	} else if s.Path == "" {
		return fmt.Errorf("%w: %s.path is required", ErrInvalid, where)
	}
	switch s.Format {
	case "", "parquet", "csv":
	default:
		return fmt.Errorf("%w: %s.format %q: want parquet or csv", ErrInvalid, where, s.Format)
	}
	known := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		known[i] = c.Name
	}
	names := make([]string, 0, len(s.Columns))
	for k := range s.Columns {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%w: %s.columns: %q is not a column of %s (want one of %s)", ErrInvalid, where, k, t.Name, strings.Join(known, ", "))
		}
	}
	if d := s.CSV.Delimiter; d != "" && len([]rune(d)) != 1 {
		return fmt.Errorf("%w: %s.csv.delimiter %q must be one character", ErrInvalid, where, d)
	}
	if s.CSV.NullValues == nil {
		s.CSV.NullValues = []string{"", "NULL"}
	}
	if s.CSV.MaxMalformedShare == nil {
		share := 0.01
		s.CSV.MaxMalformedShare = &share
	}
	return floatIn(where+".csv.max_malformed_share", *s.CSV.MaxMalformedShare, 0, 1, false, false)
}

// SourceColumn returns the shop's column name for a canonical column.
func (s *Source) SourceColumn(canonical string) string {
	if n, ok := s.Columns[canonical]; ok {
		return n
	}
	return canonical
}

// Location is the job's time zone.
func (j *Job) Location() *time.Location { return j.loc }

// Resolve makes a path from the job file absolute.
func (j *Job) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(j.dir, p)
}

// OverrideInput points the inputs at a folder (also when the job reads
// orders from BigQuery): orders at DIR/orders (a folder, or orders.parquet /
// orders.csv), order items and FX rates likewise.
func (j *Job) OverrideInput(dir string) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	j.Input.Orders.Path = tablePath(dir, schemas.Orders.Name)
	j.Input.Orders.BigQuery = nil
	if j.Input.OrderItems != nil {
		j.Input.OrderItems.Path = tablePath(dir, schemas.OrderItems.Name)
	}
	if j.Input.FXRates != nil {
		j.Input.FXRates.Path = tablePath(dir, schemas.FXRates.Name)
	}
}

func tablePath(dir, table string) string {
	p := filepath.Join(dir, table)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return p + ".*"
}
