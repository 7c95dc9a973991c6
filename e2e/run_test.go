package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/rs/zerolog"
	"retain/jobfile"
	"retain/night"
	"retain/pipeline"
	"retain/stages"
	"retain/stages/extract"
	"retain/stages/validate"
)

// runJob runs stages.RegisterAll on a job file text whose input is written
// into a temporary folder.
func runJob(t testing.TB, dir, jobYAML, date, out string, dryRun bool) (*pipeline.Summary, error) {
	t.Helper()
	return runJobWith(t, dir, jobYAML, date, out, func(o *pipeline.Options) { o.DryRun = dryRun })
}

// runJobWith is runJob with options set by configure (after the job is parsed).
func runJobWith(t testing.TB, dir, jobYAML, date, out string, configure func(o *pipeline.Options)) (*pipeline.Summary, error) {
	t.Helper()
	j, err := jobfile.Parse([]byte(jobYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := pipeline.Options{Job: j, Registry: reg, RunDate: date, OutputDir: out, Mem: mem, Log: zerolog.Nop()}
	configure(&o)
	return pipeline.Run(context.Background(), o)
}

const csvJob = "name: t\ninput: {orders: {path: orders.csv}}\n"

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot reads every file a reader of root sees, following the date
// links, keyed by path; the folders behind the links (_nights) and staging
// are not read directly.
func snapshot(t *testing.T, root string, skip func(rel string) bool) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p, r := filepath.Join(dir, e.Name()), filepath.Join(rel, e.Name())
			if r == "_staging" || r == "_nights" || (skip != nil && skip(r)) {
				continue
			}
			fi, err := os.Stat(p) // through links
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			if fi.IsDir() {
				walk(p, r)
				continue
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[r] = raw
		}
	}
	walk(root, "")
	return files
}

// sameFiles fails t unless a and b hold the same files, byte for byte;
// aName and bName say which run each snapshot is of.
func sameFiles(t *testing.T, a, b map[string][]byte, aName, bName string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d files %s, %d %s", len(a), aName, len(b), bName)
	}
	for p, raw := range a {
		if !bytes.Equal(b[p], raw) {
			t.Errorf("%s differs between %s and %s", p, aName, bName)
		}
	}
}

func TestFailedRunLeavesCommittedDateUntouched(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\n1,a,2026-11-01,10\n2,b,2026-11-02,20\n")
	if _, err := runJob(t, dir, csvJob, "2026-11-22", out, false); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out, nil)

	// A stray quote deep in the file, which joins the rows after it, fails
	// the run after tables were opened.
	var b strings.Builder
	b.WriteString("order_id,customer_id,order_ts,amount\n")
	for i := 0; i < 100_000; i++ {
		b.WriteString("x,c,2026-11-03,5\n")
	}
	b.WriteString("broken,\"unterminated,2026-11-03,5\nx,c,2026-11-03,5\n")
	write(t, filepath.Join(dir, "orders.csv"), b.String())
	if _, err := runJob(t, dir, csvJob, "2026-11-22", out, false); err == nil {
		t.Fatal("run on a broken file succeeded")
	}
	after := snapshot(t, out, nil)
	if len(after) != len(before) {
		t.Fatalf("files changed: %d before, %d after", len(before), len(after))
	}
	for p, raw := range before {
		if !bytes.Equal(after[p], raw) {
			t.Errorf("%s changed by the failed run", p)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(out, "_staging"))
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("failed run left staging folder %s", e.Name())
		}
	}
	if nights, _ := os.ReadDir(filepath.Join(out, "_nights", "2026-11-22")); len(nights) != 2 {
		t.Errorf("the date's night folder holds %v, want current and the night it names", nights)
	}
}

