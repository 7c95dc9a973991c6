package extract_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/arrow/go/v15/parquet/schema"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/internal/rawparquet"
	"retain/night"
	"retain/schemas"
	"retain/stages/extract"
	"retain/stages/internal/input"
)

// TestParquetTimestampZones: what a Parquet timestamp column means is in
// the footer (isAdjustedToUTC; legacy TIMESTAMP_MILLIS/MICROS and INT96 are
// UTC) and, when the writer stored one, in its Arrow schema. The batches
// must carry that meaning as the Arrow zone — "" for a wall-clock reading —
// whatever pqarrow's own mapping makes of it; the values stay as stored.
func TestParquetTimestampZones(t *testing.T) {
	wall := time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC) // as stored
	us, ms, ns := wall.UnixMicro(), wall.UnixMilli(), wall.UnixNano()
	naive := func(u arrow.TimeUnit) map[string]string {
		return rawparquet.ArrowSchema(arrow.NewSchema(append(otherFields(), arrow.Field{Name: "order_ts", Type: &arrow.TimestampType{Unit: u}}), nil))
	}
	zoned := rawparquet.ArrowSchema(arrow.NewSchema(append(otherFields(), arrow.Field{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Berlin"}}), nil))
	tests := []struct {
		name  string
		meta  map[string]string
		ts    rawparquet.Column
		zone  string
		value int64 // in the column's unit
	}{
		{"isAdjustedToUTC=false micros", nil, rawparquet.Timestamp("order_ts", false, schema.TimeUnitMicros, us), "", us},
		{"isAdjustedToUTC=false millis", nil, rawparquet.Timestamp("order_ts", false, schema.TimeUnitMillis, ms), "", ms},
		{"isAdjustedToUTC=false nanos", nil, rawparquet.Timestamp("order_ts", false, schema.TimeUnitNanos, ns), "", ns},
		{"isAdjustedToUTC=true micros", nil, rawparquet.Timestamp("order_ts", true, schema.TimeUnitMicros, us), "UTC", us},
		{"legacy TIMESTAMP_MILLIS", nil, rawparquet.LegacyTimestamp("order_ts", schema.ConvertedTypes.TimestampMillis, ms), "UTC", ms},
		{"legacy TIMESTAMP_MICROS", nil, rawparquet.LegacyTimestamp("order_ts", schema.ConvertedTypes.TimestampMicros, us), "UTC", us},
		{"INT96", nil, rawparquet.Int96("order_ts", rawparquet.Int96At(uint32(2440588+ns/86400e9), ns%86400e9)), "UTC", us},
		{"pyarrow naive: isAdjustedToUTC=false and a zone-less Arrow schema", naive(arrow.Microsecond), rawparquet.Timestamp("order_ts", false, schema.TimeUnitMicros, us), "", us},
		{"pyarrow zoned: isAdjustedToUTC=true and an Arrow zone", zoned, rawparquet.Timestamp("order_ts", true, schema.TimeUnitMicros, us), "Europe/Berlin", us},
		// pqarrow v15 writes every timestamp with isAdjustedToUTC=true; the
		// stored Arrow schema is what says it was a wall-clock reading.
		{"pqarrow-style naive: isAdjustedToUTC=true and a zone-less Arrow schema", naive(arrow.Millisecond), rawparquet.Timestamp("order_ts", true, schema.TimeUnitMillis, ms), "", ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cols := append(otherColumns(), tt.ts)
			if err := rawparquet.Write(filepath.Join(dir, "orders.parquet"), tt.meta, cols...); err != nil {
				t.Fatal(err)
			}
			checkOrderTS(t, dir, tt.zone, tt.value)
		})
	}
	t.Run("pqarrow writer, naive, stored schema", func(t *testing.T) {
		dir := t.TempDir()
		writeWithPqarrow(t, filepath.Join(dir, "orders.parquet"), &arrow.TimestampType{Unit: arrow.Microsecond}, us, pqarrow.WithStoreSchema())
		checkOrderTS(t, dir, "", us)
	})
	t.Run("pqarrow writer, UTC", func(t *testing.T) {
		dir := t.TempDir()
		writeWithPqarrow(t, filepath.Join(dir, "orders.parquet"), &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, us, pqarrow.WithStoreSchema())
		checkOrderTS(t, dir, "UTC", us)
	})
}

// TestInt96OutsideNanoseconds: INT96 values outside what int64
// nanoseconds hold (1677–2262) must come through as the instants they are,
// not wrapped into a plausible date that validate's range checks pass.
func TestInt96OutsideNanoseconds(t *testing.T) {
	tests := []struct {
		name string
		day  uint32
		nano int64
		want int64 // microseconds since the epoch
	}{
		{"year 1", 1721426, 0, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()},
		{"year 1500", 2268924, 3_600e9, time.Date(1500, 1, 1, 1, 0, 0, 0, time.UTC).UnixMicro()},
		{"year 2500", 2634167, 86_399_999_999_999, time.Date(2500, 1, 1, 23, 59, 59, 999_999_000, time.UTC).UnixMicro()},
		{"year 9999", 5373484, 0, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).UnixMicro()},
		// pqarrow reads Julian day 0 as 1970-01-01.
		{"Julian day 0", 0, 0, -2440588 * 86_400_000_000},
		{"nanoseconds beyond the day", 2440588, 86_400e9, math.MinInt64},
		{"largest Julian day", math.MaxUint32, 0, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cols := append(otherColumns(), rawparquet.Int96("order_ts", rawparquet.Int96At(tt.day, tt.nano)))
			if err := rawparquet.Write(filepath.Join(dir, "orders.parquet"), nil, cols...); err != nil {
				t.Fatal(err)
			}
			checkOrderTS(t, dir, "UTC", tt.want)
		})
	}
}

