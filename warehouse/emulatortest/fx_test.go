package emulatortest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
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
	"retain/stages/validate"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

// fxRates are the rates of the FX test shop (date YYYY-MM-DD, currency,
// rate): weekly USD and GBP rates on Sundays, USD from 2025-06-01 and GBP
// only from 2025-09-07, the last ones a few days before the run date, and
// one JPY rate; none is a binary fraction.
func fxRates() [][]string {
	var rates [][]string
	for d := 0; d < 44; d++ {
		day := time.Date(2025, 6, 1+7*d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		rates = append(rates, []string{day, "USD", fmt.Sprintf("0.%d", 851+d*3)})
		if d >= 14 {
			rates = append(rates, []string{day, "GBP", fmt.Sprintf("1.1%d", 3+d%7)})
		}
	}
	return append(rates, []string{"2026-01-01", "JPY", "0.0061"})
}

// fxCase is one form of the FX test shop's rates, and what pushdown must
// send back raw for it.
type fxCase struct {
	name string
	// typ is the rates table's date type; sqlDay turns a rate's date
	// into a value of it, fileDay into the text a CSV export writes.
	typ             string
	sqlDay, fileDay func(string) string
	// raw are the orders in other currencies that come back raw,
	// unknown how many of them validate finds no rate for.
	raw     []string
	unknown int64
}

// fxCases are the FX test shop's rates as dates, and as timestamps whose
// local day is not always their UTC day.
var fxCases = []fxCase{
	{"date rates", "DATE", func(d string) string { return "DATE '" + d + "'" }, func(d string) string { return d },
		[]string{"x06", "x08", "x09", "x12", "x21", "x21"}, 3},
	// 22:30 UTC the evening before: midnight past in Berlin in
	// summer, so the rate's local day is the date; in winter 23:30,
	// the day before, so from then the JPY rate applies to x09 too.
	{"timestamp rates", "TIMESTAMP", func(d string) string {
		return "TIMESTAMP_SUB(TIMESTAMP(DATE '" + d + "'), INTERVAL 90 MINUTE)"
	}, func(d string) string {
		t, _ := time.Parse(time.DateOnly, d)
		return t.Add(-90 * time.Minute).Format(time.RFC3339)
	}, []string{"x06", "x08", "x12", "x21", "x21"}, 2},
}

// fxShop fills the emulator with the FX test shop's orders (shopRows and
// fxShopRows) and returns its rates with every rate twice, the copies in
// reverse order, each as (date, currency, rate) with the date by day.
func fxShop(t *testing.T, c *bigquery.Client, day func(string) string) [][]string {
	t.Helper()
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, Ctry STRING, Chan STRING, State STRING)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, Cur, Ctry, Chan, State) VALUES "+strings.Join(append(shopRows(), fxShopRows()...), ",\n"))
	rates := fxRates()
	var out [][]string
	for i := range rates {
		r := rates[len(rates)-1-i]
		out = append(out, []string{day(rates[i][0]), rates[i][1], rates[i][2]}, []string{day(r[0]), r[1], r[2]})
	}
	return out
}

// checkFXPushdown runs the job as plainYAML and pushedYAML describe it
// (without and with pushdown) and checks that pushdown sent queries
// queries, and that both wrote the same tables, quarantine included, and
// the same row accounting, with tt's orders in other currencies raw.
func checkFXPushdown(t *testing.T, h *fxHarness, tt fxCase, plainYAML, pushedYAML string, queries int) {
	t.Helper()
	plain, pushed := t.TempDir(), t.TempDir()
	sumPlain := runPipeline(t, plainYAML, plain, h.opts())
	sent := len(h.fake.Queries)
	sumPushed := runPipeline(t, pushedYAML, pushed, h.opts())
	if n := len(h.fake.Queries) - sent; n != queries {
		t.Fatalf("pushdown sent %d queries, want %d", n, queries)
	}
	if sumPlain.Rows != sumPushed.Rows || sumPlain.Rows.Quarantined == 0 {
		t.Errorf("rows: plain %+v, pushdown %+v", sumPlain.Rows, sumPushed.Rows)
	}
	// The raw rows in other currencies are those validate
	// quarantines: without a rate, or converted above the limit
	// (x12); and the refunded order's (x21). shopRows' USD order
	// u1 has a rate.
	res, cur := h.result(t, "WITH src AS", "WHERE _raw", "currency")
	_, oid := h.result(t, "WITH src AS", "WHERE _raw", "order_id")
	var foreign []string
	for _, r := range res.Rows {
		if v, ok := r.F[cur].V.(string); ok && strings.ToUpper(strings.TrimSpace(v)) != "EUR" {
			foreign = append(foreign, r.F[oid].V.(string))
		}
	}
	slices.Sort(foreign)
	if !slices.Equal(foreign, tt.raw) {
		t.Errorf("raw rows in other currencies %v, want %v", foreign, tt.raw)
	}
	m := manifest(t, pushed)
	if m.Rows.Quarantined["unknown_currency"] != tt.unknown || m.Rows.Quarantined["amount_out_of_range"] == 0 {
		t.Errorf("quarantine by reason %v", m.Rows.Quarantined)
	}
	if diff := differentTables(t, plain, pushed); len(diff) > 0 {
		t.Errorf("tables differ with pushdown: %v", diff)
	}
	t.Logf("rows %+v; quarantined %v", sumPushed.Rows, m.Rows.Quarantined)
}

