package emulatortest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/rs/zerolog"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"retain/jobfile"
	"retain/night"
	"retain/pipeline"
	"retain/stages"
	"retain/stages/bqsource"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

// TestBigQueryInputsEqualFiles runs a shop whose orders, order items and FX
// rates are BigQuery tables, and the same rows as CSV files, and checks
// every table is the same file, product_affinity and the converted money
// columns included, and the row accounting of orders and items agrees.
//
// The CSV items are sorted by order, as an export usually is; the table's
// rows were inserted shuffled and come back in small batches over four
// streams, and affinity.open_orders is 1, so an order's items only form one
// basket when the reader brings them together. The FX table lists every
// rate twice, in shuffled order, as a file may not. Orders are in EUR, USD
// (some written " usd") and GBP; some are cancelled, so their items are
// excluded as order_not_used; a few items name no order that exists. Then
// once more with pushdown, every table again the same.
func TestBigQueryInputsEqualFiles(t *testing.T) {
	c, url := startURL(t)
	orders, items, rates := sideShop()
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, State STRING)")
	exec(t, c, "CREATE TABLE `shop-analytics.sales.order_lines` (OrderNo STRING, Article STRING, Qty INT64)")
	exec(t, c, "CREATE TABLE `shop-analytics.finance.rates` (day DATE, currency STRING, rate FLOAT64)")
	rng := rand.New(rand.NewPCG(7, 11))
	insert := func(table, cols string, rows [][]string, lit func([]string) string) {
		shuffled := append([][]string(nil), rows...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		vals := make([]string, len(shuffled))
		for i, r := range shuffled {
			vals[i] = lit(r)
		}
		exec(t, c, "INSERT INTO `shop-analytics."+table+"` ("+cols+") VALUES "+strings.Join(vals, ",\n"))
	}
	insert("sales.orders", "OrderNo, Client, PlacedAt, Total, Cur, State", orders, func(r []string) string {
		return fmt.Sprintf("('%s', %s, TIMESTAMP '%s', %s, '%s', '%s')", r[0], r[1], r[2], r[3], r[4], r[5])
	})
	insert("sales.order_lines", "OrderNo, Article, Qty", items, func(r []string) string {
		return fmt.Sprintf("('%s', '%s', %s)", r[0], r[1], r[2])
	})
	insert("finance.rates", "day, currency, rate", append(rates, rates...), func(r []string) string {
		return fmt.Sprintf("(DATE '%s', '%s', %s)", r[0], r[1], r[2])
	})

	dir := t.TempDir()
	writeCSV(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount,currency,status", orders)
	writeCSV(t, filepath.Join(dir, "order_items.csv"), "order_id,sku,quantity", items)
	writeCSV(t, filepath.Join(dir, "fx_rates.csv"), "date,currency,rate_to_reporting", rates)

	fake := bqfake.New()
	storage := bqfake.NewStorage()
	storage.Streams = 4
	svc, err := bq.NewService(context.Background(), option.WithEndpoint(url), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	// The side inputs are read while the orders are, each by a client of
	// its own.
	var mu sync.Mutex
	results := 0
	fake.Query = func(sql string, params []*bq.QueryParameter) (*bq.TableReference, error) {
		useLegacy := false
		res, err := svc.Jobs.Query(project, &bq.QueryRequest{Query: sql, QueryParameters: params, UseLegacySql: &useLegacy, ParameterMode: "NAMED",
			FormatOptions: &bq.DataFormatOptions{UseInt64Timestamp: true}}).Do()
		if err != nil {
			return nil, fmt.Errorf("emulator: %w\n%s", err, sql)
		}
		mu.Lock()
		results++
		name := fmt.Sprintf("result%d", results)
		mu.Unlock()
		sc, rec, err := toArrow(res)
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		var batches []arrow.Record
		for at := int64(0); at < rec.NumRows(); at += resultBatchRows {
			b := rec.NewSlice(at, min(at+resultBatchRows, rec.NumRows()))
			defer b.Release()
			batches = append(batches, b)
		}
		if err := storage.Serve(project, "_anon", name, sc, batches...); err != nil {
			return nil, err
		}
		return fake.ArrowTable(project, "_anon", name, sc), nil
	}
	for _, tbl := range []string{"sales.orders", "sales.order_lines", "finance.rates"} {
		ds, name, _ := strings.Cut(tbl, ".")
		md, err := c.Dataset(ds).Table(name).Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fields := make([]*bq.TableFieldSchema, len(md.Schema))
		for i, f := range md.Schema {
			fields[i] = &bq.TableFieldSchema{Name: f.Name, Type: string(f.Type), Mode: "NULLABLE"}
		}
		fake.Tables[project+"."+tbl] = &bq.Table{Schema: &bq.TableSchema{Fields: fields}}
	}
	srv := fake.Start()
	defer srv.Close()
	addr, stop, err := storage.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Each client dials its own connection, since closing a client closes
	// a connection it was handed.
	opts := stages.Options{BigQuery: bqclient.Options{
		REST: []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication()},
		Storage: []option.ClientOption{option.WithEndpoint(addr), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
			option.WithGRPCDialOption(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1 << 28)))},
	}}

	fromBQ, fromFiles := t.TempDir(), t.TempDir()
	sumBQ := runPipeline(t, sideJobYAML(""), fromBQ, opts)
	if len(fake.Queries) != 3 {
		t.Fatalf("the run sent %d queries, want 3 (orders, order items, FX rates)", len(fake.Queries))
	}
	sumFiles := runPipeline(t, sideJobYAML(dir), fromFiles, stages.Options{})
	// No order is quarantined, so every USD and GBP order found its rate.
	if sumBQ.Rows != sumFiles.Rows || sumBQ.Rows.Used == 0 || sumBQ.Rows.Excluded == 0 || sumBQ.Rows.Quarantined != 0 {
		t.Errorf("rows: BigQuery %+v, files %+v", sumBQ.Rows, sumFiles.Rows)
	}
	mBQ, mFiles := manifest(t, fromBQ), manifest(t, fromFiles)
	if !reflect.DeepEqual(mBQ.ItemRows, mFiles.ItemRows) || mBQ.ItemRows == nil || mBQ.ItemRows.Used == 0 ||
		mBQ.ItemRows.Excluded["order_not_used"] == 0 || mBQ.ItemRows.Excluded["order_items_not_adjacent"] != 0 {
		t.Errorf("item accounting: BigQuery %+v, files %+v", mBQ.ItemRows, mFiles.ItemRows)
	}
	var names []string
	for _, q := range mBQ.Queries {
		names = append(names, q.Name)
	}
	if strings.Join(names, " ") != "orders fx_rates order_items" && strings.Join(names, " ") != "fx_rates orders order_items" {
		t.Errorf("manifest queries %v", names)
	}
	want, got := tableFiles(t, fromFiles), tableFiles(t, fromBQ)
	if len(want) < 9 || len(got) != len(want) {
		t.Fatalf("%d tables from BigQuery, %d from files", len(got), len(want))
	}
	for p, raw := range want {
		if !bytes.Equal(got[p], raw) {
			t.Errorf("%s differs when read from BigQuery", p)
		}
	}
	if n := sumBQ.Tables["product_affinity"]; n == 0 {
		t.Errorf("product_affinity has no rows: %v", sumBQ.Tables)
	}
	t.Logf("rows %+v; items %+v", sumBQ.Rows, mBQ.ItemRows)

	// With pushdown the orders fold, the rates convert and the products
	// pair in SQL: the same tables, and almost no item row comes back.
	pushed := t.TempDir()
	before := len(fake.Queries)
	sumPushed := runPipeline(t, strings.Replace(sideJobYAML(""), "table: orders}", "table: orders, pushdown: true}", 1), pushed, opts)
	if sumPushed.Rows != sumFiles.Rows {
		t.Errorf("rows: pushdown %+v, files %+v", sumPushed.Rows, sumFiles.Rows)
	}
	mPushed := manifest(t, pushed)
	if !reflect.DeepEqual(mPushed.ItemRows, mFiles.ItemRows) {
		t.Errorf("item accounting: pushdown %+v, files %+v", mPushed.ItemRows, mFiles.ItemRows)
	}
	returned := map[string]int64{}
	for _, q := range mPushed.Queries {
		returned[q.Name] = q.Rows
	}
	if len(fake.Queries)-before != 9 || returned["raw_items"] != 0 || returned["item_counts"] != 1 {
		t.Errorf("pushdown sent %d queries, rows returned %v", len(fake.Queries)-before, returned)
	}
	for p, raw := range tableFiles(t, pushed) {
		if !bytes.Equal(want[p], raw) {
			t.Errorf("%s differs with pushdown", p)
		}
	}
	t.Logf("pushdown rows returned %v for %d item rows", returned, len(items))
}

