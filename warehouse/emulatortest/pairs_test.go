package emulatortest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"retain/stages"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

// TestPushdownPairsEqualPlainRead runs the job on one orders table and one
// items table twice, with and without pushdown, and checks every table
// (product_affinity and quarantine included) is the same file and the item
// accounting the same. The orders are the pushdown test shop's, whose
// duplicates, padded ids, refunds and rejected rows send many orders to
// validate, so their items come back raw while the other orders' products
// are paired in SQL; the items hold rows without an order id or SKU,
// padded ids and SKUs, a SKU twice in one order, items of unknown,
// cancelled, quarantined and after-run-date orders, and a pair that only
// reaches min_pair_orders with the orders of both kinds, all inserted
// shuffled and read in small batches over four streams.
func TestPushdownPairsEqualPlainRead(t *testing.T) {
	c, url := startURL(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, Ctry STRING, Chan STRING, State STRING)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, Cur, Ctry, Chan, State) VALUES "+strings.Join(shopRows(), ",\n"))
	exec(t, c, "CREATE TABLE `shop-analytics.sales.order_lines` (OrderNo STRING, Article STRING, Qty INT64)")
	items := pairItems()
	exec(t, c, "INSERT INTO `shop-analytics.sales.order_lines` (OrderNo, Article, Qty) VALUES "+strings.Join(items, ",\n"))

	fake := bqfake.New()
	storage := bqfake.NewStorage()
	storage.Streams = 4
	svc, err := bq.NewService(context.Background(), option.WithEndpoint(url), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	var resultRows []int
	fake.Query = func(sql string, params []*bq.QueryParameter) (*bq.TableReference, error) {
		useLegacy := false
		res, err := svc.Jobs.Query(project, &bq.QueryRequest{Query: sql, QueryParameters: params, UseLegacySql: &useLegacy, ParameterMode: "NAMED",
			FormatOptions: &bq.DataFormatOptions{UseInt64Timestamp: true}}).Do()
		if err != nil {
			return nil, fmt.Errorf("emulator: %w\n%s", err, sql)
		}
		results++
		resultRows = append(resultRows, len(res.Rows))
		name := fmt.Sprintf("result%d", results)
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
	for _, tbl := range []string{"orders", "order_lines"} {
		md, err := c.Dataset("sales").Table(tbl).Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fields := make([]*bq.TableFieldSchema, len(md.Schema))
		for i, f := range md.Schema {
			fields[i] = &bq.TableFieldSchema{Name: f.Name, Type: string(f.Type), Mode: "NULLABLE"}
		}
		fake.Tables[project+".sales."+tbl] = &bq.Table{Schema: &bq.TableSchema{Fields: fields}}
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
	opts := func() stages.Options {
		return stages.Options{BigQuery: bqclient.Options{
			REST: []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication()},
			Storage: []option.ClientOption{option.WithEndpoint(addr), option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
				option.WithGRPCDialOption(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1 << 28)))},
		}}
	}

	plain, pushed := t.TempDir(), t.TempDir()
	sumPlain := runPipeline(t, pairsJobYAML(false), plain, opts())
	before := len(resultRows)
	sumPushed := runPipeline(t, pairsJobYAML(true), pushed, opts())
	if sumPlain.Rows != sumPushed.Rows || sumPlain.Rows.Quarantined == 0 {
		t.Errorf("rows: plain %+v, pushdown %+v", sumPlain.Rows, sumPushed.Rows)
	}
	mPlain, mPushed := manifest(t, plain), manifest(t, pushed)
	if !reflect.DeepEqual(mPlain.ItemRows, mPushed.ItemRows) || mPlain.ItemRows == nil || mPlain.ItemRows.Used == 0 ||
		mPlain.ItemRows.Excluded["order_not_used"] == 0 || mPlain.ItemRows.TotalQuarantined() == 0 || len(mPlain.ItemRows.Trimmed) != 2 {
		t.Errorf("item accounting: plain %+v, pushdown %+v", mPlain.ItemRows, mPushed.ItemRows)
	}
	var names []string
	for _, q := range mPushed.Queries {
		names = append(names, q.Name)
	}
	if want := []string{"counts", "raw_orders", "order_cells", "item_counts", "raw_items", "item_products", "item_pairs"}; !slices.Equal(names, want) {
		t.Errorf("pushdown queries %v, want %v", names, want)
	}
	// Result rows of pushdown's queries: counts, raw orders, cells, item
	// counts, raw items, products, pairs. Far fewer item rows than the
	// table holds come back.
	got := resultRows[before:]
	if len(got) != 7 || got[3] != 1 || got[4] >= len(items)/2 {
		t.Errorf("pushdown result rows %v for %d item rows", got, len(items))
	}
	t.Logf("items %+v; pushdown result rows (counts, raw, cells, item counts, raw items, products, pairs) %v of %d item rows", mPushed.ItemRows, got, len(items))
	want, gotFiles := tableFiles(t, plain), tableFiles(t, pushed)
	if len(want) < 9 || len(gotFiles) != len(want) {
		t.Fatalf("%d tables with pushdown, %d without", len(gotFiles), len(want))
	}
	for p, raw := range want {
		if !bytes.Equal(gotFiles[p], raw) {
			t.Errorf("%s differs with pushdown", p)
		}
	}
	if sumPlain.Tables["product_affinity"] == 0 {
		t.Errorf("product_affinity has no rows: %v", sumPlain.Tables)
	}
}