// differentTables are the tables of run b that are not the same file in
// run a; it fails when the two did not write the same tables.
func differentTables(t *testing.T, a, b string) []string {
	t.Helper()
	want, got := tableFiles(t, a), tableFiles(t, b)
	if len(want) < 9 || len(got) != len(want) {
		t.Fatalf("%d tables in %s, %d in %s", len(got), b, len(want), a)
	}
	var diff []string
	for p, raw := range want {
		if !bytes.Equal(got[p], raw) {
			diff = append(diff, p)
		}
	}
	slices.Sort(diff)
	return diff
}

// fxShopRows are orders in other currencies, of customers of their own
// (90 to 99), beside shopRows' EUR orders.
func fxShopRows() []string {
	return []string{
		// On a rate's own day, and on a day without one: the latest
		// earlier rate applies, however old.
		"('x01', 91, TIMESTAMP '2025-06-08 10:00:00+00', 10.10, 'USD', 'US', 'web', 'completed')",
		"('x02', 91, TIMESTAMP '2025-06-10 10:00:00+00', 20.20, 'USD', 'US', 'web', 'completed')",
		"('x03', 91, TIMESTAMP '2025-06-10 12:00:00+00', 0.1, 'USD', 'US', 'app', 'completed')",
		// 23:30 UTC on the 14th is the 15th in Berlin, the day of a new
		// rate: the order's local day picks it.
		"('x04', 92, TIMESTAMP '2025-06-14 23:30:00+00', 33.33, 'USD', 'DE', 'web', 'completed')",
		"('x05', 92, TIMESTAMP '2025-06-14 21:30:00+00', 44.44, ' usd', 'DE', 'web', 'completed')",
		// GBP before its first rate, and a currency without any: raw,
		// quarantined as unknown_currency.
		"('x06', 93, TIMESTAMP '2025-08-20 10:00:00+00', 12.50, 'GBP', 'GB', 'web', 'completed')",
		"('x07', 93, TIMESTAMP '2025-09-20 10:00:00+00', 12.50, 'GBP', 'GB', 'web', 'completed')",
		"('x08', 94, TIMESTAMP '2026-02-01 10:00:00+00', 3.00, 'CHF', 'CH', 'web', 'completed')",
		// JPY before and after its only rate; 2e9 yen is above
		// validate.max_amount as read, not once converted.
		"('x09', 95, TIMESTAMP '2025-12-31 10:00:00+00', 5000, 'JPY', 'JP', 'app', 'completed')",
		"('x10', 95, TIMESTAMP '2026-02-01 10:00:00+00', 12345, 'JPY', 'JP', 'app', 'completed')",
		"('x11', 95, TIMESTAMP '2026-02-02 10:00:00+00', 2000000000, 'JPY', 'JP', 'web', 'completed')",
		// Converted above validate.max_amount: amount_out_of_range.
		"('x12', 96, TIMESTAMP '2026-01-05 10:00:00+00', 1500000000, 'USD', 'US', 'web', 'completed')",
		"('x13', 96, TIMESTAMP '2026-01-06 10:00:00+00', 1.5, 'USD', 'US', 'web', 'completed')",
		// Latest orders that tie in time, in two currencies: the greatest
		// country names the customer's, then the greatest channel.
		"('x14', 97, TIMESTAMP '2026-03-01 09:00:00+00', 7.07, 'USD', 'FR', 'web', 'completed')",
		"('x15', 97, TIMESTAMP '2026-03-01 09:00:00+00', 5.03, 'GBP', 'GB', 'app', 'completed')",
		"('x16', 97, TIMESTAMP '2026-03-01 09:00:00+00', 2.5, 'EUR', 'FR', 'app', 'completed')",
		// After the last rate, on the run date: it holds until then.
		"('x17', 98, TIMESTAMP '2026-03-31 08:00:00+00', 19.99, 'USD', 'US', 'web', 'completed')",
		"('x18', 98, TIMESTAMP '2026-03-30 08:00:00+00', 0.3, 'gbp', 'GB', 'web', 'shipped')",
		// A partial refund in USD sends its customer's rows to validate,
		// which converts them there.
		"('x21', 90, TIMESTAMP '2026-01-10 10:00:00+00', 50.50, 'USD', 'US', 'web', 'completed')",
		"('x21', 90, TIMESTAMP '2026-01-20 10:00:00+00', -10.10, 'USD', 'US', 'web', 'completed')",
		"('x22', 90, TIMESTAMP '2026-01-11 10:00:00+00', 5, 'EUR', 'US', 'app', 'completed')",
		// Excluded for its status, converted or not.
		"('x19', 99, TIMESTAMP '2026-03-02 08:00:00+00', 9.99, 'USD', 'US', 'web', 'cancelled')",
		"('x20', 99, TIMESTAMP '2026-03-03 08:00:00+00', 1.1, 'USD', 'US', 'web', 'completed')",
	}
}

