package validate

import (
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
