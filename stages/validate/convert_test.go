package validate

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/decimal256"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestParseTimestamp(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		in, layout string
		loc        *time.Location
		want       string // RFC 3339 UTC, or "" for rejected
	}{
		{"2026-03-31T23:30:00-04:00", "", ny, "2026-04-01T03:30:00Z"},
		{"2026-01-10T14:00:00Z", "", ny, "2026-01-10T14:00:00Z"},
		{"2026-01-10 20:30:00", "", ny, "2026-01-11T01:30:00Z"},
		{"2026-07-10 20:30:00.250", "", ny, "2026-07-11T00:30:00.25Z"},
		{"2026-01-10", "", time.UTC, "2026-01-10T00:00:00Z"},
		{"19970101", "", time.UTC, "1997-01-01T00:00:00Z"},
		{"2026-02-30", "", time.UTC, ""},
		{"2026-13-01", "", time.UTC, ""},
		{"20261301", "", time.UTC, ""},
		{"yesterday", "", time.UTC, ""},
		{"31.12.2025 18:00", "02.01.2006 15:04", ny, "2025-12-31T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseTimestamp(tt.in, tt.loc, tt.layout)
			if tt.want == "" {
				if ok {
					t.Errorf("accepted as %v", got)
				}
				return
			}
			if !ok || got.UTC().Format(time.RFC3339Nano) != tt.want {
				t.Errorf("got %v (ok %v), want %s", got.UTC(), ok, tt.want)
			}
		})
	}
}

// TestTimestampColumns: zone-less timestamps are wall-clock readings in the
// job's zone; units convert to microseconds; dates are local midnights.
func TestTimestampColumns(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	wall := time.Date(2026, 11, 1, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		typ  arrow.DataType
		val  int64
		want time.Time
	}{
		{"naive ns", &arrow.TimestampType{Unit: arrow.Nanosecond}, wall.UnixNano(), time.Date(2026, 11, 1, 23, 30, 0, 0, berlin)},
		{"utc s", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, wall.Unix(), wall},
		{"utc ms", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, wall.UnixMilli(), wall},
		{"date32", arrow.FixedWidthTypes.Date32, 20393, time.Date(2025, 11, 1, 0, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := array.NewBuilder(mem, tt.typ)
			defer b.Release()
			switch b := b.(type) {
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(tt.val))
			case *array.Date32Builder:
				b.Append(arrow.Date32(tt.val))
			}
			b.AppendNull()
			a := b.NewArray()
			defer a.Release()
			get := tsAccessor(a, berlin, "")
			if us, st := get(0); st != ok || us != tt.want.UnixMicro() {
				t.Errorf("got %v (%v), want %v", time.UnixMicro(us).UTC(), st, tt.want.UTC())
			}
			if _, st := get(1); st != null {
				t.Errorf("null read as %v", st)
			}
		})
	}
}

// TestDecimalAmounts: a decimal amount converts to the float64 its text
// parses to, for every scale a warehouse uses (NUMERIC has 9, BIGNUMERIC 38).
func TestDecimalAmounts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	texts := []string{"0", "12.34", "822.1", "19.99", "-0.07", "123456789.123456789", "0.000000001", "99999999999999999.99"}
	for _, scale := range []int32{2, 9, 20} {
		b128 := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: scale})
		b256 := array.NewDecimal256Builder(mem, &arrow.Decimal256Type{Precision: 76, Scale: scale})
		var want []float64
		for _, s := range texts {
			v128, err := decimal128.FromString(s, 38, scale)
			if err != nil {
				continue // more digits than the scale keeps
			}
			v256, err := decimal256.FromString(s, 76, scale)
			if err != nil {
				t.Fatal(err)
			}
			f, _ := strconv.ParseFloat(v128.ToString(scale), 64)
			want = append(want, f)
			b128.Append(v128)
			b256.Append(v256)
		}
		for _, b := range []array.Builder{b128, b256} {
			arr := b.NewArray()
			get := amountAccessor(arr)
			for i, w := range want {
				if got, st := get(i); st != ok || got != w {
					t.Errorf("%s scale %d row %d: got %v, want %v", arr.DataType(), scale, i, got, w)
				}
			}
			arr.Release()
			b.Release()
		}
	}
}

