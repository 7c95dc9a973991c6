package extract

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
)

// hostile is where the hostile-input cases keep their files.
const hostile = "../../testdata/hostile"

// collector keeps what a reader emitted, rendered as text per table.
type collector struct {
	enginetest.Unused
	rows  map[string]int64
	lines map[string][]string
	// fields are the raw rows' values (nil for null), row numbers first.
	fields [][]*string
	nums   []int64
	// batches are the emitted batches in order: table, first row, rows.
	batches []string
	// orderIDs are the raw orders batches' counts of distinct order ids
	// (input.MetaOrderIDs), -1 for a batch without one.
	orderIDs []int
}

func newCollector() *collector {
	return &collector{rows: map[string]int64{}, lines: map[string][]string{}}
}

func (c *collector) Emit(_ context.Context, table string, rec arrow.Record) error {
	c.rows[table] += rec.NumRows()
	_, first := input.SourceOf(rec)
	c.batches = append(c.batches, fmt.Sprintf("%s %d %d", table, first, rec.NumRows()))
	if table == schemas.RawOrders {
		n, ok := input.OrderIDsOf(rec)
		if !ok {
			n = -1
		}
		c.orderIDs = append(c.orderIDs, n)
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		var b strings.Builder
		if table == schemas.RawOrders || table == schemas.RawItems {
			fmt.Fprintf(&b, "%d:", first+int64(i))
		}
		for j, col := range rec.Columns() {
			if j > 0 {
				b.WriteByte('|')
			}
			if col.IsNull(i) {
				b.WriteString("∅")
			} else {
				b.WriteString(col.ValueStr(i))
			}
		}
		c.lines[table] = append(c.lines[table], b.String())
		if table == schemas.RawOrders {
			row := make([]*string, rec.NumCols())
			for j, col := range rec.Columns() {
				if s, ok := col.(*array.String); ok && s.IsValid(i) {
					v := s.Value(i)
					row[j] = &v
				}
			}
			c.fields = append(c.fields, row)
			c.nums = append(c.nums, first+int64(i))
		}
	}
	return nil
}

// runReader reads the job's orders (or, with items, its order items) the
// way the extract stage does, with an allocator that fails the test on a
// leak.
func runReader(t *testing.T, dir, jobYAML string, items bool) (*collector, *night.Context, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	c, rc, err := runReaderWith(t, mem, dir, jobYAML, items)
	mem.AssertSize(t, 0)
	return c, rc, err
}

func runReaderWith(t *testing.T, mem memory.Allocator, dir, jobYAML string, items bool) (*collector, *night.Context, error) {
	t.Helper()
	return runWorkers(t, mem, dir, jobYAML, items, decodeWorkers)
}