// fxJobYAML is jobYAML with the rates read from their BigQuery table.
func fxJobYAML(pushdown bool) string {
	return strings.Replace(jobYAML(pushdown), "  reporting_currency: EUR\n",
		"  fx_rates:\n    bigquery: {project: shop-analytics, dataset: finance, table: rates}\n    columns: {date: day, rate_to_reporting: rate}\n  reporting_currency: EUR\n", 1)
}

// fxHarness serves the emulator's query results to the job through the
// REST and Storage Read fakes, as TestPushdownEqualsPlainRead does, and
// hands each result to seen first.
type fxHarness struct {
	fake  *bqfake.Server
	opts  func() stages.Options
	mu    sync.Mutex
	sql   []string
	rows  []*bq.QueryResponse
	close func()
}

func newFXHarness(t *testing.T, c *bigquery.Client, url string, tables ...string) *fxHarness {
	t.Helper()
	h := &fxHarness{fake: bqfake.New()}
	storage := bqfake.NewStorage()
	storage.Streams = 4
	svc, err := bq.NewService(context.Background(), option.WithEndpoint(url), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	h.fake.Query = func(sql string, params []*bq.QueryParameter) (*bq.TableReference, error) {
		useLegacy := false
		res, err := svc.Jobs.Query(project, &bq.QueryRequest{Query: sql, QueryParameters: params, UseLegacySql: &useLegacy, ParameterMode: "NAMED",
			FormatOptions: &bq.DataFormatOptions{UseInt64Timestamp: true}}).Do()
		if err != nil {
			return nil, fmt.Errorf("emulator: %w\n%s", err, sql)
		}
		h.mu.Lock()
		results++
		name := fmt.Sprintf("result%d", results)
		h.sql, h.rows = append(h.sql, sql), append(h.rows, res)
		h.mu.Unlock()
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
		return h.fake.ArrowTable(project, "_anon", name, sc), nil
	}
	for _, tbl := range tables {
		ds, name, _ := strings.Cut(tbl, ".")
		md, err := c.Dataset(ds).Table(name).Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fields := make([]*bq.TableFieldSchema, len(md.Schema))
		for i, f := range md.Schema {
			fields[i] = &bq.TableFieldSchema{Name: f.Name, Type: string(f.Type), Mode: "NULLABLE"}
		}
		h.fake.Tables[project+"."+tbl] = &bq.Table{Schema: &bq.TableSchema{Fields: fields}}
	}
	srv := h.fake.Start()
	addr, stop, err := storage.Start()
	if err != nil {
		t.Fatal(err)
	}
	h.close = func() { stop(); srv.Close() }
	t.Cleanup(h.close)
	// The orders reader and validate's read of the rates each dial a
	// connection of their own: closing a client closes one it was handed.
	h.opts = func() stages.Options {
		return stages.Options{BigQuery: bqclient.Options{
			REST: []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication()},
			Storage: []option.ClientOption{option.WithEndpoint(addr), option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
				option.WithGRPCDialOption(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1 << 28)))},
		}}
	}
	return h
}