// sideJobYAML reads the shop from BigQuery, or with dir from its CSV files.
func sideJobYAML(dir string) string {
	in := `
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, currency: Cur, status: State}
  order_items:
    bigquery: {project: shop-analytics, dataset: sales, table: order_lines}
    columns: {order_id: OrderNo, sku: Article, quantity: Qty}
  fx_rates:
    bigquery: {project: shop-analytics, dataset: finance, table: rates}
    columns: {date: day, rate_to_reporting: rate}`
	if dir != "" {
		in = fmt.Sprintf(`
  orders: {path: %q}
  order_items: {path: %q}
  fx_rates: {path: %q}`, filepath.Join(dir, "orders.csv"), filepath.Join(dir, "order_items.csv"), filepath.Join(dir, "fx_rates.csv"))
	}
	return `
name: emu
timezone: Europe/Berlin
input:` + in + `
  reporting_currency: EUR
validate: {counted_statuses: [completed]}
affinity: {open_orders: 1, min_pair_orders: 2, top_k: 3}
clv: {min_customers: 20}
`
}

// sideShop is the shop's orders (id, customer, time, amount, currency,
// status), items sorted by order (order id, sku, quantity) and FX rates
// (date, currency, rate): none of them is quarantined, none is after the
// run date, every foreign order has a rate on or before its day.
func sideShop() (orders, items, rates [][]string) {
	rng := rand.New(rand.NewPCG(5, 9))
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for d := -7; d < 310; d += 7 {
		day := start.AddDate(0, 0, d).Format(time.DateOnly)
		rates = append(rates,
			[]string{day, "USD", fmt.Sprintf("0.%d", 85+rng.IntN(10))},
			[]string{day, "GBP", fmt.Sprintf("1.1%d", rng.IntN(10))})
	}
	skus := []string{"mug", "tea", "pot", "cup", "spoon", "tin", "sugar", "filter"}
	for i := range 400 {
		id := fmt.Sprintf("o%04d", i)
		ts := start.Add(time.Duration(rng.IntN(300*24*60)) * time.Minute).Format("2006-01-02 15:04:05")
		cur := []string{"EUR", "EUR", "USD", " usd", "GBP"}[rng.IntN(5)]
		state := []string{"completed", "completed", "completed", "cancelled"}[rng.IntN(4)]
		orders = append(orders, []string{id, fmt.Sprint(1 + rng.IntN(90)), ts, fmt.Sprintf("%d.%02d", 1+rng.IntN(200), rng.IntN(100)), cur, state})
		for _, k := range rng.Perm(len(skus))[:1+rng.IntN(4)] {
			items = append(items, []string{id, skus[k], fmt.Sprint(1 + rng.IntN(3))})
		}
		if i%97 == 0 {
			items = append(items, []string{fmt.Sprintf("x%04d", i), "mug", "1"}) // no such order
		}
	}
	return orders, items, rates
}