// TestInt96NullsAcrossBatches reads an optional INT96 column longer than
// one batch, with nulls, so every batch takes its own rows of the row
// group's values.
func TestInt96NullsAcrossBatches(t *testing.T) {
	const rows = 3*input.BatchRows/2 + 7
	vals := make([]*parquet.Int96, rows)
	want := make([]*int64, rows)
	for i := range vals {
		if i%7 == 3 {
			continue
		}
		day, nano := uint32(2440588+i), int64(i)*1_000_000
		v := rawparquet.Int96At(day, nano)
		vals[i] = &v
		m := int64(i)*86_400_000_000 + int64(i)*1000
		want[i] = &m
	}
	ids := make([]string, rows)
	amounts := make([]float64, rows)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
		amounts[i] = 1
	}
	dir := t.TempDir()
	if err := rawparquet.Write(filepath.Join(dir, "orders.parquet"), nil,
		rawparquet.String("order_id", ids...), rawparquet.String("customer_id", ids...),
		rawparquet.Double("amount", amounts...), rawparquet.OptionalInt96("order_ts", vals...)); err != nil {
		t.Fatal(err)
	}
	row, batches := 0, 0
	err := readOrderTS(t, dir, func(rec arrow.Record) error {
		col := rec.Column(rec.Schema().FieldIndices("order_ts")[0]).(*array.Timestamp)
		for i := range col.Len() {
			switch w := want[row]; {
			case w == nil && col.IsValid(i):
				t.Fatalf("row %d: %d, want null", row, col.Value(i))
			case w != nil && (col.IsNull(i) || int64(col.Value(i)) != *w):
				t.Fatalf("row %d: %v (null %v), want %d", row, col.Value(i), col.IsNull(i), *w)
			}
			row++
		}
		batches++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if row != rows || batches < 2 {
		t.Errorf("read %d rows in %d batches, want %d in at least 2", row, batches, rows)
	}
}

func otherFields() []arrow.Field {
	return []arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	}
}

func otherColumns() []rawparquet.Column {
	return []rawparquet.Column{rawparquet.String("order_id", "O1"), rawparquet.String("customer_id", "C1"), rawparquet.Double("amount", 10)}
}

func writeWithPqarrow(t *testing.T, path string, typ arrow.DataType, v int64, opts ...pqarrow.WriterOption) {
	t.Helper()
	sc := arrow.NewSchema(append(otherFields(), arrow.Field{Name: "order_ts", Type: typ}), nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("O1")
	b.Field(1).(*array.StringBuilder).Append("C1")
	b.Field(2).(*array.Float64Builder).Append(10)
	b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.NewArrowWriterProperties(opts...))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readOrderTS reads dir/orders.parquet through the extract stage's reader
// for a job in Europe/Berlin, handing visit every batch.
func readOrderTS(t *testing.T, dir string, visit func(arrow.Record) error) error {
	t.Helper()
	j, err := config.Decode([]byte("name: t\ntimezone: Europe/Berlin\ninput: {orders: {path: orders.parquet}}\n"), dir, []config.Section{night.InputSection})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rc, err := night.New(j, "r", "2026-11-22", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return extract.ReadAll(context.Background(), rc, &night.InputOf(j).Orders, schemas.Orders, schemas.OrdersRequired, visit)
}

// checkOrderTS reads dir/orders.parquet through the extract stage's reader
// and checks order_ts's zone and stored value.
func checkOrderTS(t *testing.T, dir, zone string, value int64) {
	t.Helper()
	seen := 0
	err := readOrderTS(t, dir, func(rec arrow.Record) error {
		idx := rec.Schema().FieldIndices("order_ts")
		if len(idx) != 1 {
			t.Fatalf("no order_ts in %s", rec.Schema())
		}
		col, ok := rec.Column(idx[0]).(*array.Timestamp)
		if !ok {
			t.Fatalf("order_ts read as %s", rec.Column(idx[0]).DataType())
		}
		if got := col.DataType().(*arrow.TimestampType).TimeZone; got != zone {
			t.Errorf("order_ts zone %q, want %q", got, zone)
		}
		if got := int64(col.Value(0)); got != value {
			t.Errorf("order_ts value %d, want %d", got, value)
		}
		seen += col.Len()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != 1 {
		t.Errorf("read %d rows, want 1", seen)
	}
}
