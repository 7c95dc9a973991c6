package bqsource

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"

	"retain/engine"
	"retain/night"
	"retain/stages/internal/input"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

// countingEmitter counts the rows emitted; the reader needs nothing else.
type countingEmitter struct {
	engine.Emitter
	rows int64
}

func (e *countingEmitter) Emit(_ context.Context, _ string, rec arrow.Record) error {
	e.rows += rec.NumRows()
	return nil
}

// TestQueryStats: the reader records the query job with BigQuery's
// statistics and the rows its result carried; when the statistics cannot
// be fetched the rows still arrive and the entry says why.
func TestQueryStats(t *testing.T) {
	tests := []struct {
		name      string
		failStats bool
		want      night.QueryStat
	}{
		{"statistics", false, night.QueryStat{Name: QueryOrders, BytesProcessed: 52428800, BytesBilled: 53477376, SlotMillis: 1500, Rows: 3}},
		{"statistics lost", true, night.QueryStat{Name: QueryOrders, Rows: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			sc := arrow.NewSchema([]arrow.Field{
				{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
				{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
				{Name: input.SharedOrderID, Type: arrow.FixedWidthTypes.Boolean},
			}, nil)
			b := array.NewRecordBuilder(mem, sc)
			defer b.Release()
			b.Field(0).(*array.StringBuilder).AppendValues([]string{"o1", "o2", "o3"}, nil)
			b.Field(1).(*array.StringBuilder).AppendValues([]string{"c1", "c1", "c2"}, nil)
			ts := arrow.Timestamp(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMicro())
			b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{ts, ts, ts}, nil)
			b.Field(3).(*array.Float64Builder).AppendValues([]float64{10, 20, 30}, nil)
			b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{false, false, false}, nil)
			rec := b.NewRecord()
			defer rec.Release()

			fake := bqfake.New()
			fake.Tables["shop-analytics.sales.orders"] = &bq.Table{Schema: &bq.TableSchema{Fields: []*bq.TableFieldSchema{
				{Name: "order_id", Type: "STRING"}, {Name: "customer_id", Type: "STRING"}, {Name: "order_ts", Type: "TIMESTAMP"}, {Name: "amount", Type: "FLOAT"},
			}}}
			fake.Query = func(string, []*bq.QueryParameter) (*bq.TableReference, error) {
				return fake.ArrowTable("shop-analytics", "_anon", "result", sc), nil
			}
			fake.Stats = func(string, []*bq.QueryParameter) (*bq.JobStatistics2, error) {
				return &bq.JobStatistics2{TotalBytesProcessed: 52428800, TotalBytesBilled: 53477376, TotalSlotMs: 1500}, nil
			}
			srv := fake.Start()
			defer srv.Close()
			// The status call after the read asks for the statistics.
			proxy, _, err := bqfake.NewProxy(srv.URL, &bqfake.Fault{
				Match: func(r *http.Request) bool {
					return tt.failStats && r.Method == http.MethodGet && r.URL.Query().Get("fields") == "status,statistics"
				},
				Code: http.StatusForbidden, Reason: "accessDenied", Times: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			storage := bqfake.NewStorage()
			if err := storage.Serve("shop-analytics", "_anon", "result", sc, rec); err != nil {
				t.Fatal(err)
			}
			addr, stop, err := storage.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			conn, err := bqfake.Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			rc := planContext(t, `
name: n
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders}
`)
			rc.Mem = mem
			r, err := newReader(context.Background(), rc, bqclient.Options{
				REST:    []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(proxy.URL)), option.WithoutAuthentication()},
				Storage: []option.ClientOption{option.WithGRPCConn(conn), option.WithoutAuthentication()},
				Retry:   bqclient.Policy{Attempts: 1},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close(context.Background())
			out := &countingEmitter{}
			if err := r.Finish(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			if out.rows != 3 {
				t.Errorf("%d rows emitted, want 3", out.rows)
			}
			got := rc.Queries()
			if len(got) != 1 {
				t.Fatalf("queries %+v, want one", got)
			}
			fake.Lock()
			for id := range fake.Jobs {
				tt.want.JobID = id
			}
			fake.Unlock()
			if tt.failStats != (got[0].StatsError != "") {
				t.Errorf("stats error %q", got[0].StatsError)
			}
			got[0].StatsError = ""
			if got[0] != tt.want {
				t.Errorf("query %+v, want %+v", got[0], tt.want)
			}
		})
	}
}
