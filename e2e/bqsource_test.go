package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
	"retain/jobfile"
	"retain/night"
	"retain/pipeline"
	"retain/stages"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

const bqSourceJob = `
name: src
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, location: EU}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, status: State}
`

const csvSourceJob = `
name: src
input:
  orders:
    path: orders.csv
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, status: State}
`

// sourceOrder is one order row as the warehouse holds it.
type sourceOrder struct {
	id       string
	customer int64 // 0: NULL
	ts       time.Time
	cents    int64
	status   string
}

// sourceOrders is a small shop, sorted by order id as the source query
// orders it, with a duplicate order id, a missing customer, a missing
// timestamp and a cancelled order, and one order after the run date.
func sourceOrders() (rows []sourceOrder, late sourceOrder) {
	rows = genOrders(1500, 300)
	rows[10].id = rows[9].id
	rows[20].customer = 0
	rows[30].ts = time.Time{}
	late = sourceOrder{id: "o99999", customer: 5, ts: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), cents: 100, status: "completed"}
	return rows, late
}

// genOrders makes n orders of customers over 450 days, in order id order.
func genOrders(n int, customers int64) []sourceOrder {
	rng := rand.New(rand.NewPCG(7, 7))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]sourceOrder, n)
	for i := range rows {
		rows[i] = sourceOrder{
			id:       fmt.Sprintf("o%08d", i),
			customer: 1 + rng.Int64N(customers),
			ts:       start.Add(time.Duration(rng.Int64N(450*24)) * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second),
			cents:    500 + rng.Int64N(20000),
			status:   []string{"completed", "completed", "completed", "cancelled"}[rng.IntN(4)],
		}
	}
	return rows
}

func (o sourceOrder) csv() string {
	var c, ts string
	if o.customer != 0 {
		c = fmt.Sprint(o.customer)
	}
	if !o.ts.IsZero() {
		ts = o.ts.Format(time.RFC3339)
	}
	return fmt.Sprintf("%s,%s,%s,%d.%02d,%s\n", o.id, c, ts, o.cents/100, o.cents%100, o.status)
}

// ordersFields are the orders as the Storage Read API delivers them:
// canonical aliases, NUMERIC as decimal128(38, 9), TIMESTAMP as UTC micros.
var ordersFields = []arrow.Field{
	{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 38, Scale: 9}, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
}

// resultSchema is the source query's result: the orders and whether
// another row shares the order id.
var resultSchema = arrow.NewSchema(append(slices.Clone(ordersFields), arrow.Field{Name: "_shared_order_id", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}), nil)

// resultBatches builds the query result in batches of n rows.
func resultBatches(rows []sourceOrder, n int) []arrow.Record {
	var recs []arrow.Record
	b := array.NewRecordBuilder(memory.NewGoAllocator(), resultSchema)
	defer b.Release()
	ids := map[string]int{}
	for _, o := range rows {
		ids[o.id]++
	}
	for i, o := range rows {
		b.Field(0).(*array.StringBuilder).Append(o.id)
		if o.customer == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(o.customer)
		}
		if o.ts.IsZero() {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(o.ts.UnixMicro()))
		}
		b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(o.cents * 10_000_000))
		b.Field(4).(*array.StringBuilder).Append(o.status)
		b.Field(5).(*array.BooleanBuilder).Append(ids[o.id] > 1)
		if (i+1)%n == 0 || i == len(rows)-1 {
			recs = append(recs, b.NewRecord())
		}
	}
	return recs
}

