package bqsource

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/night"
	"retain/stages/validate/validateconfig"
)

// gridDate is a DATE literal of the grid's cell rule (cellStartSQL).
var gridDate = regexp.MustCompile(`DATE '\d{4}-\d{2}-\d{2}'`)

func TestPlanPushdown(t *testing.T) {
	j, err := config.Decode([]byte(`
name: n
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: true}
    columns: {order_id: OrderNo, order_ts: PlacedAt}
`), "/", []config.Section{night.InputSection, validateconfig.Section})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	schema := func(ts, amount bigquery.FieldType) bigquery.Schema {
		return bigquery.Schema{
			{Name: "OrderNo", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.IntegerFieldType},
			{Name: "PlacedAt", Type: ts}, {Name: "amount", Type: amount},
		}
	}
	tests := []struct {
		name       string
		ts, amount bigquery.FieldType
		ok         bool
	}{
		{"timestamp and numeric", bigquery.TimestampFieldType, bigquery.NumericFieldType, true},
		{"date and float", bigquery.DateFieldType, bigquery.FloatFieldType, true},
		{"string timestamps", bigquery.StringFieldType, bigquery.NumericFieldType, false},
		{"string amounts", bigquery.TimestampFieldType, bigquery.StringFieldType, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanPushdown(rc, schema(tt.ts, tt.amount), nil)
			if !tt.ok {
				if !errors.Is(err, ErrPushdown) {
					t.Fatalf("err = %v, want ErrPushdown", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []Query{p.Counts, p.Raw, p.Cells} {
				// BigQuery rejects unused parameters, so each query carries
				// only the ones it names.
				for _, par := range q.Params {
					if !strings.Contains(q.SQL, "@"+par.Name) {
						t.Errorf("parameter %s not used in %s", par.Name, q.SQL)
					}
				}
				// The grid's days are DATE literals by design (`retain
				// plan` shows the night's cuts); nothing else is.
				sql := gridDate.ReplaceAllString(q.SQL, "DATE")
				if strings.Contains(sql, "2026") || strings.Contains(sql, "1990") || strings.Contains(sql, "completed") || strings.Contains(sql, "refunded") {
					t.Errorf("a value is spliced into the SQL: %s", q.SQL)
				}
			}
			if tt.ts == bigquery.DateFieldType && !strings.Contains(p.Cells.SQL, "TIMESTAMP(`order_ts`, @tz)") {
				t.Errorf("DATE order_ts not read in the job's zone: %s", p.Cells.SQL)
			}
			if tt.amount == bigquery.FloatFieldType && !strings.Contains(p.Raw.SQL, "IS_NAN(`amount`)") {
				t.Errorf("non-finite amounts not sent to validate: %s", p.Raw.SQL)
			}
			// Revenue as the shared rules' three exact parts, the latest
			// order by time, then the greatest country and channel.
			a := "CAST(`amount` AS FLOAT64)"
			for _, want := range []string{
				"SUM(CAST(FLOOR({a}) AS INT64)) AS revenue_units",
				"SUM(CAST(FLOOR(({a} - FLOOR({a})) * 2147483648) AS INT64)) AS revenue_frac_hi",
				"SUM(CAST(FLOOR((({a} - FLOOR({a})) * 2147483648 - FLOOR(({a} - FLOOR({a})) * 2147483648)) * 2147483648) AS INT64)) AS revenue_frac_lo",
				"ORDER BY {ts} DESC, CAST(NULL AS STRING) DESC, CAST(NULL AS STRING) DESC LIMIT 1)",
			} {
				ts := "`order_ts`"
				if tt.ts != bigquery.TimestampFieldType {
					ts = "TIMESTAMP(`order_ts`, @tz)"
				}
				want = strings.NewReplacer("{a}", a, "{ts}", ts).Replace(want)
				if !strings.Contains(p.Cells.SQL, want) {
					t.Errorf("cells query lacks %q: %s", want, p.Cells.SQL)
				}
			}
			// validate's range checks hold in SQL too; ids compare
			// trimmed; R1 settles an id's rows, the instant first, and
			// losers and folded orders a refund names come back flagged.
			r1 := "ROW_NUMBER() OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING)), _bad ORDER BY `order_ts`, TRIM(CAST(`customer_id` AS STRING)), CAST(`amount` AS FLOAT64), "
			if tt.ts != bigquery.TimestampFieldType {
				r1 = strings.Replace(r1, "ORDER BY `order_ts`", "ORDER BY TIMESTAMP(`order_ts`, @tz)", 1)
			}
			if tt.amount == bigquery.FloatFieldType {
				r1 += "IEEE_DIVIDE(1, `amount`), " // -0 before 0
			}
			for _, want := range []string{"< @min_order_ts", "> @max_amount", r1,
				"LOGICAL_OR(`amount` < 0) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING)))",
				"_lost AS `_lost_duplicate`, _ledger AS `_folded_order` FROM routed WHERE _raw OR _ledger"} {
				if !strings.Contains(p.Raw.SQL, want) {
					t.Errorf("raw rows query lacks %q: %s", want, p.Raw.SQL)
				}
			}
			if !strings.Contains(p.Cells.SQL, "TRIM(CAST(`customer_id` AS STRING)) AS _cid") {
				t.Errorf("cells not per trimmed customer: %s", p.Cells.SQL)
			}
			if !strings.Contains(p.Counts.SQL, "COUNTIF(NOT _raw AND NOT _ledger AND CAST(`order_id` AS STRING) != TRIM(CAST(`order_id` AS STRING))) AS trimmed_order_id") {
				t.Errorf("counts lack the trimmed order ids: %s", p.Counts.SQL)
			}
			if strings.Contains(p.Raw.SQL, "PARTITION BY TRIM(CAST(`customer_id` AS STRING))") {
				t.Errorf("rows routed per customer: %s", p.Raw.SQL)
			}
		})
	}
}

// TestPlanPushdownRefunds: with a status column, orders of a refund status
// are used (folded) and come back flagged for validate to file their
// refund, through a parameter; with refunds off (refund_statuses empty)
// nothing routes for refunds, and a negative amount is only a bad row.
func TestPlanPushdownRefunds(t *testing.T) {
	schema := bigquery.Schema{
		{Name: "order_id", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.StringFieldType},
		{Name: "order_ts", Type: bigquery.TimestampFieldType}, {Name: "amount", Type: bigquery.NumericFieldType},
		{Name: "status", Type: bigquery.StringFieldType},
	}
	tests := []struct {
		name, validate string
		refunds        bool
	}{
		{"default", "", true},
		{"off", "validate: {refund_statuses: []}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := config.Decode([]byte("name: n\ninput:\n  orders:\n    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: true}\n"+tt.validate),
				"/", []config.Section{night.InputSection, validateconfig.Section})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			p, err := PlanPushdown(rc, schema, nil)
			if err != nil {
				t.Fatal(err)
			}
			var refund []string
			for _, par := range p.Raw.Params {
				if par.Name == "refund" {
					refund = par.Value.([]string)
				}
			}
			if got := strings.Contains(p.Raw.SQL, "IN UNNEST(@refund)"); got != tt.refunds {
				t.Errorf("refund statuses routed: %v, want %v: %s", got, tt.refunds, p.Raw.SQL)
			}
			if got := strings.Contains(p.Cells.SQL, "OR LOWER(TRIM(`status`)) IN UNNEST(@refund))"); got != tt.refunds {
				t.Errorf("refund statuses folded as used: %v, want %v: %s", got, tt.refunds, p.Cells.SQL)
			}
			if tt.refunds && (len(refund) != 2 || refund[0] != "refunded" || refund[1] != "returned") {
				t.Errorf("@refund = %v, want [refunded returned]", refund)
			}
			if got := strings.Contains(p.Raw.SQL, "LOGICAL_OR(`amount` < 0)"); got != tt.refunds {
				t.Errorf("orders named by a negative amount routed: %v, want %v", got, tt.refunds)
			}
		})
	}
}