// runWorkers is runReaderWith with the given number of Parquet decoding
// workers.
func runWorkers(t *testing.T, mem memory.Allocator, dir, jobYAML string, items bool, workers int) (*collector, *night.Context, error) {
	t.Helper()
	j, err := config.Decode([]byte(jobYAML), dir, []config.Section{night.InputSection})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "test", "2026-11-30", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	var r *reader
	if items {
		r, err = newReader(rc, night.InputOf(j).OrderItems, schemas.OrderItems, schemas.OrderItemsRequired)
		if r != nil {
			r.table, r.acct = schemas.RawItems, rc.Items
		}
	} else {
		r, err = newReader(rc, &night.InputOf(j).Orders, schemas.Orders, schemas.OrdersRequired)
	}
	if err == nil {
		r.workers = workers
		err = r.Finish(context.Background(), c)
		r.Close(context.Background())
	}
	return c, rc, err
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "shop", "orders", "b.parquet"), "")
	writeFile(t, filepath.Join(dir, "shop", "orders", "a.parquet"), "")
	writeFile(t, filepath.Join(dir, "shop", "orders", "_SUCCESS"), "")
	writeFile(t, filepath.Join(dir, "shop", "markers", "_SUCCESS"), "")
	writeFile(t, filepath.Join(dir, "shop", "markers", ".keep"), "")
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		files      []string
		is         error
	}{
		{"folder", "shop/orders", []string{"shop/orders/a.parquet", "shop/orders/b.parquet"}, nil},
		{"file", "shop/orders/b.parquet", []string{"shop/orders/b.parquet"}, nil},
		{"glob", "shop/*/*.parquet", []string{"shop/orders/a.parquet", "shop/orders/b.parquet"}, nil},
		{"empty folder", "empty", nil, night.ErrNoInput},
		{"folder of markers only", "shop/markers", nil, night.ErrNoInput},
		{"glob matching nothing yet", "empty/orders.*", nil, night.ErrNoInput},
		{"glob below a pattern folder", "shop/*/none/*.csv", nil, night.ErrNoInput},
		{"missing folder", "shop/order", nil, ErrNoLocation},
		{"missing file", "shop/orders.csv", nil, ErrNoLocation},
		{"glob in a missing folder", "nothing/orders.*", nil, ErrNoLocation},
		{"glob in a missing folder below a pattern", "nothing/*/x.csv", nil, ErrNoLocation},
		{"glob in a file", "shop/orders/a.parquet/*.csv", nil, ErrNoLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := resolveFiles(filepath.Join(dir, tt.path), "")
			if !errors.Is(err, tt.is) || (tt.is == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			var got []string
			for _, f := range files {
				rel, _ := filepath.Rel(dir, f.path)
				got = append(got, rel)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.files) {
				t.Errorf("files %v, want %v", got, tt.files)
			}
			if errors.Is(err, night.ErrNoInput) && errors.Is(err, ErrNoLocation) {
				t.Errorf("%v is both", err)
			}
		})
	}
}

// TestParquetRowsHeldToFooter: every corrupt file of the hostile cases
// fails naming the row group or the footer, instead of reading as fewer
// rows or panicking; an intact file reads its 5,000 rows.
func TestParquetRowsHeldToFooter(t *testing.T) {
	tests := []struct {
		hostileCase string
		want        []string
	}{
		{"parquet_corrupt_page_header", []string{"row group 0", `column "order_id": page header at byte 4`}},
		{"parquet_row_count_mismatch", []string{"the footer declares 4999 rows but its 1 row groups declare 5000"}},
		{"parquet_row_group_short", []string{"row group 0: read 5000 of the 6000 rows"}},
		{"parquet_zstd_match_offset", []string{"row group 0", "panicked", "match offset"}},
		{"parquet_zstd_crc", []string{"row group 0", "panicked", "CRC check failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.hostileCase, func(t *testing.T) {
			dir := filepath.Join(hostile, tt.hostileCase, "input")
			c, rc, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.parquet}}\n", false)
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("err = %v, want %v", err, ErrUnreadable)
			}
			for _, w := range append(tt.want, "orders.parquet") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.rows[schemas.RawOrders] != rc.Rows.Read {
				t.Errorf("emitted %d rows, counted %d", c.rows[schemas.RawOrders], rc.Rows.Read)
			}
		})
	}
	t.Run("intact, three row groups", func(t *testing.T) {
		dir := t.TempDir()
		writeOrdersParquet(t, filepath.Join(dir, "orders.parquet"), 5000, 2000)
		c, rc, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.parquet}}\n", false)
		if err != nil || c.rows[schemas.RawOrders] != 5000 || rc.Rows.Read != 5000 {
			t.Fatalf("read %d rows (counted %d), err %v", c.rows[schemas.RawOrders], rc.Rows.Read, err)
		}
		// Row numbers run on across row groups.
		for _, i := range []int{0, 1999, 2000, 4999} {
			if got, want := c.lines[schemas.RawOrders][i], fmt.Sprintf("%d:O%d|", i+1, i+1); !strings.HasPrefix(got, want) {
				t.Errorf("row %d is %q, want %s…", i, got, want)
			}
		}
	})
}

