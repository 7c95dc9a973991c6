package emulatortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/goccy/bigquery-emulator/server"
	"github.com/goccy/bigquery-emulator/types"
	"github.com/rs/zerolog"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"retain/jobfile"
	"retain/night"
	"retain/schemas"
	"retain/stages/bqsource"
	"retain/warehouse/bqsink"
)

const project = "shop-analytics"

// start serves an emulator holding the datasets sales and retain and
// returns a client of it.
func start(t *testing.T) *bigquery.Client {
	t.Helper()
	c, _ := startURL(t)
	return c
}

// startURL is start that also returns the emulator's endpoint.
func startURL(t *testing.T) (*bigquery.Client, string) {
	t.Helper()
	srv, err := server.New(server.TempStorage)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetLogLevel(server.LogLevelError); err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(server.StructSource(types.NewProject(project, types.NewDataset("sales"), types.NewDataset("retain"), types.NewDataset("finance")))); err != nil {
		t.Fatal(err)
	}
	ts := srv.TestServer()
	t.Cleanup(func() { ts.Close(); srv.Close() })
	c, err := bigquery.NewClient(context.Background(), project, option.WithEndpoint(ts.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ts.URL
}

func exec(t *testing.T, c *bigquery.Client, sql string) {
	t.Helper()
	j, err := c.Query(sql).Run(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	st, err := j.Wait(context.Background())
	if err == nil {
		err = st.Err()
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestTablesFromSchemas creates every output table the way the sink does
// and reads back partitioning, clustering and column descriptions; a second
// call leaves the table alone.
func TestTablesFromSchemas(t *testing.T) {
	ctx := context.Background()
	c := start(t)
	for _, tbl := range schemas.Outputs() {
		bt := c.Dataset("retain").Table("retain_" + tbl.Name)
		for range 2 {
			if err := bqsink.EnsureTable(ctx, bt, tbl, 0); err != nil {
				t.Fatalf("%s: %v", tbl.Name, err)
			}
		}
		md, err := bt.Metadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if md.TimePartitioning == nil || md.TimePartitioning.Field != bqsink.PartitionColumn {
			t.Errorf("%s: partitioning %+v", tbl.Name, md.TimePartitioning)
		}
		// The warehouse holds snapshot_date as a column, and currency after
		// the columns of a table with money.
		cols := tbl.PublishedColumns()
		if len(md.Schema) != len(cols) {
			t.Fatalf("%s: %d columns, want %d", tbl.Name, len(md.Schema), len(cols))
		}
		for i, f := range md.Schema {
			if f.Name != cols[i].Name || f.Description != tbl.Describe(cols[i]) {
				t.Errorf("%s.%s: description %q", tbl.Name, f.Name, f.Description)
			}
		}
		if want := bqsink.Clustering[tbl.Name]; len(want) > 0 && (md.Clustering == nil || len(md.Clustering.Fields) != len(want)) {
			t.Errorf("%s: clustering %+v, want %v", tbl.Name, md.Clustering, want)
		}
	}
}

// TestSourceQuery runs the source query that bqsource plans on a real SQL
// engine: shop column names renamed to canonical ones, rows at or after the
// end of the run date (in the job's zone) left out through the parameter,
// rows without a timestamp kept for validation, and _shared_order_id true
// exactly for the rows whose trimmed, non-blank id another row kept has
// (rows after the run date do not count; null and blank ids share nothing).
func TestSourceQuery(t *testing.T) {
	ctx := context.Background()
	c := start(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, State STRING, Note STRING)")
	exec(t, c, `INSERT INTO `+"`shop-analytics.sales.orders`"+` (OrderNo, Client, PlacedAt, Total, State, Note) VALUES
		('o3', 2, TIMESTAMP '2026-03-31 21:59:59+00', 5.5, 'completed', 'last second of the run date in Berlin'),
		('o1', 1, TIMESTAMP '2026-01-05 10:00:00+00', 10.25, 'completed', NULL),
		('o4', 2, TIMESTAMP '2026-03-31 22:00:00+00', 7, 'completed', 'first second after it'),
		('o2', NULL, NULL, 1, NULL, 'no customer, no time'),
		(' o1', 3, TIMESTAMP '2026-01-06 10:00:00+00', 2, 'completed', 'o1 once trimmed'),
		('o5', 4, TIMESTAMP '2026-02-01 10:00:00+00', 3, 'completed', 'its namesake comes after the run date'),
		('o5', 4, TIMESTAMP '2026-04-02 10:00:00+00', 3, 'completed', NULL),
		(NULL, 5, TIMESTAMP '2026-02-01 10:00:00+00', 1, 'completed', NULL),
		(NULL, 5, TIMESTAMP '2026-02-02 10:00:00+00', 1, 'completed', NULL),
		('  ', 6, TIMESTAMP '2026-02-01 10:00:00+00', 1, 'completed', NULL),
		('', 6, TIMESTAMP '2026-02-02 10:00:00+00', 1, 'completed', NULL)`)

	j, err := jobfile.Parse([]byte(`
name: emu
timezone: Europe/Berlin
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, status: State}
`), "/")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	md, err := c.Dataset("sales").Table("orders").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, err := bqsource.Plan(rc, md.Schema)
	if err != nil {
		t.Fatal(err)
	}
	query := c.Query(q.SQL)
	query.Parameters = q.Params
	it, err := query.Read(ctx)
	if err != nil {
		t.Fatalf("%s: %v", q.SQL, err)
	}
	var got []string
	for {
		var row map[string]bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(row) != 6 {
			t.Fatalf("row %v: want the five canonical columns and _shared_order_id", row)
		}
		if ts, ok := row["order_ts"].(time.Time); ok && !ts.Before(rc.WindowEnd) {
			t.Errorf("row after the run date read: %v", row)
		}
		id, _ := row["order_id"].(string)
		got = append(got, fmt.Sprintf("%q %v", id, row["_shared_order_id"]))
	}
	// The result has no order.
	slices.Sort(got)
	// Null ids read as "".
	want := []string{`"  " false`, `" o1" true`, `"" false`, `"" false`, `"" false`, `"o1" true`, `"o2" false`, `"o3" false`, `"o5" false`}
	if !slices.Equal(got, want) {
		t.Errorf("order ids and flags\n%v\nwant\n%v", got, want)
	}
}
