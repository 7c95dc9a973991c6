package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"
	"retain/pipeline"
	"retain/stages/clv/clvconfig"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqsink"
)

// TestLiveBigQuery runs against real BigQuery when RETAIN_BQ_PROJECT and
// RETAIN_BQ_DATASET (an existing dataset) are set, with Application Default
// Credentials (or GOOGLE_APPLICATION_CREDENTIALS); RETAIN_BQ_LOCATION is
// the dataset's location. It loads the test shop's orders into a table,
// runs the job reading them through the Storage Read API and loading the
// tables back twice for one date, checks the tables equal the CSV run's and
// that each day is there once, and drops what it created.
func TestLiveBigQuery(t *testing.T) {
	project, dataset := os.Getenv("RETAIN_BQ_PROJECT"), os.Getenv("RETAIN_BQ_DATASET")
	if project == "" || dataset == "" {
		t.Skip("RETAIN_BQ_PROJECT and RETAIN_BQ_DATASET not set")
	}
	const date = "2026-03-31"
	ctx := context.Background()
	prefix := fmt.Sprintf("retain_it_%d_", time.Now().UnixNano())
	cfg := bqclient.Connection{Project: project, Location: os.Getenv("RETAIN_BQ_LOCATION")}
	c, err := bqclient.Open(ctx, cfg, bqclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds := c.Dataset(dataset)
	defer func() {
		it := ds.Tables(ctx)
		for {
			tb, err := it.Next()
			if err == iterator.Done || err != nil {
				return
			}
			if strings.HasPrefix(tb.TableID, prefix) {
				tb.Delete(ctx)
			}
		}
	}()

	rows, late := sourceOrders()
	dir, csvOut, bqOut := t.TempDir(), t.TempDir(), t.TempDir()
	var csvFile, bqCSV strings.Builder
	csvFile.WriteString("OrderNo,Client,PlacedAt,Total,State\n")
	for _, o := range append(rows, late) {
		csvFile.WriteString(o.csv())
		ts := ""
		if !o.ts.IsZero() {
			ts = o.ts.UTC().Format("2006-01-02 15:04:05") + " UTC"
		}
		line := strings.Split(o.csv(), ",")
		line[2] = ts
		bqCSV.WriteString(strings.Join(line, ","))
	}
	write(t, filepath.Join(dir, "orders.csv"), csvFile.String())
	if _, err := runJob(t, dir, csvSourceJob, date, csvOut, false); err != nil {
		t.Fatal(err)
	}

	src := bigquery.NewReaderSource(strings.NewReader(bqCSV.String()))
	src.Schema = bigquery.Schema{
		{Name: "OrderNo", Type: bigquery.StringFieldType}, {Name: "Client", Type: bigquery.IntegerFieldType},
		{Name: "PlacedAt", Type: bigquery.TimestampFieldType}, {Name: "Total", Type: bigquery.NumericFieldType},
		{Name: "State", Type: bigquery.StringFieldType},
	}
	lj, err := ds.Table(prefix + "orders").LoaderFrom(src).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := lj.Wait(ctx); err != nil || st.Err() != nil {
		t.Fatalf("load orders: %v %v", err, st.Err())
	}

	liveJob := fmt.Sprintf(`
name: src
input:
  orders:
    bigquery: {project: %[1]s, dataset: %[2]s, table: %[3]sorders, location: %[4]q}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, status: State}
sink: {kind: bigquery, project: %[1]s, dataset: %[2]s, table_prefix: %[3]s, location: %[4]q}
`, project, dataset, prefix, cfg.Location)
	var sum *pipeline.Summary
	for range 2 {
		sum, err = runJobWith(t, dir, liveJob, date, bqOut, func(o *pipeline.Options) {
			o.Publisher = bqsink.New(**bqsink.Section.Of(o.Job), clvconfig.Layout(o.Job), bqclient.Options{})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	skip := func(rel string) bool { return exceptRunVariant(rel) || strings.HasPrefix(rel, "quarantine") }
	want, got := snapshot(t, csvOut, skip), snapshot(t, bqOut, skip)
	for p, raw := range want {
		if string(got[p]) != string(raw) {
			t.Errorf("%s differs between the BigQuery and the file source", p)
		}
	}
	for table, n := range sum.Tables {
		q := c.Query(fmt.Sprintf("SELECT COUNT(*) FROM `%s.%s.%s%s` WHERE snapshot_date = @d", project, dataset, prefix, table))
		day, err := civil.ParseDate(date)
		if err != nil {
			t.Fatal(err)
		}
		q.Parameters = []bigquery.QueryParameter{{Name: "d", Value: day}}
		it, err := q.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var row []bigquery.Value
		if err := it.Next(&row); err != nil {
			t.Fatal(err)
		}
		if row[0].(int64) != n {
			t.Errorf("%s has %v rows for %s after two runs, want %d", table, row[0], date, n)
		}
	}
}