// TestBigQuerySourceMatchesFiles reads orders through the real client from
// a fake REST API and a fake Storage Read API serving Arrow IPC over three
// streams, and checks the query (projection, quoting, the run-date filter
// as a parameter, no ORDER BY, so the client asks for several streams) and
// that every table equals the one made from the same orders in a CSV file.
func TestBigQuerySourceMatchesFiles(t *testing.T) {
	const date = "2026-03-31"
	rows, late := sourceOrders()
	dir, csvOut, bqOut := t.TempDir(), t.TempDir(), t.TempDir()
	var csv strings.Builder
	csv.WriteString("OrderNo,Client,PlacedAt,Total,State\n")
	for _, o := range rows {
		csv.WriteString(o.csv())
	}
	csv.WriteString(late.csv())
	write(t, filepath.Join(dir, "orders.csv"), csv.String())
	csvSum, err := runJob(t, dir, csvSourceJob, date, csvOut, false)
	if err != nil {
		t.Fatal(err)
	}

	fake := bqfake.New()
	fake.Tables["shop-analytics.sales.orders"] = &bq.Table{Schema: &bq.TableSchema{Fields: []*bq.TableFieldSchema{
		{Name: "OrderNo", Type: "STRING"}, {Name: "Client", Type: "INTEGER"}, {Name: "PlacedAt", Type: "TIMESTAMP"},
		{Name: "Total", Type: "NUMERIC"}, {Name: "State", Type: "STRING"}, {Name: "Note", Type: "STRING"},
	}}}
	// What BigQuery reports of the query job, for the manifest.
	fake.Stats = func(string, []*bq.QueryParameter) (*bq.JobStatistics2, error) {
		return &bq.JobStatistics2{TotalBytesProcessed: 123456789, TotalBytesBilled: 124780544, TotalSlotMs: 4321}, nil
	}
	batches := resultBatches(rows, 400)
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	// Transient failures on the way: the table's schema, the query, and a
	// read stream that breaks after its first batch.
	storage, faults, useFakes := serveQueryResult(t, fake, batches,
		&bqfake.Fault{Match: bqfake.IsTableGet, Code: http.StatusServiceUnavailable, Reason: "backendError", Times: 1},
		&bqfake.Fault{Match: bqfake.IsJobInsert, Code: http.StatusTooManyRequests, Reason: "rateLimitExceeded", Times: 1})
	storage.FailReads = 1
	storage.Streams = 3
	bqSum, err := runJobWith(t, dir, bqSourceJob, date, bqOut, useFakes)
	if err != nil {
		t.Fatal(err)
	}

	if len(fake.Queries) != 1 {
		t.Fatalf("%d queries, want 1", len(fake.Queries))
	}
	q := fake.Queries[0]
	wantSQL := "SELECT `OrderNo` AS `order_id`, `Client` AS `customer_id`, `PlacedAt` AS `order_ts`, `Total` AS `amount`, `State` AS `status`, " +
		"COALESCE(TRIM(CAST(`OrderNo` AS STRING)) != '' AND COUNT(*) OVER (PARTITION BY TRIM(CAST(`OrderNo` AS STRING))) > 1, FALSE) AS `_shared_order_id` " +
		"FROM `shop-analytics.sales.orders` WHERE `PlacedAt` IS NULL OR `PlacedAt` < @window_end"
	if q.Query != wantSQL {
		t.Errorf("query\n%s\nwant\n%s", q.Query, wantSQL)
	}
	if len(q.QueryParameters) != 1 || q.QueryParameters[0].Name != "window_end" || q.QueryParameters[0].ParameterType.Type != "TIMESTAMP" ||
		!strings.HasPrefix(q.QueryParameters[0].ParameterValue.Value, "2026-04-01 00:00:00") {
		t.Errorf("parameters = %+v", q.QueryParameters[0])
	}
	if q.UseLegacySql == nil || *q.UseLegacySql {
		t.Error("query is not standard SQL")
	}
	if faults.Injected != 2 {
		t.Errorf("%d REST faults injected, want 2", faults.Injected)
	}
	if storage.Reads != 4 {
		t.Errorf("%d stream reads, want 4 (three streams, one broken and resumed)", storage.Reads)
	}
	// An unordered query lets the client ask for a stream per core and
	// leave the count to BigQuery; an ORDER BY would cap it at one.
	if len(storage.Sessions) != 1 || storage.Sessions[0].ReadSession.Table != "projects/shop-analytics/datasets/_anon/tables/result" ||
		storage.Sessions[0].MaxStreamCount != 0 || storage.Sessions[0].PreferredMinStreamCount < 1 {
		t.Errorf("read sessions = %v", storage.Sessions)
	}

	// The manifest names the query job and what it cost and returned.
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(bqOut, date), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	fake.Lock()
	var jobIDs []string
	for id, j := range fake.Jobs {
		if j.Configuration.Query != nil {
			jobIDs = append(jobIDs, id)
		}
	}
	fake.Unlock()
	wantStat := night.QueryStat{Name: "orders", BytesProcessed: 123456789, BytesBilled: 124780544, SlotMillis: 4321, Rows: bqSum.Rows.Read}
	if len(m.Queries) != 1 || len(jobIDs) != 1 {
		t.Fatalf("manifest queries %+v, query jobs %v: want one each", m.Queries, jobIDs)
	}
	if wantStat.JobID = jobIDs[0]; m.Queries[0] != wantStat {
		t.Errorf("manifest query %+v, want %+v", m.Queries[0], wantStat)
	}
	if !strings.Contains(string(raw), `"bytes_processed": 123456789`) || !strings.Contains(string(raw), `"slot_ms": 4321`) {
		t.Errorf("manifest JSON lacks the query statistics:\n%s", raw)
	}

	// The late order never crossed the network, so it is neither read nor
	// excluded; everything else adds up the same.
	if bqSum.Rows.Read != csvSum.Rows.Read-1 || bqSum.Rows.Excluded != csvSum.Rows.Excluded-1 ||
		bqSum.Rows.Used != csvSum.Rows.Used || bqSum.Rows.Quarantined != csvSum.Rows.Quarantined || bqSum.Rows.Quarantined != 3 {
		t.Errorf("rows: bigquery %+v, files %+v", bqSum.Rows, csvSum.Rows)
	}
	skip := func(rel string) bool { return exceptRunVariant(rel) || strings.HasPrefix(rel, "quarantine") }
	want, got := snapshot(t, csvOut, skip), snapshot(t, bqOut, skip)
	if len(want) < 8 {
		t.Fatalf("%d files from the file source", len(want))
	}
	sameFiles(t, want, got, "the file source", "the BigQuery source")
}