// TestParquetPagesShort: a column chunk whose pages hold fewer values than
// its footer entry declares fails before Arrow reads it (Arrow's page
// reader would read on into padding past the chunk's end).
func TestParquetPagesShort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.parquet")
	writeOrdersParquet(t, path, 5000, 5000)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every i64 field holding 5,000 in the footer (num_rows of the file and
	// the row group, num_values of each column chunk) says 6,000: zigzag
	// varints 90 4e and e0 5d after the compact field header 16.
	n := int(binary.LittleEndian.Uint32(raw[len(raw)-8:]))
	footer := raw[len(raw)-8-n : len(raw)-8]
	if bytes.Count(footer, []byte{0x16, 0x90, 0x4e}) < 6 {
		t.Fatal("footer fields not found")
	}
	copy(footer, bytes.ReplaceAll(footer, []byte{0x16, 0x90, 0x4e}, []byte{0x16, 0xe0, 0x5d}))
	writeFile(t, path, string(raw))
	_, _, err = runReader(t, dir, "name: t\ninput: {orders: {path: orders.parquet}}\n", false)
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), `row group 0: unreadable input file: column "order_id": the pages hold 5000 of the 6000 values the footer declares`) {
		t.Fatalf("err = %v", err)
	}
}

// writeOrdersParquet writes n orders in row groups of at most rowGroup rows.
func writeOrdersParquet(t *testing.T, path string, n, rowGroup int) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_ts", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := 1; i <= n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("O%d", i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("C%d", i%97))
		b.Field(2).(*array.StringBuilder).Append("2026-11-01")
		b.Field(3).(*array.Float64Builder).Append(float64(i))
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rowGroup)))
	fw, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
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

// TestCSVMalformedRows: ragged rows and quotes broken on one line are
// quarantined with their line numbers and the fields they have, counted as
// read and quarantined, and the rows around them keep their row numbers.
func TestCSVMalformedRows(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("order_id,customer_id,order_ts,amount,status\n")
	for i := 1; i <= 500; i++ {
		switch i {
		case 10:
			b.WriteString("O10,C1\n") // too few fields
		case 11:
			b.WriteString("O11,C1,2026-11-01,5,completed,extra\n") // too many, right after
		case 200:
			b.WriteString("O200,C\"2,2026-11-01,5,completed\n") // a bare quote
		case 250:
			b.WriteString("O250,\"C2\"x,2026-11-01,NULL,completed\n") // junk after a closing quote
		default:
			fmt.Fprintf(&b, "O%d,C%d,2026-11-01,%d,completed\n", i, i%7, i)
		}
	}
	writeFile(t, filepath.Join(dir, "orders.csv"), b.String())
	c, rc, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.csv}}\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Rows.Read != 500 || rc.Rows.Quarantined[ReasonMalformedRow] != 4 || c.rows[schemas.RawOrders] != 496 {
		t.Fatalf("read %d, malformed %d, emitted %d", rc.Rows.Read, rc.Rows.Quarantined[ReasonMalformedRow], c.rows[schemas.RawOrders])
	}
	raw := c.lines[schemas.RawOrders]
	for _, tc := range []struct {
		i    int
		want string
	}{{8, "9:O9|"}, {9, "12:O12|"}, {197, "201:O201|"}, {495, "500:O500|"}} {
		if !strings.HasPrefix(raw[tc.i], tc.want) {
			t.Errorf("raw row %d = %q, want %s…", tc.i, raw[tc.i], tc.want)
		}
	}
	// Quarantine columns: snapshot_date|reason|source_file|source_row|order_id|customer_id|order_ts|amount|status|source_table|sku
	q := c.lines[schemas.Quarantine.Name]
	file := filepath.Join(dir, "orders.csv")
	want := []string{
		"2026-11-30|malformed_row|" + file + "|11|O10|C1|∅|∅|∅|orders|∅",
		"2026-11-30|malformed_row|" + file + "|12|O11|C1|2026-11-01|5|completed|orders|∅",
		"2026-11-30|malformed_row|" + file + "|201|O200|∅|∅|∅|∅|orders|∅",
		"2026-11-30|malformed_row|" + file + "|251|O250|∅|∅|∅|∅|orders|∅",
	}
	if strings.Join(q, "\n") != strings.Join(want, "\n") {
		t.Errorf("quarantined:\n%s\nwant\n%s", strings.Join(q, "\n"), strings.Join(want, "\n"))
	}
}