func TestRerunGivesIdenticalTables(t *testing.T) {
	out := t.TempDir()
	dir, err := filepath.Abs("../testdata/retention_small")
	if err != nil {
		t.Fatal(err)
	}
	jobYAML, err := os.ReadFile(filepath.Join(dir, "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tablesOnly := exceptRunVariant
	if _, err := runJob(t, dir, string(jobYAML), "2026-04-15", out, false); err != nil {
		t.Fatal(err)
	}
	first := snapshot(t, out, tablesOnly)
	if _, err := runJob(t, dir, string(jobYAML), "2026-04-15", out, false); err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("the first run wrote no tables")
	}
	sameFiles(t, first, snapshot(t, out, tablesOnly), "the first run", "the rerun")
}

func TestDryRunWritesNothing(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\n1,a,2026-11-01,10\n")
	sum, err := runJob(t, dir, csvJob, "2026-11-22", out, true)
	if err != nil || sum.Status != "dry_run_ok" {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run created %s", out)
	}
}

func writeParquet(t *testing.T, path string, schema *arrow.Schema, build func(b *array.RecordBuilder)) {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	build(b)
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestInputSchemaErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "no_amount.csv"), "order_id,customer_id,order_ts,total\n1,a,2026-11-01,10\n")
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, filepath.Join(dir, "bool_amount.parquet"), arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "order_ts", Type: arrow.FixedWidthTypes.Date32}, {Name: "amount", Type: arrow.FixedWidthTypes.Boolean},
	}, nil), func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("1")
		b.Field(1).(*array.StringBuilder).Append("a")
		b.Field(2).(*array.Date32Builder).Append(20000)
		b.Field(3).(*array.BooleanBuilder).Append(true)
	})
	tests := []struct {
		name, job string
		is        error
		want      []string
	}{
		{"missing column", "name: t\ninput: {orders: {path: no_amount.csv}}\n", night.ErrInputSchema,
			[]string{"no_amount.csv", `"amount"`, "(mapped to amount)", "the file has: order_id, customer_id, order_ts, total"}},
		{"mapped column missing", "name: t\ninput: {orders: {path: no_amount.csv, columns: {amount: Total}}}\n", night.ErrInputSchema,
			[]string{`"Total"`, "mapped to amount"}},
		{"unconvertible type", "name: t\ninput: {orders: {path: bool_amount.parquet}}\n", night.ErrInputSchema,
			[]string{"bool_amount.parquet", `"amount"`, "type bool", "want float, integer, decimal or numeric string"}},
		{"no files", "name: t\ninput: {orders: {path: \"empty/*.parquet\"}}\n", night.ErrNoInput,
			[]string{"no input files"}},
		{"no folder", "name: t\ninput: {orders: {path: \"nothing/*.parquet\"}}\n", extract.ErrNoLocation,
			[]string{"nothing"}},
		{"no file", "name: t\ninput: {orders: {path: orders.csv}}\n", extract.ErrNoLocation,
			[]string{"orders.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runJob(t, dir, tt.job, "2026-11-22", t.TempDir(), false)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

// TestTypedParquetInput reads typed source columns (integer ids, a decimal
// amount, a nanosecond timestamp) in a non-UTC job and checks the converted
// values and the local purchase days.
func TestTypedParquetInput(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	writeParquet(t, filepath.Join(dir, "orders.parquet"), arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "cust", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}}, {Name: "amt", Type: dec},
	}, nil), func(b *array.RecordBuilder) {
		// 22:30Z and 23:30Z are 23:30 on Nov 1 and 00:30 on Nov 2 in Berlin.
		first := int64(1793572200) * 1e9 // 2026-11-01T22:30:00Z
		for i, amount := range []int64{1050, 2000} {
			b.Field(0).(*array.Int64Builder).Append(int64(100 + i))
			b.Field(1).(*array.Int32Builder).Append(7)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(first + int64(i)*3600e9))
			b.Field(3).(*array.Decimal128Builder).Append(decimalOf(amount))
		}
	})
	jobYAML := "name: t\ntimezone: Europe/Berlin\ninput: {orders: {path: orders.parquet, columns: {order_id: id, customer_id: cust, order_ts: ts, amount: amt}}}\n"
	if _, err := runJob(t, dir, jobYAML, "2026-11-22", out, false); err != nil {
		t.Fatal(err)
	}
	got := renderTable(t, out, "customer_summary", "2026-11-22", dir)
	// Orders at 23:30 and 00:30 Berlin time fall on two local days.
	// The file holds no snapshot_date (its folder's name); no currency is known.
	want := "customer_id,first_order_at,last_order_at,order_count,total_revenue,avg_order_value,refunded_revenue,net_revenue,refund_rate,refunded_orders,frequency,recency_days,tenure_days,repeat_avg_value,country,channel,currency\n" +
		"7,2026-11-01 22:30:00Z,2026-11-01 23:30:00Z,2,30.5,15.25,0,30.5,0,0,1,1,21,20,,,\n"
	if got != want {
		t.Errorf("customer_summary:\n%s\nwant\n%s", got, want)
	}
}

