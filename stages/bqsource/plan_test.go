package bqsource

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/rs/zerolog"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"

	"retain/config"
	"retain/night"
	"retain/stages/affinity/affinityconfig"
	"retain/stages/margin/marginconfig"
	"retain/stages/validate/validateconfig"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

func planContext(t *testing.T, yaml string) *night.Context {
	t.Helper()
	j, err := config.Decode([]byte(yaml), "/", []config.Section{night.InputSection, validateconfig.Section, affinityconfig.Section, marginconfig.Section})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

const planJob = `
name: n
timezone: Europe/Berlin
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: %s}
    columns: {order_id: OrderNo, order_ts: PlacedAt, status: State}
`

func jobWith(pushdown bool) string {
	if pushdown {
		return strings.Replace(planJob, "%s", "true", 1)
	}
	return strings.Replace(planJob, "%s", "false", 1)
}

// TestQueriesListEveryQuery: every Query a pushdown plan holds, of the
// orders and of the items, is in
// Queries, named, once; so `retain plan` and the manifest follow the
// planner when it gains a query.
func TestQueriesListEveryQuery(t *testing.T) {
	// With rates from a table, so the conversion's query is planned too.
	job := strings.Replace(jobWith(true), "status: State}\n", "status: State}\n  fx_rates: {bigquery: {project: shop-analytics, dataset: finance, table: rates}}\n  reporting_currency: EUR\n", 1)
	p, err := PlanPushdown(planContext(t, job), bigquery.Schema{
		{Name: "OrderNo", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.StringFieldType},
		{Name: "PlacedAt", Type: bigquery.TimestampFieldType}, {Name: "amount", Type: bigquery.NumericFieldType},
		{Name: "currency", Type: bigquery.StringFieldType},
	}, bigquery.Schema{
		{Name: "date", Type: bigquery.DateFieldType}, {Name: "currency", Type: bigquery.StringFieldType},
		{Name: "rate_to_reporting", Type: bigquery.FloatFieldType},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkListed(t, p, p.Queries())
	items, err := PlanItemsPushdown(planContext(t, strings.Replace(job, "input:\n", "input:\n  order_items: {bigquery: {project: shop-analytics, dataset: sales, table: lines}}\n", 1)), p,
		bigquery.Schema{{Name: "order_id", Type: bigquery.StringFieldType}, {Name: "sku", Type: bigquery.StringFieldType}})
	if err != nil {
		t.Fatal(err)
	}
	checkListed(t, items, items.Queries())
}

// checkListed fails unless listed holds every Query field of the struct p
// points to, each named, once.
func checkListed(t *testing.T, p any, listed []*Query) {
	t.Helper()
	v := reflect.ValueOf(p).Elem()
	var names []string
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Type() != reflect.TypeOf(Query{}) {
			continue
		}
		q := f.Addr().Interface().(*Query)
		if !slices.Contains(listed, q) {
			t.Errorf("%s.%s is not in Queries()", v.Type().Name(), v.Type().Field(i).Name)
		}
		if q.Name == "" || slices.Contains(names, q.Name) {
			t.Errorf("%s.%s is named %q: want a name of its own", v.Type().Name(), v.Type().Field(i).Name, q.Name)
		}
		names = append(names, q.Name)
	}
	if len(listed) != len(names) {
		t.Errorf("Queries() lists %d queries, %s holds %d", len(listed), v.Type().Name(), len(names))
	}
}

// TestPlanOfflineSideInputs: items and FX rates read from BigQuery add one
// query each, after the orders', with their assumed types and absent
// columns; with orders from files only theirs are planned.
func TestPlanOfflineSideInputs(t *testing.T) {
	const sides = `  order_items:
    bigquery: {project: shop-analytics, dataset: sales, table: lines}
    columns: {sku: Article}
  fx_rates:
    bigquery: {project: shop-analytics, dataset: finance, table: rates}
  reporting_currency: EUR
`
	for _, tt := range []struct {
		name, job string
		queries   []string
	}{
		{"orders too", strings.Replace(jobWith(false), "input:\n", "input:\n"+sides, 1), []string{QueryOrders, "order_items", "fx_rates"}},
		{"orders from files", "name: t\ninput:\n  orders: {path: o.csv}\n" + sides, []string{"order_items", "fx_rates"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanOffline(planContext(t, tt.job))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, q := range p.Queries {
				names = append(names, q.Name)
			}
			if !slices.Equal(names, tt.queries) {
				t.Fatalf("queries %v, want %v", names, tt.queries)
			}
			items, fx := p.Queries[len(names)-2], p.Queries[len(names)-1]
			if items.SQL != "SELECT `order_id` AS `order_id`, `Article` AS `sku` FROM `shop-analytics.sales.lines`" ||
				fx.SQL != "SELECT `date` AS `date`, `currency` AS `currency`, `rate_to_reporting` AS `rate_to_reporting` FROM `shop-analytics.finance.rates`" {
				t.Errorf("SQL\n%s\n%s", items.SQL, fx.SQL)
			}
			if a := p.SideAbsent["shop-analytics.sales.lines"]; !slices.Equal(a, []string{"quantity", "unit_price", "unit_cost"}) {
				t.Errorf("absent from items %v", a)
			}
			var fxTypes []string
			for _, a := range p.Assumed {
				if a.Table == "shop-analytics.finance.rates" {
					fxTypes = append(fxTypes, a.Column+" "+string(a.Type))
				}
			}
			if !slices.Equal(fxTypes, []string{"date DATE", "currency STRING", "rate_to_reporting FLOAT"}) {
				t.Errorf("FX types %v", fxTypes)
			}
		})
	}
}

func TestPlanOffline(t *testing.T) {
	tests := []struct {
		name     string
		pushdown bool
		queries  []string
	}{
		{"plain", false, []string{QueryOrders}},
		{"pushdown", true, []string{QueryCounts, QueryRaw, QueryCells}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := planContext(t, jobWith(tt.pushdown))
			p, err := PlanOffline(rc)
			if err != nil {
				t.Fatal(err)
			}
			const o = "shop-analytics.sales.orders"
			want := []Assumed{
				{o, "order_id", "OrderNo", bigquery.StringFieldType}, {o, "customer_id", "customer_id", bigquery.StringFieldType},
				{o, "order_ts", "PlacedAt", bigquery.TimestampFieldType}, {o, "amount", "amount", bigquery.FloatFieldType},
				{o, "status", "State", bigquery.StringFieldType},
			}
			if !slices.Equal(p.Assumed, want) {
				t.Errorf("assumed %v, want %v", p.Assumed, want)
			}
			if !slices.Equal(p.Absent, []string{"currency", "country", "channel"}) {
				t.Errorf("absent %v", p.Absent)
			}
			if p.Table != "shop-analytics.sales.orders" || p.Pushdown != tt.pushdown || p.Estimates != nil {
				t.Errorf("plan %+v", p)
			}
			var names []string
			for _, q := range p.Queries {
				names = append(names, q.Name)
			}
			if !slices.Equal(names, tt.queries) {
				t.Errorf("queries %v, want %v", names, tt.queries)
			}
			// The same SQL the reader builds from a table of those types.
			schema, _, _ := AssumedSchema(rc)
			plain, err := Plan(rc, schema)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.pushdown && p.Queries[0].SQL != plain.SQL {
				t.Errorf("SQL\n%s\nwant\n%s", p.Queries[0].SQL, plain.SQL)
			}
			if tt.pushdown && !strings.Contains(p.Queries[0].SQL, "IS_NAN(`amount`)") {
				t.Errorf("a FLOAT64 amount is not checked for NaN: %s", p.Queries[0].SQL)
			}
		})
	}
}

// TestPlanOnline dry-runs the planned queries against the fake: each is
// estimated with the SQL and parameters the run sends, and none runs.
func TestPlanOnline(t *testing.T) {
	fake := bqfake.New()
	fake.Tables["shop-analytics.sales.orders"] = &bq.Table{Schema: &bq.TableSchema{Fields: []*bq.TableFieldSchema{
		{Name: "OrderNo", Type: "STRING"}, {Name: "customer_id", Type: "INTEGER"}, {Name: "PlacedAt", Type: "DATE"},
		{Name: "amount", Type: "NUMERIC"}, {Name: "State", Type: "STRING"},
	}}}
	fail := false
	fake.Stats = func(sql string, params []*bq.QueryParameter) (*bq.JobStatistics2, error) {
		if fail {
			return nil, errors.New("Unrecognized name: PlacedAt")
		}
		// An estimate each query can be told by.
		return &bq.JobStatistics2{TotalBytesProcessed: int64(1000*len(params) + len(sql))}, nil
	}
	srv := fake.Start()
	defer srv.Close()
	opts := bqclient.Options{
		REST:  []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication()},
		Retry: bqclient.Policy{Attempts: 1},
	}
	for _, pushdown := range []bool{false, true} {
		rc := planContext(t, jobWith(pushdown))
		before := len(fake.DryRuns)
		p, err := PlanOnline(context.Background(), rc, opts)
		if err != nil {
			t.Fatal(err)
		}
		if p.Assumed != nil || p.Absent != nil {
			t.Errorf("types assumed with the table's schema at hand: %v %v", p.Assumed, p.Absent)
		}
		runs := fake.DryRuns[before:]
		if len(runs) != len(p.Queries) || len(p.Estimates) != len(p.Queries) {
			t.Fatalf("%d queries, %d dry runs, %d estimates", len(p.Queries), len(runs), len(p.Estimates))
		}
		for i, q := range p.Queries {
			if runs[i].Query != q.SQL || len(runs[i].QueryParameters) != len(q.Params) {
				t.Errorf("dry run %d is not query %s", i, q.Name)
			}
			if want := int64(1000*len(q.Params) + len(q.SQL)); p.Estimates[i] != want {
				t.Errorf("%s: estimate %d, want %d", q.Name, p.Estimates[i], want)
			}
		}
		// A DATE order_ts: the window end is a DATE parameter, as in the run.
		if pt := runs[0].QueryParameters[0].ParameterType.Type; pt != "DATE" {
			t.Errorf("window_end is a %s parameter", pt)
		}
	}
	if len(fake.Queries) != 0 {
		t.Errorf("%d queries ran; a plan only dry-runs", len(fake.Queries))
	}
	fail = true
	if _, err := PlanOnline(context.Background(), planContext(t, jobWith(false)), opts); err == nil || !strings.Contains(err.Error(), "Unrecognized name") {
		t.Errorf("a failing dry run gives %v", err)
	}
}
