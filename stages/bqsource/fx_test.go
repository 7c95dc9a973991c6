package bqsource

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/night"
	"retain/stages/internal/rules"
)

// fxJob is a pushdown job in several currencies whose rates are a table.
const fxJob = `
name: n
timezone: Europe/Berlin
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, location: EU, pushdown: true}
  fx_rates:
    bigquery: {project: shop-analytics, dataset: finance, table: rates, location: %s}
    columns: {date: day, rate_to_reporting: rate}
  reporting_currency: EUR
`

// TestPlanPushdownFX: with rates from a table, pushdown converts in SQL by
// validate's rule (the local day in the job's zone, the rate's day by its
// type, amount × rate unrounded, checked against max_amount once
// converted), runs the conflicts query first, and refuses a rates table it
// cannot read as validate does or cannot join.
func TestPlanPushdownFX(t *testing.T) {
	orders := func(currency bool) bigquery.Schema {
		s := bigquery.Schema{
			{Name: "order_id", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.StringFieldType},
			{Name: "order_ts", Type: bigquery.TimestampFieldType}, {Name: "amount", Type: bigquery.NumericFieldType},
		}
		if currency {
			s = append(s, &bigquery.FieldSchema{Name: "currency", Type: bigquery.StringFieldType})
		}
		return s
	}
	rates := func(day, code, rate bigquery.FieldType) bigquery.Schema {
		return bigquery.Schema{{Name: "day", Type: day}, {Name: "currency", Type: code}, {Name: "rate", Type: rate}}
	}
	tests := []struct {
		name     string
		location string
		currency bool
		rates    bigquery.Schema
		day      string // the rate's day; "" when refused
		tz       bool   // the conflicts query needs @tz
	}{
		{"date rates", "EU", true, rates(bigquery.DateFieldType, bigquery.StringFieldType, bigquery.FloatFieldType), "`date` AS _fx_from", false},
		{"timestamp rates", "EU", true, rates(bigquery.TimestampFieldType, bigquery.StringFieldType, bigquery.NumericFieldType), "DATE(`date`, @tz) AS _fx_from", true},
		{"datetime rates", "eu", true, rates(bigquery.DateTimeFieldType, bigquery.StringFieldType, bigquery.IntegerFieldType), "DATE(TIMESTAMP(`date`, @tz), @tz) AS _fx_from", true},
		{"string dates", "EU", true, rates(bigquery.StringFieldType, bigquery.StringFieldType, bigquery.FloatFieldType), "", false},
		{"string rates", "EU", true, rates(bigquery.DateFieldType, bigquery.StringFieldType, bigquery.StringFieldType), "", false},
		{"another location", "US", true, rates(bigquery.DateFieldType, bigquery.StringFieldType, bigquery.FloatFieldType), "", false},
		{"no schema", "EU", true, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := planContext(t, strings.Replace(fxJob, "%s", tt.location, 1))
			p, err := PlanPushdown(rc, orders(tt.currency), tt.rates)
			if tt.day == "" {
				if !errors.Is(err, ErrPushdown) {
					t.Fatalf("err = %v, want ErrPushdown", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			qs := p.Queries()
			if len(qs) != 4 || qs[0] != &p.Conflicts || p.Conflicts.Name != QueryConflicts || p.Conflicts.Table != "shop-analytics.finance.rates" {
				t.Fatalf("queries %v: want the conflicts query on the rates first", qs)
			}
			for _, want := range []string{tt.day, "SELECT DISTINCT UPPER(TRIM(`currency`)) AS _fx_code", "`rate_to_reporting` > 0", "FROM `shop-analytics.finance.rates`"} {
				if !strings.Contains(p.Conflicts.SQL, want) || !strings.Contains(p.Cells.SQL, want) {
					t.Errorf("conflicts or cells query lacks %q:\n%s\n%s", want, p.Conflicts.SQL, p.Cells.SQL)
				}
			}
			var names []string
			for _, par := range p.Conflicts.Params {
				names = append(names, par.Name)
			}
			if got := strings.Join(names, ","); (got == "tz") != tt.tz || (got != "" && got != "tz") {
				t.Errorf("conflicts query parameters %v", names)
			}
			for _, want := range []string{
				// validity until the next rate, the last one until the run date
				"LEAD(_fx_from) OVER (PARTITION BY _fx_code ORDER BY _fx_from)",
				"GENERATE_DATE_ARRAY(GREATEST(_fx_from, DATE(@min_order_ts, @tz)), IFNULL(DATE_SUB(_fx_next, INTERVAL 1 DAY), @run_date))",
				// the order's local day and code, as validate finds them
				"LEFT JOIN fx ON _fx_code = UPPER(TRIM(`currency`)) AND _fx_day = DATE(`order_ts`, @tz)",
				"SAFE_MULTIPLY(CAST(`amount` AS FLOAT64), _fx_rate)",
				"_amount IS NULL OR _amount > @max_amount",
				"!= @reporting_currency AND _fx_rate IS NULL",
			} {
				for _, q := range []Query{p.Counts, p.Raw, p.Cells} {
					if !strings.Contains(q.SQL, want) {
						t.Errorf("%s query lacks %q: %s", q.Name, want, q.SQL)
					}
				}
			}
			// Revenue is split from the converted amount.
			if !strings.Contains(p.Cells.SQL, "SUM(CAST(FLOOR(_amount) AS INT64)) AS revenue_units") || strings.Contains(p.Cells.SQL, "FLOOR(CAST(`amount` AS FLOAT64))") {
				t.Errorf("cells query does not sum the converted amounts: %s", p.Cells.SQL)
			}
			for _, q := range p.Queries() {
				for _, par := range q.Params {
					if par.Name == "run_date" && par.Value.(interface{ String() string }).String() != "2026-03-31" {
						t.Errorf("@run_date = %v", par.Value)
					}
				}
			}
		})
	}
	// Orders without a currency column are all in the reporting currency:
	// nothing to convert, no conflicts query.
	p, err := PlanPushdown(planContext(t, strings.Replace(fxJob, "%s", "EU", 1)), orders(false), rates(bigquery.DateFieldType, bigquery.StringFieldType, bigquery.FloatFieldType))
	if err != nil {
		t.Fatal(err)
	}
	if p.Conflicts.SQL != "" || len(p.Queries()) != 3 || strings.Contains(p.Cells.SQL, "fx") {
		t.Errorf("orders in one currency: conflicts %q, days %s", p.Conflicts.SQL, p.Cells.SQL)
	}
}

// TestFirstConflict: the conflicts query's rows, in any order, give
// validate's error for the same rates: the least currency, then day.
func TestFirstConflict(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{{Name: "currency", Type: arrow.BinaryTypes.String}, {Name: "rate_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "rate", Type: arrow.PrimitiveTypes.Float64}, {Name: "other_rate", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for _, r := range []struct {
		code        string
		day         int32
		rate, other float64
	}{{"USD", 20300, 0.9, 0.91}, {"GBP", 20301, 1.1, 1.2}, {"USD", 20200, 0.8, 0.81}, {"GBP", 20400, 1.3, 1.31}} {
		b.Field(0).(*array.StringBuilder).Append(r.code)
		b.Field(1).(*array.Date32Builder).Append(arrow.Date32(r.day))
		b.Field(2).(*array.Float64Builder).Append(r.rate)
		b.Field(3).(*array.Float64Builder).Append(r.other)
	}
	rec := b.NewRecord()
	defer rec.Release()
	var cs []conflict
	if err := collectConflicts(rec, &cs); err != nil {
		t.Fatal(err)
	}
	err := firstConflict(cs)
	const want = "input.fx_rates: conflicting FX rates: GBP has two rates for 2025-08-01 (1.1 and 1.2); keep one"
	if !errors.Is(err, rules.ErrConflictingRates) || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if err := firstConflict(nil); err != nil {
		t.Errorf("no conflicts: %v", err)
	}
	// A result whose rates are not FLOAT64 is refused, not misread (the
	// read has checked the names and count of the columns).
	wrong := array.NewRecord(arrow.NewSchema([]arrow.Field{sc.Field(0), sc.Field(1), sc.Field(3), {Name: "other_rate", Type: arrow.BinaryTypes.String}}, nil),
		[]arrow.Array{rec.Column(0), rec.Column(1), rec.Column(3), rec.Column(0)}, rec.NumRows())
	defer wrong.Release()
	if err := collectConflicts(wrong, &cs); !errors.Is(err, ErrPushdown) {
		t.Errorf("string rates: err = %v, want ErrPushdown", err)
	}
}

// fxFileJob is fxJob with the rates read from a file.
const fxFileJob = `
name: n
timezone: Europe/Berlin
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, location: EU, pushdown: true}
  fx_rates: {path: fx.csv}
  reporting_currency: EUR
validate:
  min_order_ts: "2025-01-01"
`

func fileOrders() bigquery.Schema {
	return bigquery.Schema{
		{Name: "order_id", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.StringFieldType},
		{Name: "order_ts", Type: bigquery.TimestampFieldType}, {Name: "amount", Type: bigquery.NumericFieldType},
		{Name: "currency", Type: bigquery.StringFieldType},
	}
}

// TestPlanPushdownFXFiles: with rates from files the queries convert with
// the same SQL as with a table, only the rates CTE reading the parameters
// instead of the table, and no conflicts query (the read finds them).
func TestPlanPushdownFXFiles(t *testing.T) {
	file, err := PlanPushdown(planContext(t, fxFileJob), fileOrders(), nil)
	if err != nil {
		t.Fatal(err)
	}
	table, err := PlanPushdown(planContext(t, strings.Replace(strings.Replace(fxJob, "%s", "EU", 1), "reporting_currency: EUR\n", "reporting_currency: EUR\nvalidate:\n  min_order_ts: \"2025-01-01\"\n", 1)),
		fileOrders(), bigquery.Schema{{Name: "day", Type: bigquery.DateFieldType}, {Name: "currency", Type: bigquery.StringFieldType}, {Name: "rate", Type: bigquery.FloatFieldType}})
	if err != nil {
		t.Fatal(err)
	}
	if file.Conflicts.SQL != "" || len(file.Queries()) != 3 {
		t.Fatalf("file rates: conflicts %q, %d queries", file.Conflicts.SQL, len(file.Queries()))
	}
	const cte = "fx_rates AS (SELECT _fx_code, CAST(@fx_rate_date[OFFSET(_fx_i)] AS DATE) AS _fx_from, CAST(@fx_rate[OFFSET(_fx_i)] AS FLOAT64) AS _fx_rate " +
		"FROM UNNEST(@fx_currency) AS _fx_code WITH OFFSET AS _fx_i)"
	// The table's rates CTEs end where fx_days begins.
	strip := func(sql string) string {
		from := strings.Index(sql, "fx_src AS (")
		if from < 0 {
			from = strings.Index(sql, cte)
		}
		to := strings.Index(sql, ", fx_days AS (")
		if from < 0 || to < from {
			t.Fatalf("no rates CTE in %s", sql)
		}
		return sql[:from] + "<rates>" + sql[to:]
	}
	for i, q := range file.Queries() {
		tq := table.Queries()[i+1] // after fx_conflicts
		if !strings.Contains(q.SQL, cte) {
			t.Errorf("%s: no rates from the parameters: %s", q.Name, q.SQL)
		}
		if strip(q.SQL) != strip(tq.SQL) {
			t.Errorf("%s: SQL past the rates differs from the table's:\n%s\n%s", q.Name, strip(q.SQL), strip(tq.SQL))
		}
		var names []string
		for _, par := range q.Params {
			if strings.HasPrefix(par.Name, "fx_") {
				names = append(names, par.Name)
				if v, ok := par.Value.([]string); !ok || len(v) != 0 {
					t.Errorf("%s: @%s = %#v before the rates are read", q.Name, par.Name, par.Value)
				}
			}
		}
		if strings.Join(names, " ") != "fx_currency fx_rate_date fx_rate" || len(q.ParamNotes) != 3 {
			t.Errorf("%s: parameters %v, notes %v", q.Name, names, q.ParamNotes)
		}
	}
}

// TestBindFileRates: the rates read reach every query as three parallel
// arrays, the rates in their shortest exact decimals and days as validate
// names them; rates of the reporting currency, after the run date, or
// before validate.min_order_ts (2025-01-01) but the one then in force are
// left out; the reader's errors (conflicting rates) fail as they are, and
// more than MaxFileRates rates is refused.
func TestBindFileRates(t *testing.T) {
	day := func(s string) int32 {
		tm, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return int32(tm.Unix() / 86400)
	}
	tenth := 0.1 // a variable, so 0.1 + 0.2 is float64's sum, not the constant 0.3
	rate := func(code, d string, r float64) rules.Rate { return rules.Rate{Currency: code, Day: day(d), Rate: r} }
	rates := []rules.Rate{
		rate("EUR", "2025-06-01", 1),
		rate("GBP", "2024-12-01", 1.1), // the next is on the first day: out
		rate("GBP", "2025-01-01", 1.2),
		rate("JPY", "2020-01-01", 0.0061),    // in force on the first day
		rate("USD", "2024-11-01", 0.9),       // out
		rate("USD", "2024-12-31", tenth+0.2), // in force on the first day
		rate("USD", "2025-03-01", 1.0/3),
		rate("USD", "2026-04-01", 0.95), // after the run date: out
	}
	rc := planContext(t, fxFileJob)
	p, err := PlanPushdown(rc, fileOrders(), nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func(context.Context, *night.Context) ([]rules.Rate, error) { return rates, nil }
	if err := p.BindFileRates(context.Background(), rc, read); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"fx_currency":  {"GBP", "JPY", "USD", "USD"},
		"fx_rate_date": {"2025-01-01", "2020-01-01", "2024-12-31", "2025-03-01"},
		"fx_rate":      {"1.2", "0.0061", "0.30000000000000004", "0.3333333333333333"},
	}
	for _, q := range append(p.Queries(), func() []*Query {
		items, err := PlanItemsPushdown(planContext(t, strings.Replace(fxFileJob, "input:\n", "input:\n  order_items: {bigquery: {project: shop-analytics, dataset: sales, table: lines, location: EU}}\n", 1)), p,
			bigquery.Schema{{Name: "order_id", Type: bigquery.StringFieldType}, {Name: "sku", Type: bigquery.StringFieldType}})
		if err != nil {
			t.Fatal(err)
		}
		return items.Queries()
	}()...) {
		got := map[string][]string{}
		for _, par := range q.Params {
			if _, ok := want[par.Name]; ok {
				got[par.Name] = par.Value.([]string)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", q.Name, got, want)
		}
		if n := q.ParamNotes["fx_rate"]; !strings.Contains(n, "the 4 rates read from input.fx_rates' files") {
			t.Errorf("%s: note %q", q.Name, n)
		}
	}
	// Each rate reads back to the float64 it was.
	for i, s := range want["fx_rate"] {
		if v, err := strconv.ParseFloat(s, 64); err != nil || v != []float64{1.2, 0.0061, tenth + 0.2, 1.0 / 3}[i] {
			t.Errorf("rate %s reads back as %v", s, v)
		}
	}

	fresh := func() *Pushdown {
		p, err := PlanPushdown(rc, fileOrders(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	conflict := rules.ConflictingRates("USD", day("2025-03-01"), 0.9, 0.91)
	err = fresh().BindFileRates(context.Background(), rc, func(context.Context, *night.Context) ([]rules.Rate, error) { return nil, conflict })
	if !errors.Is(err, rules.ErrConflictingRates) || err.Error() != conflict.Error() {
		t.Errorf("conflicting rates: err = %v", err)
	}
	if err := fresh().BindFileRates(context.Background(), rc, nil); !errors.Is(err, ErrPushdown) {
		t.Errorf("no reader: err = %v, want ErrPushdown", err)
	}
	many := make([]rules.Rate, MaxFileRates+1)
	for i := range many {
		many[i] = rules.Rate{Currency: "USD", Day: day("2025-01-01") + int32(i%400), Rate: 1}
		if i >= 400 {
			many[i].Currency = fmt.Sprintf("X%02d", i/400)
		}
	}
	err = fresh().BindFileRates(context.Background(), rc, func(context.Context, *night.Context) ([]rules.Rate, error) { return many, nil })
	if !errors.Is(err, ErrPushdown) || !strings.Contains(err.Error(), "40001 rates") {
		t.Errorf("%d rates: err = %v, want ErrPushdown", len(many), err)
	}
	// Exactly the limit is carried.
	if err := fresh().BindFileRates(context.Background(), rc, func(context.Context, *night.Context) ([]rules.Rate, error) { return many[:MaxFileRates], nil }); err != nil {
		t.Errorf("%d rates: %v", MaxFileRates, err)
	}
}