func pairsJobYAML(pushdown bool) string {
	return fmt.Sprintf(`
name: emu
timezone: Europe/Berlin
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: %t}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, currency: Cur, country: Ctry, channel: Chan, status: State}
  order_items:
    bigquery: {project: shop-analytics, dataset: sales, table: order_lines}
    columns: {order_id: OrderNo, sku: Article, quantity: Qty}
  reporting_currency: EUR
validate: {counted_statuses: [completed, Shipped]}
affinity: {min_pair_orders: 3, top_k: 3}
clv: {min_customers: 20}
`, pushdown)
}

// pairItems are SQL row literals of the items of the pushdown test shop's
// orders (see shopRows), shuffled, with rows affinity rejects and ids and
// SKUs it trims.
func pairItems() []string {
	rng := rand.New(rand.NewPCG(13, 17))
	skus := []string{"mug", "tea", "pot", "cup", "spoon", "tin", "sugar", "filter"}
	var ids []string
	for i := range 600 {
		ids = append(ids, fmt.Sprintf("o%04d", i))
		if i%50 == 8 {
			ids = append(ids, fmt.Sprintf("o%04d-a", i-1), fmt.Sprintf("o%04d-b", i-1))
		}
	}
	ids = append(ids, "r1", "r2", "r3", "r5", "u1", "u2", "u3", "u4", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "x1", "x2")
	var rows []string
	for _, id := range ids {
		for _, k := range rng.Perm(len(skus))[:1+rng.IntN(4)] {
			rows = append(rows, fmt.Sprintf("('%s', '%s', %d)", id, skus[k], 1+rng.IntN(3)))
		}
	}
	rows = append(rows,
		"(NULL, 'mug', 1)", "('', 'tea', 1)", "('   ', 'pot', 2)", // no order id
		"('o0012', NULL, 1)", "('o0013', '  ', 1)", // no SKU
		"(' o0014', 'mug', 1)", "('o0015 ', ' tea', 1)", "('o0016', 'cup ', 1)", // trimmed
		"('o0017', 'mug', 1)", "('o0017', 'mug', 2)", // one SKU twice
		"(' o0110', 'tin', 1)", "('o0110', 'pot', 1)", // an order whose id was padded in the orders table
		// A pair in two orders folded in SQL and one that validate uses
		// (r1, refunded in part): it reaches min_pair_orders (3) only
		// when both are added, so SQL must return it short of that.
		"('t1', 'kettle', 1)", "('t1', 'lid', 1)", "('t6', 'kettle', 1)", "('t6', 'lid', 1)", "('r1', 'kettle', 1)", "('r1', 'lid', 2)",
	)
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}