func TestCSVMalformedShare(t *testing.T) {
	body := "order_id,customer_id,order_ts,amount\n"
	for i := 1; i <= 100; i++ {
		if i == 40 || i == 60 {
			body += "O,C\n"
			continue
		}
		body += fmt.Sprintf("O%d,C1,2026-11-01,1\n", i)
	}
	tests := []struct {
		name, csv string
		is        error
		want      string
	}{
		{"default 1% against 2%", "", ErrMalformed, "2 of 100 rows are malformed (2.00%, the first on line 41), more than input.orders.csv.max_malformed_share 0.01 allows"},
		{"2% allowed", "csv: {max_malformed_share: 0.02}", nil, ""},
		{"none allowed", "csv: {max_malformed_share: 0}", ErrMalformed, "max_malformed_share 0 allows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "orders.csv"), body)
			_, rc, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.csv, "+tt.csv+"}}\n", false)
			if !errors.Is(err, tt.is) || (tt.is == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if rc.Rows.Read != 100 || rc.Rows.Quarantined[ReasonMalformedRow] != 2 {
				t.Errorf("accounting %+v", rc.Rows)
			}
		})
	}
}

// TestCSVStrayQuote: a malformed record over several lines fails the file,
// since the rows it swallowed cannot be told apart.
func TestCSVStrayQuote(t *testing.T) {
	for name, body := range map[string]string{
		"quote breaks lines later":   "O1,C1,2026-11-01,1\nO2,\"C2,2026-11-01,1\nO3,C3,2026-11-01,1\nO4,C\"4,2026-11-01,1\n",
		"quote closes lines later":   "O1,C1,2026-11-01,1\nO2,\"C2,2026-11-01,1\nO3,C3\",2026-11-01,1\n",
		"ragged over lines":          "O1,C1,2026-11-01,1\nO2,\"C2,2026-11-01,1\nO3,C3\",2026-11-01,1,x\n",
		"quote runs to the file end": "O1,C1,2026-11-01,1\nO2,\"C2,2026-11-01,1\nO3,C3,2026-11-01,1\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\n"+body)
			_, _, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.csv, csv: {max_malformed_share: 1}}}\n", false)
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "stray quote") {
				t.Fatalf("err = %v, want a stray quote from line 3", err)
			}
		})
	}
}