func writeCSV(t *testing.T, path, header string, rows [][]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, r := range rows {
		ts := r
		if len(r) == 6 {
			// order_ts as the CSV export writes a TIMESTAMP.
			ts = append([]string(nil), r...)
			ts[2] += "+00:00"
		}
		b.WriteString(strings.Join(ts, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func manifest(t *testing.T, root string) pipeline.Manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(root, "2026-03-31"), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPlanDryRunsSideInputs plans the reads of orders, order items and FX
// rates from the tables' schemas and dry-runs each query on the emulator,
// which parses and executes it, so SQL BigQuery rejects fails here; then
// the same with pushdown, which pairs the items' products in SQL.
func TestPlanDryRunsSideInputs(t *testing.T) {
	c, url := startURL(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, State STRING)")
	exec(t, c, "CREATE TABLE `shop-analytics.sales.order_lines` (OrderNo STRING, Article STRING, Qty INT64)")
	exec(t, c, "CREATE TABLE `shop-analytics.finance.rates` (day DATE, currency STRING, rate FLOAT64)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.order_lines` (OrderNo, Article, Qty) VALUES ('o1', 'mug', 1), ('o1', 'tea', 2)")
	exec(t, c, "INSERT INTO `shop-analytics.finance.rates` (day, currency, rate) VALUES (DATE '2026-01-01', 'USD', 0.9)")
	j, err := jobfile.Parse([]byte(sideJobYAML("")), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "plan", "2026-03-31", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p, err := bqsource.PlanOnline(context.Background(), rc, bqclient.Options{REST: []option.ClientOption{option.WithEndpoint(url), option.WithoutAuthentication()}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, q := range p.Queries {
		names = append(names, q.Name+" "+q.Table)
	}
	want := "orders shop-analytics.sales.orders, order_items shop-analytics.sales.order_lines, fx_rates shop-analytics.finance.rates"
	if strings.Join(names, ", ") != want || len(p.Estimates) != 3 {
		t.Fatalf("queries %v with estimates %v, want %s", names, p.Estimates, want)
	}
	// The emulator reports result bytes: none for the empty orders table.
	if p.Estimates[0] != 0 || p.Estimates[1] <= 0 || p.Estimates[2] <= 0 {
		t.Errorf("estimates %v", p.Estimates)
	}

	// With pushdown: the orders', then the items' four, then the rates'.
	j, err = jobfile.Parse([]byte(strings.Replace(sideJobYAML(""), "table: orders}", "table: orders, pushdown: true}", 1)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rc, err = night.New(j, "plan", "2026-03-31", nil, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	p, err = bqsource.PlanOnline(context.Background(), rc, bqclient.Options{REST: []option.ClientOption{option.WithEndpoint(url), option.WithoutAuthentication()}})
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, q := range p.Queries {
		names = append(names, q.Name)
	}
	want = "fx_conflicts counts raw_orders order_cells item_counts raw_items item_products item_pairs fx_rates"
	if strings.Join(names, " ") != want || len(p.Estimates) != 9 {
		t.Errorf("pushdown queries %v with estimates %v, want %s", names, p.Estimates, want)
	}
}