func decimalOf(cents int64) decimal128.Num { return decimal128.FromI64(cents) }

// exceptRunVariant skips what legitimately differs between runs of one date:
// the manifest (run id, times).
func exceptRunVariant(rel string) bool { return strings.HasPrefix(rel, "_runs") }

// TestCurrenciesAreNeverSummedUnconverted: orders in two currencies without
// fx_rates fail the run and commit nothing; with reporting_currency alone the
// other currency is quarantined; one foreign currency alone is just a shop's
// currency.
func TestCurrenciesAreNeverSummedUnconverted(t *testing.T) {
	const orders = "order_id,customer_id,order_ts,amount,currency\n" +
		"O1,C1,2026-11-01,10,USD\nO2,C1,2026-11-02,20,usd\nO3,C2,2026-11-03,1500,JPY\nO4,C3,2026-11-04,7,\n"
	for _, tc := range []struct {
		name, extra string
		wantErr     bool
		used        int64
		quarantined int64
	}{
		{"no conversion", "", true, 0, 0},
		{"reporting currency only", "  reporting_currency: USD\n", false, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			write(t, filepath.Join(dir, "orders.csv"), orders)
			sum, err := runJob(t, dir, "name: fx\ninput:\n  orders: {path: orders.csv}\n"+tc.extra, "2026-11-22", out, false)
			if tc.wantErr {
				if !errors.Is(err, validate.ErrMixedCurrencies) || !strings.Contains(err.Error(), "JPY, USD") {
					t.Fatalf("err = %v, want mixed currencies naming JPY, USD", err)
				}
				if _, serr := os.Stat(pipeline.RunDir(out, "2026-11-22")); !os.IsNotExist(serr) {
					t.Errorf("a failed run committed: %v", serr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rows.Used != tc.used || sum.Rows.Quarantined != tc.quarantined {
				t.Errorf("rows %+v, want %d used, %d quarantined", sum.Rows, tc.used, tc.quarantined)
			}
		})
	}
	dir, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount,currency\nO1,C1,2026-11-01,1500,JPY\nO2,C2,2026-11-02,900,\n")
	if _, err := runJob(t, dir, "name: fx\ninput:\n  orders: {path: orders.csv}\n", "2026-11-22", out, false); err != nil {
		t.Errorf("a single currency failed: %v", err)
	}
}

// TestQuarantineOrdersBeforeItems: validation and product affinity both
// write the quarantine table; its rows are the orders' rejects in input
// order, then the items', as when one stage gathered them.
func TestQuarantineOrdersBeforeItems(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\n"+
		"O1,K1,2026-06-01,30\n,K2,2026-06-02,5\nO2,K2,2026-06-02,20\nO3,K3,2026-06-03,abc\nO1,K1,2026-06-04,1\n")
	write(t, filepath.Join(dir, "items.csv"), "order_id,sku\nO1,A\n,B\nO1,\nO2,A\nO2,\n")
	jobYAML := "name: t\ninput: {orders: {path: orders.csv}, order_items: {path: items.csv}}\naffinity: {min_pair_orders: 1}\n"
	if _, err := runJob(t, dir, jobYAML, "2026-06-30", out, false); err != nil {
		t.Fatal(err)
	}
	tbl := readTable(t, out, "quarantine", "2026-06-30")
	defer tbl.Release()
	rows := array.NewTableReader(tbl, -1)
	defer rows.Release()
	var got []string
	for rows.Next() {
		rec := rows.Record()
		col := func(name string) *array.String {
			return rec.Column(rec.Schema().FieldIndices(name)[0]).(*array.String)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, col("source_table").Value(i)+":"+col("reason").Value(i))
		}
	}
	want := "orders:missing_order_id orders:non_numeric_amount orders:duplicate_order_id " +
		"order_items:missing_order_id order_items:missing_sku order_items:missing_sku"
	if strings.Join(got, " ") != want {
		t.Errorf("quarantine rows:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}
