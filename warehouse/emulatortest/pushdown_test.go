package emulatortest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	"retain/preview"
	"retain/stages"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

// TestPushdownEqualsPlainRead runs the job on one orders table twice, with
// and without pushdown, and checks every table (quarantine included) is the
// same file. The emulator executes every query the job sends; its results
// reach the job through the real client and the Storage Read API fake, as
// Arrow, because the emulator's own Storage Read API returns no rows.
//
// The shop has rows failing each check, duplicate order ids across and
// within customers, padded order ids (and one that is a duplicate once
// trimmed), statuses in mixed case, orders after the run date, and
// same-time orders with different countries, and refunds: orders with a
// refund status and partial refunds (negative amounts) of every fate
// validate gives them (applied, before their order in the input, beyond the
// order's amount, of another customer, dated before the order, of an order
// that is not there, of a status not counted). Results come back in batches
// over several streams, in no fixed order. Most amounts are whole quarters;
// a few customers' are not binary fractions (0.1, 19.99), whose sums agree
// only because both sides add exactly.
func TestPushdownEqualsPlainRead(t *testing.T) {
	c, url := startURL(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, Ctry STRING, Chan STRING, State STRING)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, Cur, Ctry, Chan, State) VALUES "+strings.Join(shopRows(), ",\n"))

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
		// Served in small batches over several streams, which the client
		// reads concurrently: the job sees the rows in no fixed order.
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
	// The source table's schema, as the job reads it before querying.
	md, err := c.Dataset("sales").Table("orders").Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fields := make([]*bq.TableFieldSchema, len(md.Schema))
	for i, f := range md.Schema {
		fields[i] = &bq.TableFieldSchema{Name: f.Name, Type: string(f.Type), Mode: "NULLABLE"}
	}
	fake.Tables[project+".sales.orders"] = &bq.Table{Schema: &bq.TableSchema{Fields: fields}}
	srv := fake.Start()
	defer srv.Close()
	addr, stop, err := storage.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	opts := func() stages.Options {
		conn, err := bqfake.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		return stages.Options{BigQuery: bqclient.Options{
			REST:    []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication()},
			Storage: []option.ClientOption{option.WithGRPCConn(conn), option.WithoutAuthentication()},
		}}
	}

	plain, pushed := t.TempDir(), t.TempDir()
	sumPlain := runPipeline(t, jobYAML(false), plain, opts())
	queries := len(fake.Queries)
	sumPushed := runPipeline(t, jobYAML(true), pushed, opts())
	if len(fake.Queries)-queries != 3 {
		t.Fatalf("pushdown sent %d queries, want 3", len(fake.Queries)-queries)
	}
	if sumPlain.Rows != sumPushed.Rows || sumPlain.Rows.Quarantined == 0 || sumPlain.Rows.Excluded == 0 {
		t.Errorf("rows: plain %+v, pushdown %+v", sumPlain.Rows, sumPushed.Rows)
	}
	// Result rows of the plain read, then of counts, raw rows and cells:
	// fewer rows come back, most of them folded.
	if n := resultRows; len(n) != 4 || n[0] != int(sumPlain.Rows.Read) || n[1] != 1 || n[2] >= n[0]/2 || n[2]+n[3] >= n[0] {
		t.Errorf("result rows %v: want most of %d rows folded", n, sumPlain.Rows.Read)
	}
	t.Logf("rows %+v; result rows (plain, counts, raw, cells) %v", sumPushed.Rows, resultRows)
	// No query looked ordered to the client, which would have read it
	// through one stream.
	for i, s := range storage.Sessions {
		if s.MaxStreamCount != 0 || s.PreferredMinStreamCount < 1 {
			t.Errorf("read session %d asked for at most %d streams (at least %d)", i, s.MaxStreamCount, s.PreferredMinStreamCount)
		}
	}
	// The manifest lists pushdown's queries in the order run, each with the
	// rows its result carried.
	for _, c := range []struct {
		root  string
		names []string
		rows  []int
	}{{plain, []string{"orders"}, resultRows[:1]}, {pushed, []string{"counts", "raw_orders", "order_cells"}, resultRows[1:]}} {
		raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(c.root, "2026-03-31"), pipeline.ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		var m pipeline.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var names []string
		var rows []int
		for _, q := range m.Queries {
			if q.JobID == "" || q.StatsError != "" {
				t.Errorf("manifest query %+v", q)
			}
			names, rows = append(names, q.Name), append(rows, int(q.Rows))
		}
		if !slices.Equal(names, c.names) || !slices.Equal(rows, c.rows) {
			t.Errorf("manifest queries %v with rows %v, want %v with %v", names, rows, c.names, c.rows)
		}
	}
	// The losers of the ties rule R1 settles, by the key that settles
	// each, so a broken key is named here and not only as a changed file.
	// d5's rows differ only in country, which quarantine does not keep:
	// its NULL country won, so it names customer 14's.
	dups := printed(t, pushed, "quarantine", preview.Options{Columns: []string{"order_id", "customer_id", "amount", "status"}, Where: map[string]string{"reason": "duplicate_order_id"}})
	var ties []string
	for _, l := range dups {
		if f := strings.Fields(l); len(f) == 4 && len(f[0]) == 2 && f[0][0] == 'd' {
			ties = append(ties, strings.Join(f, " "))
		}
	}
	slices.Sort(ties)
	if want := []string{
		"d1 9 5 completed",  // customer '10' before '9'
		"d2 11 8 completed", // the smaller amount
		"d3 12 9 completed", // NULL status first
		"d4 13 9 completed", // 'cancelled' before 'completed'
		"d5 14 9 completed", // NULL country first
		"d6 15 6 completed", // identical rows: one of them
	}; !slices.Equal(ties, want) {
		t.Errorf("losers of the ties:\n%s\nwant\n%s", strings.Join(ties, "\n"), strings.Join(want, "\n"))
	}
	if got := printed(t, pushed, "customer_summary", preview.Options{Columns: []string{"country"}, Where: map[string]string{"customer_id": "14"}}); len(got) != 2 || strings.TrimSpace(got[1]) != "—" {
		t.Errorf("customer 14's country %q, want NULL from the winner of d5", got)
	}
	want, got := tableFiles(t, plain), tableFiles(t, pushed)
	if len(want) < 9 || len(got) != len(want) {
		t.Fatalf("%d tables with pushdown, %d without", len(got), len(want))
	}
	for p, raw := range want {
		if !bytes.Equal(got[p], raw) {
			t.Errorf("%s differs with pushdown", p)
		}
	}
}

