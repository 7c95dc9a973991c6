package e2e_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"

	"retain/pipeline"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
	"retain/warehouse/bqsink"
)

const sinkJob = `
name: sinktest
input: {orders: {path: orders.csv}}
sink: {kind: bigquery, project: shop-analytics, dataset: retain, table_prefix: r_}
`

const sinkOrders = "order_id,customer_id,order_ts,amount\n" +
	"o1,c1,2026-01-05,10\no2,c1,2026-02-07,20\no3,c2,2026-02-09,5\no4,c3,2026-03-01,7\nbad,,2026-03-02,1\n"

// fastRetry keeps tests of transient errors quick.
var fastRetry = bqclient.Policy{Attempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond}

func runWithSink(t *testing.T, dir, out, date string, endpoint string) (*pipeline.Summary, error) {
	t.Helper()
	return runJobWith(t, dir, sinkJob, date, out, func(o *pipeline.Options) {
		o.Publisher = bqsink.New(**bqsink.Section.Of(o.Job), clvconfig.Layout(o.Job), bqclient.Options{
			REST:  []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(endpoint)), option.WithoutAuthentication()},
			Retry: fastRetry,
		})
	})
}

// startFake serves a fake BigQuery behind a proxy that injects faults.
func startFake(t *testing.T, faults ...*bqfake.Fault) (*bqfake.Server, *httptest.Server, *bqfake.Proxy) {
	t.Helper()
	fake := bqfake.New()
	srv := fake.Start()
	t.Cleanup(srv.Close)
	proxy, p, err := bqfake.NewProxy(srv.URL, faults...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return fake, proxy, p
}

// TestSinkReplacesDayOnce runs the same date twice and another date once,
// through a proxy that fails the first table read, rate-limits a load and
// loses the answer to another (BigQuery ran it): every table ends up with
// exactly one copy of each day, created from schemas/ with partitioning,
// clustering and descriptions.
func TestSinkReplacesDayOnce(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "orders.csv"), sinkOrders)
	fake, proxy, faults := startFake(t,
		&bqfake.Fault{Match: bqfake.IsTableGet, Code: http.StatusServiceUnavailable, Reason: "backendError", Times: 1},
		&bqfake.Fault{Match: bqfake.IsLoadInsert, Code: http.StatusTooManyRequests, Reason: "rateLimitExceeded", Times: 1},
		&bqfake.Fault{Match: bqfake.IsLoadInsert, Code: http.StatusServiceUnavailable, Reason: "backendError", AfterForward: true, Times: 2},
	)

	// The views are DDL, which has no result table to answer with.
	fake.Query = func(string, []*bq.QueryParameter) (*bq.TableReference, error) { return nil, nil }

	rows := map[string]map[string]int64{}
	for _, date := range []string{"2026-03-31", "2026-03-31", "2026-04-01"} {
		sum, err := runWithSink(t, dir, out, date, proxy.URL)
		if err != nil {
			t.Fatalf("run %s: %v", date, err)
		}
		if sum.Tables["customer_summary"] != 3 || sum.Tables["quarantine"] != 1 {
			t.Fatalf("run %s tables = %v", date, sum.Tables)
		}
		rows[strings.ReplaceAll(date, "-", "")] = sum.Tables
	}
	if faults.Injected != 4 {
		t.Errorf("injected %d faults, want 4", faults.Injected)
	}
	fake.Lock()
	defer fake.Unlock()
	outputs := schemas.Outputs()
	// Three runs of every table, each load run once despite the lost answers.
	if fake.LoadsRun != 3*len(outputs) {
		t.Errorf("load jobs run = %d, want %d", fake.LoadsRun, 3*len(outputs))
	}
	for _, tbl := range outputs {
		key := "shop-analytics.retain.r_" + tbl.Name
		bt, ok := fake.Tables[key]
		if !ok {
			t.Fatalf("table %s not created", key)
		}
		if bt.TimePartitioning == nil || bt.TimePartitioning.Field != "snapshot_date" || bt.TimePartitioning.Type != "DAY" {
			t.Errorf("%s partitioning = %+v", key, bt.TimePartitioning)
		}
		if len(bt.Schema.Fields) != len(tbl.PublishedColumns()) || bt.Schema.Fields[0].Name != "snapshot_date" || bt.Schema.Fields[0].Description == "" {
			t.Errorf("%s schema does not follow schemas/", key)
		}
		for day, tables := range rows {
			if got, ok := fake.Partitions[key][day]; !ok || got != tables[tbl.Name] {
				t.Errorf("%s$%s has %d rows, want %d", key, day, got, tables[tbl.Name])
			}
		}
		if len(fake.Partitions[key]) != 2 {
			t.Errorf("%s partitions = %v, want two days", key, fake.Partitions[key])
		}
	}
	// Every run replaces every table's view, after its load.
	views := map[string]int{}
	for _, q := range fake.Queries {
		views[q.Query]++
	}
	for _, tbl := range outputs {
		want := "CREATE OR REPLACE VIEW `shop-analytics.retain.r_" + tbl.Name + "_latest` OPTIONS (description = \"The newest snapshot_date of " + tbl.Name + ", written by retain.\") AS\n" +
			"SELECT * FROM `shop-analytics.retain.r_" + tbl.Name + "`\nWHERE snapshot_date = (SELECT MAX(snapshot_date) FROM `shop-analytics.retain.r_" + tbl.Name + "`)"
		if views[want] != 3 {
			t.Errorf("%s_latest created %d times, want 3 (one a run)", tbl.Name, views[want])
		}
	}
	if len(fake.Queries) != 3*len(outputs) {
		t.Errorf("%d queries, want %d", len(fake.Queries), 3*len(outputs))
	}
	if c := fake.Tables["shop-analytics.retain.r_customer_segments"].Clustering; c == nil || c.Fields[0] != "rfm_segment" {
		t.Errorf("customer_segments clustering = %+v", c)
	}
}

// TestSinkFailureKeepsLocalCommit: a warehouse that keeps failing fails the
// run with ErrPublish, after the local tables and _SUCCESS are committed.
func TestSinkFailureKeepsLocalCommit(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "orders.csv"), sinkOrders)
	_, proxy, _ := startFake(t,
		&bqfake.Fault{Match: bqfake.IsLoadInsert, Code: http.StatusServiceUnavailable, Reason: "backendError", Times: 1000})
	_, err := runWithSink(t, dir, out, "2026-03-31", proxy.URL)
	if !errors.Is(err, pipeline.ErrPublish) || !errors.Is(err, bqclient.ErrGaveUp) {
		t.Fatalf("err = %v, want ErrPublish after retries", err)
	}
	if _, err := os.Stat(filepath.Join(pipeline.RunDir(out, "2026-03-31"), pipeline.SuccessName)); err != nil {
		t.Fatalf("local commit missing: %v", err)
	}
}
