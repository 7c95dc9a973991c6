package e2e_test

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/parquet/schema"

	"retain/internal/rawparquet"
)

var writeHostile = flag.Bool("write-hostile", false, "rewrite the binary inputs of testdata/hostile/ cases")

// TestWriteHostileInputs writes the inputs of hostile cases that are not
// plain text — Parquet files with exact footers, CSV files with bytes that
// are not UTF-8 — so they can be remade and read here instead of in a hex
// dump:
//
//	go test ./e2e/ -run TestWriteHostileInputs -write-hostile
func TestWriteHostileInputs(t *testing.T) {
	if !*writeHostile {
		t.Skip("run with -write-hostile to rewrite the inputs")
	}
	dir := func(c string) string {
		d := filepath.Join("..", "testdata", "hostile", c, "input")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	text := func(c, name, content string) {
		if err := os.WriteFile(filepath.Join(dir(c), name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pq := func(c string, cols ...rawparquet.Column) {
		if err := rawparquet.Write(filepath.Join(dir(c), "orders.parquet"), nil, cols...); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + string(rune('1'+i))
		}
		return out
	}

	text("invalid_utf8_ids", "orders.csv", "order_id,customer_id,order_ts,amount\n"+
		"O1,C1,2026-11-01,10\n"+
		"O2,C\xff\xfe,2026-11-02,20\n"+
		"O\xc3,C2,2026-11-03,30\n"+
		"O4,C2,2026-11-04,40\n")
	text("invalid_utf8_country", "orders.csv", "order_id,customer_id,order_ts,amount,country,channel\n"+
		"O1,C1,2026-11-01,10,DE,web\n"+
		"O2,C1,2026-11-02,20,D\xffE,web\n"+
		"O3,C2,2026-11-03,30,\xe9cosse,app\n"+
		"O4,C3,2026-11-04,40,FR,st\xfcre\n")
	text("invalid_utf8_sku", "orders.csv", "order_id,customer_id,order_ts,amount\n"+
		"O1,C1,2026-11-01,10\nO2,C2,2026-11-02,20\n")
	text("invalid_utf8_sku", "order_items.csv", "order_id,sku\n"+
		"O1,A\nO1,B\nO2,A\nO2,B\xff\n")

	// 23:30 and 00:30 wall-clock time on the run date and the day after.
	wall := func(d, h, m int) int64 { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC).UnixMicro() }
	pq("naive_parquet_timestamp_berlin",
		rawparquet.String("order_id", "O1", "O2", "O3"),
		rawparquet.String("customer_id", "C1", "C1", "C2"),
		rawparquet.Timestamp("order_ts", false, schema.TimeUnitMicros, wall(1, 12, 0), wall(22, 23, 30), wall(23, 0, 30)),
		rawparquet.Double("amount", 10, 20, 30))
	// Legacy TIMESTAMP_MILLIS is UTC: 23:30Z on the run date is 00:30 the
	// next day in Berlin.
	ms := func(d, h, m int) int64 { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC).UnixMilli() }
	pq("legacy_parquet_timestamp_utc",
		rawparquet.String("order_id", "O1", "O2", "O3"),
		rawparquet.String("customer_id", "C1", "C1", "C2"),
		rawparquet.LegacyTimestamp("order_ts", schema.ConvertedTypes.TimestampMillis, ms(1, 12, 0), ms(22, 22, 30), ms(22, 23, 30)),
		rawparquet.Double("amount", 10, 20, 30))
	pq("parquet_nan_inf_amounts",
		rawparquet.String("order_id", ids("O", 6)...),
		rawparquet.String("customer_id", "C1", "C1", "C2", "C2", "C3", "C3"),
		rawparquet.Timestamp("order_ts", true, schema.TimeUnitMicros, wall(1, 12, 0), wall(2, 12, 0), wall(3, 12, 0), wall(4, 12, 0), wall(5, 12, 0), wall(6, 12, 0)),
		rawparquet.Double("amount", 10, math.NaN(), math.Inf(1), math.Inf(-1), 1e308, 20))
	// 18448537645909552 ms × 1000 wraps around int64 to
	// 2026-11-01T22:30:00.000384Z, a plausible order time.
	pq("timestamp_millis_overflow",
		rawparquet.String("order_id", "O1", "O2", "O3"),
		rawparquet.String("customer_id", "C1", "C2", "C2"),
		rawparquet.Timestamp("order_ts", true, schema.TimeUnitMillis, ms(1, 12, 0), 18448537645909552, -18448537645909552),
		rawparquet.Double("amount", 10, 20, 30))
}