// printed is a table's rows of the run as `retain show` prints them (a
// header line first).
func printed(t *testing.T, root, table string, o preview.Options) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, table, "snapshot_date=*", "*.parquet"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("%s files %v (%v), want one", table, paths, err)
	}
	var buf bytes.Buffer
	if err := preview.Print(&buf, paths[0], o); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

// resultBatchRows is the size of the Arrow batches each query result is
// served in.
const resultBatchRows = 64

func jobYAML(pushdown bool) string {
	return fmt.Sprintf(`
name: emu
timezone: Europe/Berlin
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: %t}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, currency: Cur, country: Ctry, channel: Chan, status: State}
  reporting_currency: EUR
validate: {counted_statuses: [completed, Shipped]}
clv: {min_customers: 20}
`, pushdown)
}

// shopRows are SQL row literals of the test shop.
func shopRows() []string {
	rng := rand.New(rand.NewPCG(3, 5))
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	lit := func(s string) string {
		if s == "" {
			return "NULL"
		}
		return "'" + s + "'"
	}
	var rows []string
	var ids, clients []string
	for i := range 600 {
		id := fmt.Sprintf("o%04d", i)
		client := strconv.Itoa(1 + rng.IntN(80))
		ts := "TIMESTAMP '" + start.Add(time.Duration(rng.IntN(320*24*60))*time.Minute).Format("2006-01-02 15:04:05") + "+00'"
		total := fmt.Sprintf("%d.%02d", rng.IntN(300), 25*rng.IntN(4))
		country := []string{"DE", "FR", "US", ""}[rng.IntN(4)]
		channel := []string{"web", "app", ""}[rng.IntN(3)]
		state := []string{"completed", "Completed ", "shipped", "cancelled", ""}[rng.IntN(5)]
		switch i % 50 {
		case 1:
			id = ""
		case 2:
			client = "NULL"
		case 3:
			ts = "NULL"
		case 4:
			// A refund of an order that is not there, by a customer whose
			// rows go to validate for their refunds anyway.
			total, client = "-5", "81"
		case 5:
			if i > 50 {
				id = ids[i-10] // a duplicate id, usually of another customer's order
			}
		case 9:
			if i > 50 {
				id, client = ids[i-20], clients[i-20] // a duplicate order of the same customer
			}
		case 6:
			total = "NULL"
		case 10:
			// Padded ids send their customer's rows to validate, so only
			// two: one a duplicate only once trimmed.
			switch i {
			case 110:
				id = " " + id
			case 260:
				id = ids[i-10] + " "
			default:
				total = "2000000000" // above validate.max_amount
			}
		case 11:
			ts = "TIMESTAMP '1985-06-01 12:00:00+00'" // before validate.min_order_ts
		case 7:
			ts = "TIMESTAMP '2026-03-31 22:30:00+00'" // after the run date in Berlin
		case 8:
			// Same time as the previous row's, same customer: the greater
			// country (DE) names the customer's, whichever row comes first.
			rows = append(rows, fmt.Sprintf("('%s-a', 7, TIMESTAMP '2026-01-10 10:00:00+00', 10, 'EUR', 'DE', 'web', 'completed')", id))
			id, client, ts, country = id+"-b", "7", "TIMESTAMP '2026-01-10 10:00:00+00'", "AT"
		}
		ids, clients = append(ids, id), append(clients, client)
		var state2 string
		if state == "" {
			state2 = "NULL"
		} else {
			state2 = lit(state)
		}
		rows = append(rows, fmt.Sprintf("(%s, %s, %s, %s, 'EUR', %s, %s, %s)", lit(id), client, ts, total, lit(country), lit(channel), state2))
	}
	// Refunds come back alone, with the orders they name flagged
	// _folded_order; the rest of their customers' orders fold.
	return append(rows,
		// Customer 90 buys on several days of November 2025, one cell of
		// the grid; the refund of its 10 November order is netted inside
		// that cell.
		"('m1', 90, TIMESTAMP '2025-10-01 10:00:00+00', 10, 'EUR', 'SE', 'web', 'completed')",
		"('m2', 90, TIMESTAMP '2025-11-03 10:00:00+00', 20.5, 'EUR', 'SE', 'web', 'completed')",
		"('m3', 90, TIMESTAMP '2025-11-10 10:00:00+00', 30.25, 'EUR', 'SE', 'app', 'completed')",
		"('m4', 90, TIMESTAMP '2025-11-17 10:00:00+00', 40, 'EUR', 'SE', 'app', 'shipped')",
		"('m3', 90, TIMESTAMP '2025-12-01 10:00:00+00', -4.5, 'EUR', 'SE', 'app', 'completed')",
		// Duplicate ids that tie on the instant: rule R1 settles each in
		// SQL as validate does, by the trimmed customer (byte order:
		// '10' before '9'), then the smaller amount, then the status
		// (NULL first, 'cancelled' before 'completed'), then the country;
		// and a refund names an id whose winner only R1 decides.
		"('d1', 9, TIMESTAMP '2026-01-15 10:00:00+00', 5, 'EUR', 'DE', 'web', 'completed')",
		"('d1', 10, TIMESTAMP '2026-01-15 10:00:00+00', 50, 'EUR', 'DE', 'web', 'completed')",
		"('d2', 11, TIMESTAMP '2026-01-16 10:00:00+00', 8, 'EUR', 'DE', 'web', 'completed')",
		"('d2', 11, TIMESTAMP '2026-01-16 10:00:00+00', 7.5, 'EUR', 'DE', 'web', 'completed')",
		"('d3', 12, TIMESTAMP '2026-01-17 10:00:00+00', 9, 'EUR', 'DE', 'web', 'completed')",
		"('d3', 12, TIMESTAMP '2026-01-17 10:00:00+00', 9, 'EUR', 'DE', 'web', NULL)",
		"('d4', 13, TIMESTAMP '2026-01-18 10:00:00+00', 9, 'EUR', 'DE', 'web', 'completed')",
		"('d4', 13, TIMESTAMP '2026-01-18 10:00:00+00', 9, 'EUR', 'DE', 'web', 'cancelled')",
		"('d5', 14, TIMESTAMP '2026-01-19 10:00:00+00', 9, 'EUR', 'FR', 'web', 'completed')",
		"('d5', 14, TIMESTAMP '2026-01-19 10:00:00+00', 9, 'EUR', NULL, 'web', 'completed')",
		"('d6', 15, TIMESTAMP '2026-01-20 10:00:00+00', 6, 'EUR', 'DE', 'app', 'completed')",
		"('d6', 15, TIMESTAMP '2026-01-20 10:00:00+00', 6, 'EUR', 'DE', 'app', 'completed')",
		"('d1', 10, TIMESTAMP '2026-01-25 10:00:00+00', -3, 'EUR', 'DE', 'web', 'completed')",
		"('r1', 81, TIMESTAMP '2026-02-03 10:00:00+00', -20.50, 'EUR', 'DE', 'web', 'completed')", // before its order in the input
		"('r1', 81, TIMESTAMP '2026-02-01 10:00:00+00', 100.25, 'EUR', 'DE', 'web', 'completed')",
		"('r1', 81, TIMESTAMP '2026-02-05 10:00:00+00', -90.25, 'EUR', 'DE', 'web', 'completed')", // beyond what is left
		"('r1', 81, TIMESTAMP '2026-02-06 10:00:00+00', -10, 'EUR', 'DE', 'web', NULL)",           // still fits
		"('r1', 81, TIMESTAMP '2026-03-02 10:00:00+00', 60, 'EUR', 'DE', 'app', 'completed')",
		"('r2', 82, TIMESTAMP '2026-02-10 10:00:00+00', 40.50, 'EUR', 'FR', 'app', 'Returned ')", // refunded in full
		"('r2', 82, TIMESTAMP '2026-02-11 10:00:00+00', -1, 'EUR', 'FR', 'app', 'completed')",    // so this is beyond
		"('r5', 82, TIMESTAMP '2026-03-01 10:00:00+00', 12.75, 'EUR', 'FR', 'web', 'refunded')",
		"('r3', 83, TIMESTAMP '2026-02-12 10:00:00+00', 30, 'EUR', 'DE', 'web', 'shipped')",
		"('r3', 84, TIMESTAMP '2026-02-13 10:00:00+00', -5, 'EUR', 'DE', 'web', 'completed')",    // another customer
		"('r3', 83, TIMESTAMP '2026-02-11 10:00:00+00', -5, 'EUR', 'DE', 'web', 'completed')",    // before the order
		"('r3', 83, TIMESTAMP '2026-02-14 10:00:00+00', -2.25, 'EUR', 'DE', 'web', 'cancelled')", // not counted
		"('r3', 83, TIMESTAMP '2026-02-15 10:00:00+00', -7.75, 'EUR', 'DE', 'web', 'Shipped')",
		// Orders in another currency are quarantined (unknown_currency),
		// a code written another way or missing is the reporting one.
		"('u1', 88, TIMESTAMP '2026-02-20 10:00:00+00', 15, 'USD', 'US', 'web', 'completed')",
		"('u2', 88, TIMESTAMP '2026-02-21 10:00:00+00', 16, ' eur ', 'US', 'web', 'completed')",
		"('u3', 89, TIMESTAMP '2026-02-22 10:00:00+00', 17, NULL, 'US', 'app', 'completed')",
		"('u4', 89, TIMESTAMP '2026-02-23 10:00:00+00', 18, 'eur', 'US', 'app', 'completed')",
		// Customers folded in SQL whose latest orders tie in time: the
		// greatest country names theirs, then the greatest channel, null
		// lowest; the ids put the smaller value later in the table. Their
		// amounts are not binary fractions, so their sums are only the same
		// when both sides add exactly.
		"('t1', 85, TIMESTAMP '2026-01-20 10:00:00+00', 0.2, 'EUR', 'FR', 'web', 'completed')",
		"('t2', 85, TIMESTAMP '2026-03-20 10:00:00+00', 0.1, 'EUR', 'DE', 'app', 'completed')",
		"('t3', 85, TIMESTAMP '2026-03-20 10:00:00+00', 19.99, 'EUR', 'AT', 'web', 'completed')",
		"('t4', 86, TIMESTAMP '2026-03-21 09:00:00+00', 7.07, 'EUR', 'FR', NULL, 'completed')",
		"('t5', 86, TIMESTAMP '2026-03-21 09:00:00+00', 5.03, 'EUR', NULL, 'web', 'completed')",
		"('t6', 87, TIMESTAMP '2026-03-22 08:00:00+00', 3.3, 'EUR', 'DE', 'web', 'completed')",
		"('t7', 87, TIMESTAMP '2026-03-22 08:00:00+00', 1.1, 'EUR', 'DE', 'app', 'completed')",
	)
}