// TestPlanPushdownCurrency: rows in a currency other than the reporting one
// go to validate, which quarantines them as unknown_currency; without a
// reporting currency only a full read could tell a night of several
// currencies, so pushdown refuses the table.
func TestPlanPushdownCurrency(t *testing.T) {
	schema := bigquery.Schema{
		{Name: "order_id", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.StringFieldType},
		{Name: "order_ts", Type: bigquery.TimestampFieldType}, {Name: "amount", Type: bigquery.NumericFieldType},
		{Name: "currency", Type: bigquery.StringFieldType},
	}
	tests := []struct {
		name, input string
		want        string // @reporting_currency; "" for a refused table
	}{
		{"reporting currency", "  reporting_currency: eur\n", "EUR"},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := config.Decode([]byte("name: n\ninput:\n  orders:\n    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: true}\n"+tt.input),
				"/", []config.Section{night.InputSection, validateconfig.Section})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			p, err := PlanPushdown(rc, schema, nil)
			if tt.want == "" {
				if !errors.Is(err, ErrPushdown) {
					t.Fatalf("err = %v, want ErrPushdown", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []Query{p.Counts, p.Raw, p.Cells} {
				var got any
				for _, par := range q.Params {
					if par.Name == "reporting_currency" {
						got = par.Value
					}
				}
				if got != tt.want || !strings.Contains(q.SQL, "`currency` IS NOT NULL AND UPPER(TRIM(`currency`)) != @reporting_currency") {
					t.Errorf("@reporting_currency = %v, want %s, in %s", got, tt.want, q.SQL)
				}
			}
		})
	}
}

func TestNamesParam(t *testing.T) {
	for _, tt := range []struct {
		sql, name string
		want      bool
	}{
		{"SELECT @fx_rate", "fx_rate", true},
		{"SELECT @fx_rate_date", "fx_rate", false},
		{"SELECT @fx_rate_date, @fx_rate)", "fx_rate", true},
		{"WHERE d < @fx_rate2", "fx_rate", false},
		{"WHERE d < @fx_rate AND", "fx_rate", true},
		{"SELECT 1", "fx_rate", false},
	} {
		if got := namesParam(tt.sql, tt.name); got != tt.want {
			t.Errorf("namesParam(%q, %q) = %v", tt.sql, tt.name, got)
		}
	}
}
