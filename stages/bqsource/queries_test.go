package bqsource

import (
	"fmt"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/night"
	"retain/stages/affinity/affinityconfig"
	"retain/stages/internal/input"
	"retain/stages/margin/marginconfig"
	"retain/stages/validate/validateconfig"
)

// TestQueriesScaleOut inspects every query the source sends, plain and
// pushed down, for jobs of several shapes (optional columns present or
// not, each order_ts and amount type, refunds on and off, mapped names,
// FX rates from a table of each date type, and with pushdown the items
// queries that pair products in SQL):
// no window without PARTITION BY, no ORDER BY but inside OVER (...) or a
// bounded ARRAY_AGG, no ARRAY_AGG without LIMIT. Such a query runs on
// BigQuery's workers in parallel and its result is read over several
// streams.
func TestQueriesScaleOut(t *testing.T) {
	col := func(name string, typ bigquery.FieldType) *bigquery.FieldSchema {
		return &bigquery.FieldSchema{Name: name, Type: typ}
	}
	tests := []struct {
		name     string
		job      string
		schema   bigquery.Schema
		pushdown bool
		fx       bigquery.Schema // input.fx_rates' table, converted in SQL
	}{
		{"minimal, string timestamps", "", bigquery.Schema{
			col("order_id", bigquery.StringFieldType), col("customer_id", bigquery.StringFieldType),
			col("order_ts", bigquery.StringFieldType), col("amount", bigquery.StringFieldType)}, false, nil},
		{"every column, timestamp and numeric", "reporting_currency: EUR\n", bigquery.Schema{
			col("order_id", bigquery.StringFieldType), col("customer_id", bigquery.IntegerFieldType),
			col("order_ts", bigquery.TimestampFieldType), col("amount", bigquery.NumericFieldType),
			col("currency", bigquery.StringFieldType), col("country", bigquery.StringFieldType),
			col("channel", bigquery.StringFieldType), col("status", bigquery.StringFieldType)}, true, nil},
		{"mapped names, date and float, no status", "columns: {order_id: OrderNo, order_ts: PlacedAt, amount: Total}\n", bigquery.Schema{
			col("OrderNo", bigquery.IntegerFieldType), col("customer_id", bigquery.StringFieldType),
			col("PlacedAt", bigquery.DateFieldType), col("Total", bigquery.FloatFieldType),
			col("country", bigquery.StringFieldType)}, true, nil},
		{"datetime and integer, channel only", "", bigquery.Schema{
			col("order_id", bigquery.StringFieldType), col("customer_id", bigquery.StringFieldType),
			col("order_ts", bigquery.DateTimeFieldType), col("amount", bigquery.IntegerFieldType),
			col("channel", bigquery.StringFieldType)}, true, nil},
		{"refunds off, bignumeric", "validate: {refund_statuses: []}\n", bigquery.Schema{
			col("order_id", bigquery.StringFieldType), col("customer_id", bigquery.StringFieldType),
			col("order_ts", bigquery.TimestampFieldType), col("amount", bigquery.BigNumericFieldType),
			col("status", bigquery.StringFieldType)}, true, nil},
		{"FX from a table, date rates", "reporting_currency: EUR\n", bigquery.Schema{
			col("order_id", bigquery.StringFieldType), col("customer_id", bigquery.StringFieldType),
			col("order_ts", bigquery.TimestampFieldType), col("amount", bigquery.NumericFieldType),
			col("currency", bigquery.StringFieldType), col("status", bigquery.StringFieldType)}, true, bigquery.Schema{
			col("date", bigquery.DateFieldType), col("currency", bigquery.StringFieldType), col("rate_to_reporting", bigquery.FloatFieldType)}},
		{"FX from a table, timestamp rates, date orders", "reporting_currency: EUR\n", bigquery.Schema{
			col("order_id", bigquery.StringFieldType), col("customer_id", bigquery.StringFieldType),
			col("order_ts", bigquery.DateFieldType), col("amount", bigquery.FloatFieldType),
			col("currency", bigquery.StringFieldType), col("country", bigquery.StringFieldType)}, true, bigquery.Schema{
			col("date", bigquery.TimestampFieldType), col("currency", bigquery.StringFieldType), col("rate_to_reporting", bigquery.NumericFieldType)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := fmt.Sprintf("input:\n  orders:\n    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: %t}\n", tt.pushdown)
			switch {
			case strings.HasPrefix(tt.job, "validate"):
				job += tt.job
			case strings.HasPrefix(tt.job, "reporting_currency"):
				job += "  " + tt.job
				if tt.fx != nil {
					job += "  fx_rates: {bigquery: {project: shop-analytics, dataset: finance, table: rates}}\n"
				}
			case tt.job != "":
				job += "    " + tt.job
			}
			if tt.pushdown {
				// Pushdown pairs the products of items from a table in SQL.
				job = strings.Replace(job, "input:\n", "input:\n  order_items: {bigquery: {project: shop-analytics, dataset: sales, table: lines}}\n", 1)
			}
			j, err := config.Decode([]byte("name: n\ntimezone: Europe/Berlin\n"+job), "/", []config.Section{night.InputSection, validateconfig.Section, affinityconfig.Section, marginconfig.Section})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Plan(rc, tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			queries := map[string]string{"plain": plain.SQL}
			if tt.pushdown {
				p, err := PlanPushdown(rc, tt.schema, tt.fx)
				if err != nil {
					t.Fatal(err)
				}
				queries["counts"], queries["raw"], queries["cells"] = p.Counts.SQL, p.Raw.SQL, p.Cells.SQL
				if (p.Conflicts.SQL != "") != (tt.fx != nil) {
					t.Errorf("conflicts query %q with FX table %v", p.Conflicts.SQL, tt.fx)
				}
				if tt.fx != nil {
					queries["conflicts"] = p.Conflicts.SQL
				}
				items, err := PlanItemsPushdown(rc, p, bigquery.Schema{
					col("order_id", tt.schema[0].Type), col("sku", bigquery.StringFieldType), col("quantity", bigquery.IntegerFieldType)})
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range items.Queries() {
					queries[q.Name] = q.SQL
				}
				if !strings.Contains(p.Cells.SQL, "ARRAY_AGG(") {
					t.Errorf("cells query picks the latest order without ARRAY_AGG: %s", p.Cells.SQL)
				}
			}
			for name, sql := range queries {
				found, err := inspect(sql)
				if err != nil {
					t.Fatalf("%s: %v\n%s", name, err, sql)
				}
				for _, v := range found {
					t.Errorf("%s query: %v: …%s…\n%s", name, v, sql[v.at:min(len(sql), v.at+60)], sql)
				}
			}
			// The plain read's last column says which order ids are shared,
			// computed per order id.
			if last := plain.Columns[len(plain.Columns)-1]; last != input.SharedOrderID ||
				!strings.HasSuffix(plain.SQL[:strings.Index(plain.SQL, " FROM ")], "COUNT(*) OVER (PARTITION BY TRIM(CAST(`"+tt.schema[0].Name+"` AS STRING))) > 1, FALSE) AS `_shared_order_id`") {
				t.Errorf("plain read columns %v, SQL %s", plain.Columns, plain.SQL)
			}
		})
	}
}