// result is the emulator's answer to the query whose SQL starts with
// prefix and holds part, and its column index of name.
func (h *fxHarness) result(t *testing.T, prefix, part, name string) (*bq.QueryResponse, int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.sql) - 1; i >= 0; i-- {
		if strings.HasPrefix(h.sql[i], prefix) && strings.Contains(h.sql[i], part) {
			for c, f := range h.rows[i].Schema.Fields {
				if f.Name == name {
					return h.rows[i], c
				}
			}
			t.Fatalf("result of %s… has no column %s", prefix, name)
		}
	}
	t.Fatalf("no query %s…%s… was sent", prefix, part)
	return nil, 0
}

// TestPushdownConvertsFX runs a shop in several currencies whose FX rates
// are a BigQuery table, with and without pushdown, and checks every table
// (quarantine included) is the same file and the row accounting the same.
// With pushdown the orders are converted in SQL: rows with a rate come
// back folded, only those without (before their currency's first rate, a
// currency without rates) or beyond validate.max_amount once converted
// come back raw. The rates table lists every rate twice, in no order; the
// orders include one on a rate's day, on days without one, one whose local
// day is a rate's day and its UTC day not, codes written " usd", latest
// orders in two currencies tying in time, amounts that are not binary
// fractions and an order on the run date, after the last rate. The rates
// are dates, and then timestamps whose local day is not always their UTC
// day.
func TestPushdownConvertsFX(t *testing.T) {
	for _, tt := range fxCases {
		t.Run(tt.name, func(t *testing.T) {
			c, url := startURL(t)
			rates := fxShop(t, c, tt.sqlDay)
			exec(t, c, "CREATE TABLE `shop-analytics.finance.rates` (day "+tt.typ+", currency STRING, rate FLOAT64)")
			var vals []string
			for _, r := range rates {
				vals = append(vals, fmt.Sprintf("(%s, '%s', %s)", r[0], r[1], r[2]))
			}
			exec(t, c, "INSERT INTO `shop-analytics.finance.rates` (day, currency, rate) VALUES "+strings.Join(vals, ",\n"))
			h := newFXHarness(t, c, url, "sales.orders", "finance.rates")
			// fx_conflicts, counts, raw_orders, order_cells, and validate's
			// read of the rates.
			checkFXPushdown(t, h, tt, fxJobYAML(false), fxJobYAML(true), 5)
		})
	}
}

// fxFileJobYAML is jobYAML with the rates read from the CSV file path.
func fxFileJobYAML(pushdown bool, path string) string {
	return strings.Replace(jobYAML(pushdown), "  reporting_currency: EUR\n",
		"  fx_rates:\n    path: "+path+"\n    columns: {date: day, rate_to_reporting: rate}\n  reporting_currency: EUR\n", 1)
}

// TestPushdownConvertsFXFiles is TestPushdownConvertsFX with the rates in
// a local CSV file, sent with the queries as parameters: every table the
// same with and without pushdown, and only the orders' three queries sent
// (validate reads the file itself). Rates shifted by one day make the
// tables differ, so the comparison sees a rate applied a day off.
func TestPushdownConvertsFXFiles(t *testing.T) {
	for _, tt := range fxCases {
		t.Run(tt.name, func(t *testing.T) {
			c, url := startURL(t)
			rates := fxShop(t, c, tt.fileDay)
			dir := t.TempDir()
			path := filepath.Join(dir, "fx.csv")
			writeCSV(t, path, "day,currency,rate", rates)
			h := newFXHarness(t, c, url, "sales.orders")
			checkFXPushdown(t, h, tt, fxFileJobYAML(false, path), fxFileJobYAML(true, path), 3)

			// Every rate a day later, with pushdown only.
			var shifted [][]string
			for _, r := range fxRates() {
				d, err := time.Parse(time.DateOnly, r[0])
				if err != nil {
					t.Fatal(err)
				}
				shifted = append(shifted, []string{tt.fileDay(d.AddDate(0, 0, 1).Format(time.DateOnly)), r[1], r[2]})
			}
			late := filepath.Join(dir, "fx_late.csv")
			writeCSV(t, late, "day,currency,rate", shifted)
			plain, pushed := t.TempDir(), t.TempDir()
			runPipeline(t, fxFileJobYAML(false, path), plain, h.opts())
			runPipeline(t, fxFileJobYAML(true, late), pushed, h.opts())
			diff := differentTables(t, plain, pushed)
			if !slices.ContainsFunc(diff, func(p string) bool { return strings.Contains(p, "customer_summary") }) {
				t.Errorf("rates a day late: only %v differ", diff)
			}
		})
	}
}

