package night

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"retain/config"
	"retain/warehouse/bqident"
)

// decode reads a job file that holds only the night's own sections, so
// these tests depend on no stage's rules.
func decode(raw, dir string) (*config.File, error) {
	return config.Decode([]byte(raw), dir, []config.Section{InputSection, OutputSection})
}

// TestInputDefaults: relative paths resolve against the job file's folder,
// unmapped columns keep their canonical names, and a source gets the CSV
// defaults.
func TestInputDefaults(t *testing.T) {
	f, err := decode("name: n\ninput: {orders: {path: o.csv}}\n", "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	in := InputOf(f)
	want := Input{Orders: Source{Path: "/jobs/o.csv", CSV: CSVOptions{NullValues: []string{"", "NULL"}, MaxMalformedShare: 0.01}}}
	if !reflect.DeepEqual(*in, want) {
		t.Errorf("input = %+v, want %+v", *in, want)
	}
	if got := in.Orders.SourceColumn("amount"); got != "amount" {
		t.Errorf("unmapped column = %s, want amount", got)
	}
	if got := OutputSection.Of(f).RowGroupRows; got != 256*1024 {
		t.Errorf("output.row_group_rows = %d, want 262144", got)
	}
}

// TestOptionalSources: an optional source the file names gets the CSV
// defaults of orders, and its own options when it sets them.
func TestOptionalSources(t *testing.T) {
	f, err := decode(`
name: n
input:
  orders: {path: o.csv, columns: {order_id: OrderNo}}
  order_items: {path: /data/items.csv, csv: {delimiter: ";"}}
  fx_rates: {path: fx.csv}
  reporting_currency: EUR
`, "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	in := InputOf(f)
	if got := in.Orders.SourceColumn("order_id"); got != "OrderNo" {
		t.Errorf("mapped column = %s, want OrderNo", got)
	}
	items := Source{Path: "/data/items.csv", CSV: CSVOptions{Delimiter: ";", NullValues: []string{"", "NULL"}, MaxMalformedShare: 0.01}}
	if in.OrderItems == nil || !reflect.DeepEqual(*in.OrderItems, items) {
		t.Errorf("order_items = %+v, want %+v", in.OrderItems, items)
	}
	fx := Source{Path: "/jobs/fx.csv", CSV: CSVOptions{NullValues: []string{"", "NULL"}, MaxMalformedShare: 0.01}}
	if in.FXRates == nil || !reflect.DeepEqual(*in.FXRates, fx) {
		t.Errorf("fx_rates = %+v, want %+v", in.FXRates, fx)
	}
}

func TestInputErrors(t *testing.T) {
	const base = "name: n\ninput: {orders: {path: o}}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"no orders path", "name: n\n", "input.orders.path is required"},
		{"bad format", "name: n\ninput: {orders: {path: o, format: xlsx}}\n", `input.orders.format "xlsx": want "", parquet or csv`},
		{"unknown canonical column", "name: n\ninput: {orders: {path: o, columns: {order_total: t}}}\n", `input.orders.columns: "order_total" is not a column of orders`},
		{"long delimiter", "name: n\ninput: {orders: {path: o, csv: {delimiter: ';;'}}}\n", `input.orders.csv.delimiter ";;" must be one character`},
		{"items without a path", "name: n\ninput: {orders: {path: o}, order_items: {format: csv}}\n", "input.order_items.path is required"},
		{"fx rates without a currency", "name: n\ninput: {orders: {path: o}, fx_rates: {path: r}}\n", "input.reporting_currency must be a 3-letter currency code when fx_rates is set"},
		{"long currency", "name: n\ninput: {orders: {path: o}, reporting_currency: EURO}\n", `input.reporting_currency "EURO": want a 3-letter currency code`},
		{"unknown currency", "name: n\ninput: {orders: {path: o}, reporting_currency: EUX}\n", `input.reporting_currency "EUX" is not an ISO 4217 currency code`},
		{"items pushed down", "name: n\ninput: {orders: {path: o}, order_items: {bigquery: {project: my-shop-prod, dataset: d, table: t, pushdown: true}}}\n", "input.order_items.bigquery.pushdown: only input.orders can be pushed down"},
		{"fx rates pushed down", "name: n\ninput: {orders: {path: o}, fx_rates: {bigquery: {project: my-shop-prod, dataset: d, table: t, pushdown: true}}, reporting_currency: EUR}\n", "input.fx_rates.bigquery.pushdown: only input.orders can be pushed down"},
		{"items column injection", "name: n\ninput: {orders: {path: o}, order_items: {bigquery: {project: my-shop-prod, dataset: d, table: t}, columns: {sku: 'a` b'}}}\n", "input.order_items.columns.sku"},
		{"fx rates bad table", "name: n\ninput: {orders: {path: o}, fx_rates: {bigquery: {project: my-shop-prod, dataset: d, table: 'x`y'}}, reporting_currency: EUR}\n", "input.fx_rates.bigquery"},
		{"tiny row groups", base + "output: {row_group_rows: 10}\n", "output.row_group_rows: 10 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.yaml, "/")
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestMaxMalformedShare(t *testing.T) {
	tests := []struct {
		name, csv string
		want      float64
		err       string
	}{
		{"default", "", 0.01, ""},
		{"none allowed", "csv: {max_malformed_share: 0}", 0, ""},
		{"all allowed", "csv: {max_malformed_share: 1}", 1, ""},
		{"negative", "csv: {max_malformed_share: -0.1}", 0, "input.orders.csv.max_malformed_share: -0.1 is out of range"},
		{"a percentage", "csv: {max_malformed_share: 5}", 0, "want a number in [0, 1]"},
		{"not a number", "csv: {max_malformed_share: .nan}", 0, "max_malformed_share: NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode("name: n\ninput: {orders: {path: o.csv, "+tt.csv+"}}\n", "/")
			if tt.err != "" {
				if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := InputOf(f).Orders.CSV.MaxMalformedShare; got != tt.want {
				t.Errorf("max_malformed_share = %g, want %g", got, tt.want)
			}
		})
	}
}

const bqInput = `
name: n
input:
  orders:
    bigquery: {project: my-shop-prod, dataset: sales, table: orders, location: EU, credentials_file: key.json}
    columns: {order_id: OrderNo, order_ts: PlacedAt}
`

func TestBigQuerySource(t *testing.T) {
	f, err := decode(bqInput, "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	src := InputOf(f).Orders.BigQuery
	if src == nil || src.Ref().String() != "my-shop-prod.sales.orders" || src.Location != "EU" || src.CredentialsFile != "/jobs/key.json" {
		t.Fatalf("source = %+v", src)
	}
	dir := t.TempDir()
	if err := OverrideInput(f, dir); err != nil {
		t.Fatal(err)
	}
	in := InputOf(f)
	if in.Orders.BigQuery != nil {
		t.Fatal("--input must switch orders to local files")
	}
	if want := filepath.Join(dir, "orders.*"); in.Orders.Path != want {
		t.Errorf("orders path = %s, want %s", in.Orders.Path, want)
	}
	if got := in.Orders.SourceColumn("order_id"); got != "OrderNo" {
		t.Errorf("--input dropped the column mapping: order_id = %s", got)
	}
}

// TestBigQuerySideInputs: order items and FX rates may be BigQuery tables
// too, and --input switches them to files with the orders.
func TestBigQuerySideInputs(t *testing.T) {
	src := bqInput + `  order_items:
    bigquery: {project: my-shop-prod, dataset: sales, table: order_lines}
    columns: {order_id: OrderNo, sku: Article}
  fx_rates:
    bigquery: {project: my-shop-prod, dataset: finance, table: rates}
  reporting_currency: EUR
`
	f, err := decode(src, "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	in := InputOf(f)
	if in.OrderItems.BigQuery.Ref().String() != "my-shop-prod.sales.order_lines" || in.FXRates.BigQuery.Ref().String() != "my-shop-prod.finance.rates" {
		t.Fatalf("items %+v, rates %+v", in.OrderItems.BigQuery, in.FXRates.BigQuery)
	}
	dir := t.TempDir()
	if err := OverrideInput(f, dir); err != nil {
		t.Fatal(err)
	}
	in = InputOf(f)
	if in.OrderItems.BigQuery != nil || in.FXRates.BigQuery != nil {
		t.Fatal("--input must switch every input to local files")
	}
	if want := filepath.Join(dir, "fx_rates.*"); in.FXRates.Path != want {
		t.Errorf("fx_rates path = %s, want %s", in.FXRates.Path, want)
	}
	if got := in.OrderItems.SourceColumn("sku"); got != "Article" {
		t.Errorf("--input dropped the column mapping: sku = %s", got)
	}
}

// TestBigQuerySourceHostile checks that names that could leave a quoted
// identifier, and other malformed names, fail when the job file loads.
func TestBigQuerySourceHostile(t *testing.T) {
	tests := []struct {
		name, from, to string
		// ident marks a name bqident rejects; want is what another
		// error says.
		ident bool
		want  string
	}{
		{"table backtick", "table: orders,", "table: 'orders` WHERE TRUE; DROP TABLE x --',", true, "input.orders.bigquery"},
		{"dataset dot", "dataset: sales,", "dataset: sales.other,", true, "input.orders.bigquery"},
		{"project quote", "{project: my-shop-prod, dataset: sales", "{project: \"my-shop'prod\", dataset: sales", true, "input.orders.bigquery.project"},
		{"column injection", "OrderNo,", "'OrderNo`, (SELECT 1) AS `x',", true, "input.orders.columns.order_id"},
		{"column reserved", "OrderNo,", "_PARTITIONTIME,", true, "input.orders.columns.order_id"},
		{"location", "location: EU,", "location: 'EU; --',", true, "input.orders.bigquery.location"},
		{"path and bigquery", "columns:", "path: o.csv\n    columns:", false, "input.orders: path/format and bigquery are exclusive"},
		{"format and bigquery", "columns:", "format: csv\n    columns:", false, "input.orders: path/format and bigquery are exclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(bqInput, tt.from, tt.to, 1)
			if src == bqInput {
				t.Fatalf("%q not in the job", tt.from)
			}
			_, err := decode(src, "/")
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("accepted: %v", err)
			}
			if tt.ident && !errors.Is(err, bqident.ErrInvalid) {
				t.Fatalf("not an identifier error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestPushdownNeeds: pushdown folds orders in BigQuery, which cannot
// convert currencies with rates from files, join items from files or parse
// a custom timestamp layout; rates and items from BigQuery tables it joins.
func TestPushdownNeeds(t *testing.T) {
	base := strings.Replace(bqInput, "location: EU,", "location: EU, pushdown: true,", 1)
	if _, err := decode(base, "/"); err != nil {
		t.Fatal(err)
	}
	fxTable := strings.Replace(base, "input:\n", "input:\n  fx_rates: {bigquery: {project: my-shop-prod, dataset: fin, table: rates}}\n  reporting_currency: EUR\n", 1)
	if _, err := decode(fxTable, "/"); err != nil {
		t.Errorf("pushdown with FX rates from BigQuery: %v", err)
	}
	fxFiles := strings.Replace(base, "input:\n", "input:\n  fx_rates: {path: fx.csv}\n  reporting_currency: EUR\n", 1)
	if _, err := decode(fxFiles, "/"); err != nil {
		t.Errorf("pushdown with FX rates from files: %v", err)
	}
	itemsTable := strings.Replace(base, "input:\n", "input:\n  order_items: {bigquery: {project: my-shop-prod, dataset: sales, table: lines}}\n", 1)
	if _, err := decode(itemsTable, "/"); err != nil {
		t.Errorf("pushdown with order items from BigQuery: %v", err)
	}
	for _, tt := range []struct{ name, from, to string }{
		{"order items", "input:\n", "input:\n  order_items: {path: items.csv}\n"},
		{"timestamp format", "columns:", "timestamp_format: '02.01.2006'\n    columns:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(base, tt.from, tt.to, 1)
			_, err := decode(src, "/")
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "pushdown works without timestamp_format, and with order_items only from a BigQuery table") {
				t.Errorf("pushdown with %s: err = %v", tt.name, err)
			}
		})
	}
}