// TestAmountText: the decimal forms a CSV export writes are numbers; Go's
// extra float syntax, spelled-out infinities and formatted money are not.
// Numbers beyond float64 are infinite (the range check quarantines them).
func TestAmountText(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		st   status
	}{
		{"10", 10, ok},
		{"-3", -3, ok},
		{"+3", 3, ok},
		{"19.99", 19.99, ok},
		{".5", 0.5, ok},
		{"5.", 5, ok},
		{"1e3", 1000, ok},
		{"1.5E-2", 0.015, ok},
		{"2e+2", 200, ok},
		{"007", 7, ok},
		{"1e400", math.Inf(1), ok},
		{"-1e400", math.Inf(-1), ok},
		{"1e-400", 0, ok},
		{"0x1p-2", 0, bad},
		{"0x10", 0, bad},
		{"1_000", 0, bad},
		{"1,000", 0, bad},
		{"1.000,50", 0, bad},
		{"1 000", 0, bad},
		{"€5", 0, bad},
		{"5 EUR", 0, bad},
		{"$5", 0, bad},
		{"inf", 0, bad},
		{"+Inf", 0, bad},
		{"infinity", 0, bad},
		{"NaN", 0, bad},
		{".", 0, bad},
		{"-", 0, bad},
		{"1e", 0, bad},
		{"1e+", 0, bad},
		{"e5", 0, bad},
		{"1.2.3", 0, bad},
		{"--1", 0, bad},
		{"ten", 0, bad},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, st := parseAmount(tt.in)
			if st != tt.st || (st == ok && got != tt.want) {
				t.Errorf("parseAmount(%q) = %v, %v; want %v, %v", tt.in, got, st, tt.want, tt.st)
			}
		})
	}
}

// TestTimestampRange: values whose conversion to microseconds would wrap
// around int64 (into an unrelated, plausible date) are out of range, for
// every unit and for dates; the extremes that fit still convert.
func TestTimestampRange(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// Milliseconds that, times 1000, wrap to 2026-11-01T22:30:00.000384Z.
	const wrapMS = 18448537645909552
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		typ  arrow.DataType
		val  int64
		st   status
	}{
		{"seconds wrapping", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, math.MaxInt64 / 1000, outOfRange},
		{"seconds below", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, math.MinInt64 / 1000, outOfRange},
		{"milliseconds wrapping", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, wrapMS, outOfRange},
		{"naive milliseconds wrapping", &arrow.TimestampType{Unit: arrow.Millisecond}, wrapMS, outOfRange},
		{"microseconds at the edge", &arrow.TimestampType{Unit: arrow.Microsecond}, math.MaxInt64, outOfRange},
		{"nanoseconds at the edge", &arrow.TimestampType{Unit: arrow.Nanosecond}, math.MinInt64, ok},
		{"year 9999 seconds", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, year9999.Unix(), ok},
		{"year 1 naive millis", &arrow.TimestampType{Unit: arrow.Millisecond}, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), ok},
		{"date32 far future", arrow.FixedWidthTypes.Date32, math.MaxInt32, outOfRange},
		{"date32 far past", arrow.FixedWidthTypes.Date32, math.MinInt32, outOfRange},
		{"date64 far future", arrow.FixedWidthTypes.Date64, math.MaxInt64, outOfRange},
		{"date64 year 9999", arrow.FixedWidthTypes.Date64, year9999.UnixMilli(), ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := array.NewBuilder(mem, tt.typ)
			defer b.Release()
			switch b := b.(type) {
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(tt.val))
			case *array.Date32Builder:
				b.Append(arrow.Date32(tt.val))
			case *array.Date64Builder:
				b.Append(arrow.Date64(tt.val))
			}
			a := b.NewArray()
			defer a.Release()
			us, st := tsAccessor(a, berlin, "")(0)
			if st != tt.st {
				t.Fatalf("status %v (%v), want %v", st, time.UnixMicro(us).UTC(), tt.st)
			}
			if st == ok && tt.typ.ID() == arrow.TIMESTAMP && tt.typ.(*arrow.TimestampType).Unit == arrow.Second {
				if want := tt.val * 1e6; us != want {
					t.Errorf("got %d µs, want %d", us, want)
				}
			}
		})
	}
	wrapped := int64(wrapMS)
	wrapped *= 1000 // wraps, as an unchecked conversion would
	if got := time.UnixMicro(wrapped).UTC(); got.Year() != 2026 {
		t.Fatalf("wrapMS wraps to %v, not the plausible date the test is about", got)
	}
}

// TestMayBeInvalidUTF8: only string columns with a byte outside ASCII in
// the rows they hold need per-row checks; a slice looks at its own rows.
func TestMayBeInvalidUTF8(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues([]string{"C1", "C2-long-enough-for-words", "K\xf6ln", "C4"}, nil)
	s := sb.NewArray()
	defer s.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.Append(7)
	ints := ib.NewArray()
	defer ints.Release()
	head, tail := array.NewSlice(s, 0, 2), array.NewSlice(s, 2, 4)
	defer head.Release()
	defer tail.Release()
	tests := []struct {
		name string
		a    arrow.Array
		want bool
	}{
		{"whole column", s, true},
		{"ASCII rows of it", head, false},
		{"the row with Latin-1", tail, true},
		{"integers", ints, false},
		{"no column", nil, false},
	}
	for _, tt := range tests {
		if got := mayBeInvalidUTF8(tt.a); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