// serveQueryResult makes batches the answer to any query: fake names a
// result table, a Storage Read fake serves it. The REST calls go through a
// proxy injecting faults. The returned function points a run's stages at
// both.
func serveQueryResult(tb testing.TB, fake *bqfake.Server, batches []arrow.Record, faults ...*bqfake.Fault) (*bqfake.Storage, *bqfake.Proxy, func(*pipeline.Options)) {
	tb.Helper()
	fake.Query = func(string, []*bq.QueryParameter) (*bq.TableReference, error) {
		return fake.ArrowTable("shop-analytics", "_anon", "result", resultSchema), nil
	}
	srv := fake.Start()
	tb.Cleanup(srv.Close)
	proxy, injected, err := bqfake.NewProxy(srv.URL, faults...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(proxy.Close)
	storage := bqfake.NewStorage()
	if err := storage.Serve("shop-analytics", "_anon", "result", resultSchema, batches...); err != nil {
		tb.Fatal(err)
	}
	addr, stop, err := storage.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return storage, injected, func(o *pipeline.Options) {
		conn, err := bqfake.Dial(addr)
		if err != nil {
			tb.Fatal(err)
		}
		o.Registry = &night.Registry{}
		err = stages.RegisterAllWith(o.Registry, stages.Options{BigQuery: bqclient.Options{
			REST:    []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(proxy.URL)), option.WithoutAuthentication()},
			Storage: []option.ClientOption{option.WithGRPCConn(conn), option.WithoutAuthentication()},
			Retry:   fastRetry,
		}})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// TestBigQuerySourceStopsWhenCanceled: the source opens its clients and
// reads the table's schema while the stage is built; a run canceled by then
// (SIGTERM from the scheduler) gives up with the cancellation instead of
// asking BigQuery regardless.
func TestBigQuerySourceStopsWhenCanceled(t *testing.T) {
	fake := bqfake.New()
	fake.Tables["shop-analytics.sales.orders"] = &bq.Table{Schema: &bq.TableSchema{Fields: []*bq.TableFieldSchema{
		{Name: "OrderNo", Type: "STRING"}, {Name: "Client", Type: "INTEGER"}, {Name: "PlacedAt", Type: "TIMESTAMP"},
		{Name: "Total", Type: "NUMERIC"}, {Name: "State", Type: "STRING"},
	}}}
	_, _, useFakes := serveQueryResult(t, fake, nil)
	j, err := jobfile.Parse([]byte(bqSourceJob), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var o pipeline.Options
	useFakes(&o)
	var spec night.Spec
	for _, s := range o.Registry.Specs() {
		if s.Name == "extract" {
			spec = s
		}
	}
	for _, tc := range []struct {
		name   string
		cancel bool
	}{
		{"running", false},
		{"canceled", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := night.New(j, "t", "2026-03-31", memory.NewGoAllocator(), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			st, err := spec.New(ctx, rc)
			if err == nil {
				defer st.Close(ctx)
			}
			switch {
			case !tc.cancel && err != nil:
				t.Fatalf("New: %v", err)
			case tc.cancel && !errors.Is(err, context.Canceled):
				t.Errorf("New on a canceled run: err = %v, want context.Canceled", err)
			}
		})
	}
}
