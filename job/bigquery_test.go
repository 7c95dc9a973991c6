package job

import (
	"errors"
	"strings"
	"testing"

	"retain/warehouse/bqident"
)

const bqJob = `
name: n
input:
  orders:
    bigquery: {project: my-shop-prod, dataset: sales, table: orders, location: EU, credentials_file: key.json}
    columns: {order_id: OrderNo, order_ts: PlacedAt}
sink: {kind: bigquery, project: my-shop-prod, dataset: retain, table_prefix: retain_}
`

func TestParseBigQuery(t *testing.T) {
	j, err := Parse([]byte(bqJob), "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	src := j.Input.Orders.BigQuery
	if src == nil || src.Ref().String() != "my-shop-prod.sales.orders" || src.Location != "EU" || src.CredentialsFile != "/jobs/key.json" {
		t.Fatalf("source = %+v", src)
	}
	if j.Sink == nil || j.Sink.Ref("customer_segments").String() != "my-shop-prod.retain.retain_customer_segments" || j.Sink.CredentialsFile != "" {
		t.Fatalf("sink = %+v", j.Sink)
	}
	j.OverrideInput(t.TempDir())
	if j.Input.Orders.BigQuery != nil {
		t.Fatal("--input must switch orders to local files")
	}
}

// TestParseBigQueryHostile checks that names that could leave a quoted
// identifier, and other malformed names, fail when the job file loads.
func TestParseBigQueryHostile(t *testing.T) {
	tests := []struct {
		name, from, to string
		ident          bool
	}{
		{"table backtick", "table: orders,", "table: 'orders` WHERE TRUE; DROP TABLE x --',", true},
		{"dataset dot", "dataset: sales,", "dataset: sales.other,", true},
		{"project quote", "{project: my-shop-prod, dataset: sales", "{project: \"my-shop'prod\", dataset: sales", true},
		{"column injection", "OrderNo,", "'OrderNo`, (SELECT 1) AS `x',", true},
		{"column reserved", "OrderNo,", "_PARTITIONTIME,", true},
		{"location", "location: EU,", "location: 'EU; --',", true},
		{"sink dataset", "dataset: retain,", "dataset: 're`tain',", true},
		{"sink prefix", "table_prefix: retain_}", "table_prefix: 'r`'}", true},
		{"sink kind", "kind: bigquery,", "kind: snowflake,", false},
		{"path and bigquery", "columns:", "path: o.csv\n    columns:", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(bqJob, tt.from, tt.to, 1)
			if src == bqJob {
				t.Fatalf("%q not in the job", tt.from)
			}
			_, err := Parse([]byte(src), "/")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("accepted: %v", err)
			}
			if tt.ident && !errors.Is(err, bqident.ErrInvalid) {
				t.Fatalf("not an identifier error: %v", err)
			}
		})
	}
}

func TestParsePushdownNeeds(t *testing.T) {
	base := strings.Replace(bqJob, "location: EU,", "location: EU, pushdown: true,", 1)
	if _, err := Parse([]byte(base), "/"); err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{
		"  fx_rates: {path: fx.csv}\n  reporting_currency: EUR\n",
		"  order_items: {path: items.csv}\n",
	} {
		src := strings.Replace(base, "input:\n", "input:\n"+extra, 1)
		if _, err := Parse([]byte(src), "/"); !errors.Is(err, ErrInvalid) {
			t.Errorf("pushdown with %q accepted: %v", extra, err)
		}
	}
}