// TestCSVHeader: a byte order mark is stripped, a column named twice fails
// naming it, a file without a header holds no rows, and values that are
// not UTF-8 reach validation byte for byte.
func TestCSVHeader(t *testing.T) {
	tests := []struct {
		name, content string
		is            error
		want          string // error text, or the first raw row
	}{
		{"byte order mark", "\xef\xbb\xbforder_id,customer_id,order_ts,amount\nO1,C1,2026-11-01,5\n", nil, "1:O1|C1|2026-11-01|5|false"},
		{"bytes that are not UTF-8", "order_id,customer_id,order_ts,amount\nO1,C\xff\xfe1,2026-11-01,5\n", nil, "1:O1|C\xff\xfe1|2026-11-01|5|false"},
		{"null values", "order_id,customer_id,order_ts,amount,status\nO1,,2026-11-01,NULL,\"\"\n", nil, "1:O1|∅|2026-11-01|∅|∅|false"},
		{"column named twice", "order_id,customer_id,amount,order_ts,amount\nO1,C1,1,2026-11-01,5\n", night.ErrInputSchema, `column "amount" appears twice`},
		{"nameless columns", "order_id,customer_id,order_ts,amount,,\nO1,C1,2026-11-01,5,,\n", nil, "1:O1|C1|2026-11-01|5|false"},
		{"header only", "order_id,customer_id,order_ts,amount\n", night.ErrNoInput, "input.orders"},
		{"no header", "", night.ErrNoInput, "its files hold no rows (1 files)"},
		{"blank lines only", "\n\n", night.ErrNoInput, "hold no rows"},
		{"byte order mark only", "\xef\xbb\xbf", night.ErrNoInput, "hold no rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "orders.csv"), tt.content)
			c, _, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.csv}}\n", false)
			if !errors.Is(err, tt.is) || (tt.is == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %q does not say %q", err, tt.want)
				}
				return
			}
			if got := c.lines[schemas.RawOrders]; len(got) != 1 || got[0] != tt.want {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParquetDuplicateColumn(t *testing.T) {
	_, _, err := runReader(t, filepath.Join(hostile, "parquet_duplicate_column", "input"), "name: t\ninput: {orders: {path: orders.parquet}}\n", false)
	if !errors.Is(err, night.ErrInputSchema) || !strings.Contains(err.Error(), `column "amount" appears twice`) {
		t.Fatalf("err = %v", err)
	}
}

// TestNoRows: orders without rows are "nothing to do"; order items without
// rows fail only when orders were used; FX rates without rows fail.
func TestNoRows(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "orders", "a.csv"), "order_id,customer_id,order_ts,amount\n")
	writeFile(t, filepath.Join(dir, "orders", "b.csv"), "")
	writeFile(t, filepath.Join(dir, "orders", "c.parquet"), "")
	writeOrdersParquet(t, filepath.Join(dir, "orders", "c.parquet"), 0, 10)
	writeFile(t, filepath.Join(dir, "items.csv"), "order_id,sku\n")
	writeFile(t, filepath.Join(dir, "fx.csv"), "date,currency,rate_to_reporting\n")
	_, _, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders}}\n", false)
	if !errors.Is(err, night.ErrNoInput) || !strings.Contains(err.Error(), "orders: its files hold no rows (3 files)") {
		t.Errorf("orders: err = %v, want no input", err)
	}
	jobYAML := "name: t\ninput:\n  orders: {path: orders}\n  order_items: {path: items.csv}\n  fx_rates: {path: fx.csv}\n  reporting_currency: EUR\n"
	if _, _, err := runReader(t, dir, jobYAML, true); err != nil {
		t.Errorf("items without used orders: %v", err)
	}

	j, err := config.Decode([]byte(jobYAML), dir, []config.Section{night.InputSection})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "test", "2026-11-30", memory.DefaultAllocator, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	err = ReadAll(context.Background(), rc, night.InputOf(j).FXRates, schemas.FXRates, []string{"date", "currency", "rate_to_reporting"}, func(arrow.Record) error { return nil })
	if !errors.Is(err, ErrNoRows) || errors.Is(err, night.ErrNoInput) || !strings.Contains(err.Error(), "input.fx_rates") {
		t.Errorf("fx rates: err = %v, want %v", err, ErrNoRows)
	}
	rc.Rows.Used = 1
	r, err := newReader(rc, night.InputOf(j).OrderItems, schemas.OrderItems, schemas.OrderItemsRequired)
	if err != nil {
		t.Fatal(err)
	}
	r.table, r.acct = schemas.RawItems, rc.Items
	if err := r.Finish(context.Background(), newCollector()); !errors.Is(err, ErrNoRows) || !strings.Contains(err.Error(), "product_affinity") {
		t.Errorf("items with used orders: err = %v, want %v", err, ErrNoRows)
	}
}

// TestMalformedItems: a ragged order-item row is quarantined as an
// order_items row and counted in the items' accounting.
func TestMalformedItems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\nO1,C1,2026-11-01,5\n")
	var b strings.Builder
	b.WriteString("order_id,sku,quantity\n")
	for i := 1; i <= 200; i++ {
		if i == 7 {
			b.WriteString("O1,SKU7,1,gift\n")
			continue
		}
		fmt.Fprintf(&b, "O1,SKU%d,1\n", i)
	}
	writeFile(t, filepath.Join(dir, "items.csv"), b.String())
	c, rc, err := runReader(t, dir, "name: t\ninput: {orders: {path: orders.csv}, order_items: {path: items.csv}}\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Items.Read != 200 || rc.Items.Quarantined[ReasonMalformedRow] != 1 || rc.Rows.Read != 0 || c.rows[schemas.RawItems] != 199 {
		t.Errorf("items %+v, orders %+v, emitted %d", rc.Items, rc.Rows, c.rows[schemas.RawItems])
	}
	q := c.lines[schemas.Quarantine.Name]
	if len(q) != 1 || !strings.Contains(q[0], "|8|O1|∅|∅|∅|∅|order_items|SKU7") {
		t.Errorf("quarantined %q", q)
	}
}
