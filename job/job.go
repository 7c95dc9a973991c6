// Package job holds the job file: what a nightly run reads, how it maps a
// shop's columns onto the input contract, and where it writes. The struct tags
// and doc comments here are the job file's reference documentation.
package job

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
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
		on := true
		a.Enabled = &on
	}
	if len(a.Lists) == 0 {
		a.Lists = AudienceNames
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
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if len(a.WinbackDays) == 0 {
		a.WinbackDays = []int{90, 180, 270, 365}
	}
	if len(a.WinbackDays) != 4 || !sort.IntsAreSorted(a.WinbackDays) || a.WinbackDays[0] < 1 || a.WinbackDays[0] == a.WinbackDays[1] || a.WinbackDays[1] == a.WinbackDays[2] || a.WinbackDays[2] == a.WinbackDays[3] {
		return fmt.Errorf("%w: actions.winback_days must be 4 increasing day counts (winback_1, winback_2, winback_3, lapsed)", ErrInvalid)
	}
	def(&a.DeclineWindowDays, 90)
	deff(&a.FrequencyDeclineRatio, 0.5)
	deff(&a.ValueDeclineRatio, 0.8)
	def(&a.NewCustomerDays, 30)
	deff(&a.TopSpenderPercent, 10)
	deff(&a.ChurnRisk.PAliveHigh, 0.3)
	deff(&a.ChurnRisk.PAliveMedium, 0.7)
	deff(&a.ChurnRisk.GapHigh, 3)
	deff(&a.ChurnRisk.GapMedium, 1.5)
	if len(a.Milestones) == 0 {
		a.Milestones = []int{5, 10, 25, 50, 100}
	}
	switch a.Tiers.Basis {
	case "":
		a.Tiers.Basis = "lifetime_spend"
	case "lifetime_spend", "trailing_12m_spend", "orders":
	default:
		return fmt.Errorf("%w: actions.tiers.basis %q: want lifetime_spend, trailing_12m_spend or orders", ErrInvalid, a.Tiers.Basis)
	}
	if len(a.Tiers.Levels) == 0 {
		a.Tiers.Levels = []Tier{{"Bronze", 0}, {"Silver", 500}, {"Gold", 2000}, {"Platinum", 5000}}
	}
	for i := 1; i < len(a.Tiers.Levels); i++ {
		if a.Tiers.Levels[i].Min <= a.Tiers.Levels[i-1].Min {
			return fmt.Errorf("%w: actions.tiers.levels must be in increasing min order", ErrInvalid)
		}
	}
	if a.TopSpenderPercent <= 0 || a.TopSpenderPercent > 100 || a.DeclineWindowDays < 1 {
		return fmt.Errorf("%w: actions: top_spender_percent must be in (0, 100] and decline_window_days positive", ErrInvalid)
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
// Unknown keys are errors, so a typo fails the run instead of being ignored.
func Parse(raw []byte, dir string) (*Job, error) {
	var j Job
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	j.dir = dir
	if err := j.defaults(); err != nil {
		return nil, err
	}
	return &j, nil
}

func (j *Job) defaults() error {
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
	if j.Output.RowGroupRows == 0 {
		j.Output.RowGroupRows = 256 * 1024
	}
	if j.Output.RowGroupRows < 1 {
		return fmt.Errorf("%w: output.row_group_rows must be positive", ErrInvalid)
	}
	if len(j.Validate.CountedStatuses) == 0 {
		j.Validate.CountedStatuses = []string{"completed"}
	}
	if j.Validate.MaxAmount == 0 {
		j.Validate.MaxAmount = 1e9
	}
	if !(j.Validate.MaxAmount > 0) || math.IsInf(j.Validate.MaxAmount, 1) {
		return fmt.Errorf("%w: validate.max_amount must be a positive number", ErrInvalid)
	}
	if j.Validate.MinOrderTS == "" {
		j.Validate.MinOrderTS = "1990-01-01"
	}
	if _, err := time.Parse(time.DateOnly, j.Validate.MinOrderTS); err != nil {
		return fmt.Errorf("%w: validate.min_order_ts %q: want a date YYYY-MM-DD", ErrInvalid, j.Validate.MinOrderTS)
	}
	if err := j.Segments.check(); err != nil {
		return err
	}
	for _, p := range []*string{&j.Cohorts.Period, &j.KPIs.Period} {
		switch *p {
		case "":
			*p = "month"
		case "month", "week", "quarter":
		default:
			return fmt.Errorf("%w: period %q: want month, week or quarter", ErrInvalid, *p)
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
	if j.Affinity.MinPairOrders == 0 {
		j.Affinity.MinPairOrders = 5
	}
	if j.Affinity.TopK == 0 {
		j.Affinity.TopK = 10
	}
	if j.Affinity.MaxPairs == 0 {
		j.Affinity.MaxPairs = 5_000_000
	}
	if j.Affinity.OpenOrders == 0 {
		j.Affinity.OpenOrders = 4096
	}
	if j.Affinity.MinPairOrders < 1 || j.Affinity.TopK < 1 || j.Affinity.MaxPairs < 1000 || j.Affinity.OpenOrders < 1 || j.Affinity.OpenOrders > 1<<24 {
		return fmt.Errorf("%w: affinity: min_pair_orders, top_k and open_orders (at most 16,777,216) must be positive, max_pairs at least 1000", ErrInvalid)
	}
	if j.KPIs.ChurnDays == 0 {
		j.KPIs.ChurnDays = 180
	}
	if j.KPIs.ChurnDays < 1 {
		return fmt.Errorf("%w: kpis.churn_days must be positive", ErrInvalid)
	}
	for k := range j.KPIs.RetentionSpend {
		if _, err := time.Parse(time.DateOnly, k); err != nil {
			return fmt.Errorf("%w: kpis.retention_spend key %q: want the period's start date YYYY-MM-DD", ErrInvalid, k)
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

func (c *CLV) check() error {
	switch c.Model {
	case "":
		c.Model = "auto"
	case "auto", "bgnbd", "pareto_nbd", "none":
	default:
		return fmt.Errorf("%w: clv.model %q: want auto, bgnbd, pareto_nbd or none", ErrInvalid, c.Model)
	}
	if c.HorizonDays == 0 {
		c.HorizonDays = 90
	}
	if c.HorizonMonths == 0 {
		c.HorizonMonths = 12
	}
	if c.MinCustomers == 0 {
		c.MinCustomers = 100
	}
	if c.MonthlyDiscountRate == nil {
		d := 0.01
		c.MonthlyDiscountRate = &d
	}
	if c.HorizonDays < 1 || c.HorizonMonths < 1 || *c.MonthlyDiscountRate < 0 || c.HoldoutDays < 0 {
		return fmt.Errorf("%w: clv: horizons must be positive, the discount rate and holdout_days not negative", ErrInvalid)
	}
	return nil
}

func (s *Segments) check() error {
	if s.CAC < 0 {
		return fmt.Errorf("%w: segments.cac must not be negative", ErrInvalid)
	}
	if len(s.Rules) == 0 {
		s.Rules = DefaultSegmentRules
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
	return nil
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
	j.Input.Orders.Path = tablePath(dir, "orders")
	j.Input.Orders.BigQuery = nil
	if j.Input.OrderItems != nil {
		j.Input.OrderItems.Path = tablePath(dir, "order_items")
	}
	if j.Input.FXRates != nil {
		j.Input.FXRates.Path = tablePath(dir, "fx_rates")
	}
}

func tablePath(dir, table string) string {
	p := filepath.Join(dir, table)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return p + ".*"
}