func runPipeline(t *testing.T, jobText, out string, opts stages.Options) *pipeline.Summary {
	t.Helper()
	j, err := jobfile.Parse([]byte(jobText), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := stages.RegisterAllWith(reg, opts); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sum, err := pipeline.Run(context.Background(), pipeline.Options{
		Job: j, Registry: reg, RunDate: "2026-03-31", RunID: "r", OutputDir: out, Mem: mem, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// tableFiles reads every table file a reader of root sees (the date
// folders are links into _nights/) but the run-specific ones.
func tableFiles(t *testing.T, root string) map[string][]byte {
	files := map[string][]byte{}
	paths, err := filepath.Glob(filepath.Join(root, "*", "snapshot_date=*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(rel, "_") || strings.HasPrefix(rel, "report") || strings.HasPrefix(rel, "model_fit") {
			continue
		}
		if files[rel], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// toArrow turns a REST query result into the Arrow record the Storage Read
// API would deliver.
func toArrow(res *bq.QueryResponse) (*arrow.Schema, arrow.Record, error) {
	fields := make([]arrow.Field, len(res.Schema.Fields))
	for i, f := range res.Schema.Fields {
		var typ arrow.DataType
		switch f.Type {
		case "STRING":
			typ = arrow.BinaryTypes.String
		case "INTEGER", "INT64":
			typ = arrow.PrimitiveTypes.Int64
		case "FLOAT", "FLOAT64":
			typ = arrow.PrimitiveTypes.Float64
		case "NUMERIC":
			typ = &arrow.Decimal128Type{Precision: 38, Scale: 9}
		case "TIMESTAMP":
			typ = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		case "DATE":
			typ = arrow.FixedWidthTypes.Date32
		case "BOOLEAN", "BOOL":
			typ = arrow.FixedWidthTypes.Boolean
		default:
			return nil, nil, fmt.Errorf("result column %s has type %s", f.Name, f.Type)
		}
		fields[i] = arrow.Field{Name: f.Name, Type: typ, Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), sc)
	defer b.Release()
	for _, row := range res.Rows {
		for i, cell := range row.F {
			fb := b.Field(i)
			if cell.V == nil {
				fb.AppendNull()
				continue
			}
			v, ok := cell.V.(string)
			if !ok {
				return nil, nil, fmt.Errorf("column %s: unexpected value %v", fields[i].Name, cell.V)
			}
			var err error
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v)
			case *array.Int64Builder:
				var n int64
				n, err = strconv.ParseInt(v, 10, 64)
				fb.Append(n)
			case *array.Float64Builder:
				var x float64
				x, err = strconv.ParseFloat(v, 64)
				fb.Append(x)
			case *array.Decimal128Builder:
				var d decimal128.Num
				d, err = decimal128.FromString(v, 38, 9)
				fb.Append(d)
			case *array.TimestampBuilder:
				var us int64
				us, err = parseMicros(v)
				fb.Append(arrow.Timestamp(us))
			case *array.Date32Builder:
				var d time.Time
				d, err = time.Parse(time.DateOnly, v)
				fb.Append(arrow.Date32FromTime(d))
			case *array.BooleanBuilder:
				var x bool
				x, err = strconv.ParseBool(v)
				fb.Append(x)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("column %s value %q: %w", fields[i].Name, v, err)
			}
		}
	}
	return sc, b.NewRecord(), nil
}

// parseMicros reads a REST timestamp: integer microseconds, or float seconds.
func parseMicros(v string) (int64, error) {
	if us, err := strconv.ParseInt(v, 10, 64); err == nil {
		return us, nil
	}
	s, err := strconv.ParseFloat(v, 64)
	return int64(s*1e6 + 0.5), err
}