// TestPushdownConflictingRates: two different rates for one currency and
// day fail a run with pushdown as they fail one without, with the same
// error; the conflicts query finds the least currency and day with their
// two smallest rates, and the same rate twice is no conflict.
func TestPushdownConflictingRates(t *testing.T) {
	c, url := startURL(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, Ctry STRING, Chan STRING, State STRING)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, Cur, Ctry, Chan, State) VALUES "+strings.Join(fxShopRows(), ",\n"))
	exec(t, c, "CREATE TABLE `shop-analytics.finance.rates` (day DATE, currency STRING, rate FLOAT64)")
	exec(t, c, "INSERT INTO `shop-analytics.finance.rates` (day, currency, rate) VALUES "+
		"(DATE '2025-06-01', 'USD', 0.9), (DATE '2025-06-01', 'USD', 0.9), "+ // the same rate twice
		"(DATE '2025-07-06', 'usd', 0.95), (DATE '2025-07-06', 'USD ', 0.91), (DATE '2025-07-06', 'USD', 0.93), "+
		"(DATE '2025-08-03', 'USD', 0.8), (DATE '2025-08-03', 'USD', 0.81), "+
		"(DATE '2025-09-07', 'GBP', 1.1), (DATE '2025-09-07', 'GBP', 1.2)")
	h := newFXHarness(t, c, url, "sales.orders", "finance.rates")
	const msg = "input.fx_rates: conflicting FX rates: GBP has two rates for 2025-09-07 (1.1 and 1.2); keep one"
	for _, pushdown := range []bool{false, true} {
		err := runPipelineErr(t, fxJobYAML(pushdown), t.TempDir(), h.opts())
		if !errors.Is(err, validate.ErrConflictingRates) || !strings.Contains(err.Error(), msg) {
			t.Errorf("pushdown %v: err = %v, want %q", pushdown, err, msg)
		}
	}
	// The same rates in a file: pushdown finds the conflict as it reads
	// them, with the same error, before it sends a query.
	path := filepath.Join(t.TempDir(), "fx.csv")
	writeCSV(t, path, "day,currency,rate", [][]string{{"2025-06-01", "USD", "0.9"}, {"2025-06-01", "USD", "0.9"},
		{"2025-07-06", "usd", "0.95"}, {"2025-07-06", "USD ", "0.91"}, {"2025-07-06", "USD", "0.93"},
		{"2025-08-03", "USD", "0.8"}, {"2025-08-03", "USD", "0.81"}, {"2025-09-07", "GBP", "1.1"}, {"2025-09-07", "GBP", "1.2"}})
	for _, pushdown := range []bool{false, true} {
		sent := len(h.fake.Queries)
		err := runPipelineErr(t, fxFileJobYAML(pushdown, path), t.TempDir(), h.opts())
		if !errors.Is(err, validate.ErrConflictingRates) || !strings.Contains(err.Error(), msg) {
			t.Errorf("file, pushdown %v: err = %v, want %q", pushdown, err, msg)
		}
		if n := len(h.fake.Queries) - sent; pushdown && n != 0 {
			t.Errorf("file rates in conflict: pushdown sent %d queries", n)
		}
	}
	// The conflicts query on its own: every conflicting day, the two
	// smallest of its rates.
	j, err := jobfile.Parse([]byte(fxJobYAML(true)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	orders, err := c.Dataset("sales").Table("orders").Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fx, err := c.Dataset("finance").Table("rates").Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := bqsource.PlanPushdown(rc, orders.Schema, fx.Schema)
	if err != nil {
		t.Fatal(err)
	}
	q := c.Query(p.Conflicts.SQL)
	q.Parameters = p.Conflicts.Params
	it, err := q.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		var row []bigquery.Value
		if err := it.Next(&row); err != nil {
			break
		}
		var cells []string
		for _, v := range row {
			cells = append(cells, fmt.Sprint(v))
		}
		got = append(got, strings.Join(cells, " "))
	}
	slices.Sort(got)
	if want := []string{"GBP 2025-09-07 1.1 1.2", "USD 2025-07-06 0.91 0.93", "USD 2025-08-03 0.8 0.81"}; !slices.Equal(got, want) {
		t.Errorf("conflicts %q, want %q", got, want)
	}
}

// runPipelineErr is runPipeline for a run that must fail: its error.
func runPipelineErr(t *testing.T, jobText, out string, opts stages.Options) error {
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
	_, err = pipeline.Run(context.Background(), pipeline.Options{
		Job: j, Registry: reg, RunDate: "2026-03-31", RunID: "r", OutputDir: out, Mem: mem, Log: zerolog.Nop(),
	})
	if err == nil {
		t.Fatal("the run did not fail")
	}
	return err
}
