package validate

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// status of one converted value.
type status uint8

const (
	ok status = iota
	null
	bad
	// outOfRange is a timestamp that does not fit int64 microseconds:
	// converting it would wrap into an unrelated, plausible date.
	outOfRange
)

// Accessors turn a source column of any accepted type into the canonical
// value of row i. They are built once per batch, so the per-row work is one
// indirect call and no type switch.
type (
	textFn   func(i int) (string, status)
	tsFn     func(i int) (int64, status)
	amountFn func(i int) (float64, status)
)

func textAccessor(a arrow.Array) textFn {
	if a == nil {
		return func(int) (string, status) { return "", null }
	}
	switch a := a.(type) {
	case *array.String:
		return func(i int) (string, status) {
			if a.IsNull(i) {
				return "", null
			}
			return a.Value(i), ok
		}
	case *array.LargeString:
		return func(i int) (string, status) {
			if a.IsNull(i) {
				return "", null
			}
			return a.Value(i), ok
		}
	}
	return func(i int) (string, status) {
		if a.IsNull(i) {
			return "", null
		}
		return a.ValueStr(i), ok
	}
}

// mayBeInvalidUTF8 reports whether a text column needs its values checked
// for UTF-8: columns that are not strings are text made by formatting, and
// a string column whose bytes are all ASCII, by far the usual, is valid in
// every row, so one pass over its data replaces a check per row.
func mayBeInvalidUTF8(a arrow.Array) bool {
	var data []byte
	switch a := a.(type) {
	case *array.String:
		data = a.ValueBytes()
	case *array.LargeString:
		data = a.ValueBytes()
	default:
		return false
	}
	for len(data) >= 8 {
		if binary.LittleEndian.Uint64(data)&0x8080808080808080 != 0 {
			return true
		}
		data = data[8:]
	}
	for _, c := range data {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func tsAccessor(a arrow.Array, loc *time.Location, layout string) tsFn {
	switch a := a.(type) {
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		toMicro := unitToMicro(tt.Unit)
		// A timestamp without a zone is a wall-clock reading (Arrow's and
		// Parquet's isAdjustedToUTC=false), so it is placed in the job's zone.
		wall := tt.TimeZone == "" && loc != time.UTC
		return func(i int) (int64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			us, fits := toMicro(int64(a.Value(i)))
			if !fits {
				return 0, outOfRange
			}
			if wall {
				us = wallToInstant(us, loc)
			}
			return us, ok
		}
	case *array.Date32:
		return func(i int) (int64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			return dayStart(int64(a.Value(i)), loc)
		}
	case *array.Date64:
		return func(i int) (int64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			return dayStart(floorDiv(int64(a.Value(i)), 86400000), loc)
		}
	}
	text := textAccessor(a)
	return func(i int) (int64, status) {
		s, st := text(i)
		if st != ok {
			return 0, st
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, null
		}
		t, good := parseTimestamp(s, loc, layout)
		if !good {
			return 0, bad
		}
		return t.UnixMicro(), ok
	}
}

// maxMicro bounds the timestamps handled, a day inside int64 microseconds
// (about 292,000 years either side of 1970), so placing a wall-clock
// reading in a zone cannot overflow either.
const (
	dayMicro = 86_400_000_000
	maxMicro = math.MaxInt64 - dayMicro
)

// unitToMicro converts to microseconds, and says whether the value fits.
func unitToMicro(u arrow.TimeUnit) func(int64) (int64, bool) {
	switch u {
	case arrow.Second:
		return func(v int64) (int64, bool) { return v * 1_000_000, v >= -maxMicro/1_000_000 && v <= maxMicro/1_000_000 }
	case arrow.Millisecond:
		return func(v int64) (int64, bool) { return v * 1000, v >= -maxMicro/1000 && v <= maxMicro/1000 }
	case arrow.Nanosecond:
		return func(v int64) (int64, bool) { return floorDiv(v, 1e3), true }
	}
	return func(v int64) (int64, bool) { return v, v >= -maxMicro && v <= maxMicro }
}

// dayStart is local midnight of a day number since 1970-01-01.
func dayStart(days int64, loc *time.Location) (int64, status) {
	if days < -maxMicro/dayMicro || days > maxMicro/dayMicro {
		return 0, outOfRange
	}
	return time.Date(1970, 1, 1+int(days), 0, 0, 0, 0, loc).UnixMicro(), ok
}

func wallToInstant(us int64, loc *time.Location) int64 {
	t := time.UnixMicro(us).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UnixMicro()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func finite(f float64) status {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return bad
	}
	return ok
}

func amountAccessor(a arrow.Array) amountFn {
	switch a := a.(type) {
	case *array.Float64:
		return func(i int) (float64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			v := a.Value(i)
			return v, finite(v)
		}
	case *array.Float32:
		return func(i int) (float64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			v := float64(a.Value(i))
			return v, finite(v)
		}
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(i int) (float64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			v := a.Value(i)
			neg := v.Sign() < 0
			if neg {
				v = v.Negate()
			}
			small := v.HighBits() == 0 && v.LowBits() < 1<<53
			return decimalFloat(neg, v.LowBits(), small, scale, func() string { return a.Value(i).ToString(scale) }), ok
		}
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(i int) (float64, status) {
			if a.IsNull(i) {
				return 0, null
			}
			v := a.Value(i)
			neg := v.Sign() < 0
			if neg {
				v = v.Negate()
			}
			w := v.Array()
			small := w[1] == 0 && w[2] == 0 && w[3] == 0 && w[0] < 1<<53
			return decimalFloat(neg, w[0], small, scale, func() string { return a.Value(i).ToString(scale) }), ok
		}
	case *array.String, *array.LargeString:
		text := textAccessor(a)
		return func(i int) (float64, status) {
			s, st := text(i)
			if st != ok {
				return 0, st
			}
			s = strings.TrimSpace(s)
			if s == "" {
				return 0, null
			}
			return parseAmount(s)
		}
	case *array.Int64:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int32:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int16:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int8:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint64:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint32:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint16:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint8:
		return intAmount(a, func(i int) float64 { return float64(a.Value(i)) })
	}
	// extract accepts no other type; this keeps a surprise from panicking.
	return func(i int) (float64, status) {
		if a.IsNull(i) {
			return 0, null
		}
		return parseAmount(a.ValueStr(i))
	}
}

// intAmount reads an integer column; converting the integer rounds exactly
// as parsing its decimal text would.
func intAmount(a arrow.Array, value func(int) float64) amountFn {
	return func(i int) (float64, status) {
		if a.IsNull(i) {
			return 0, null
		}
		return value(i), ok
	}
}

// parseAmount reads the decimal forms a CSV export writes (see
// isDecimalText). A number too large for a float64 is +Inf or -Inf, which
// the range checks reject; one too small is 0.
func parseAmount(s string) (float64, status) {
	if !isDecimalText(s) {
		return 0, bad
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, bad
	}
	return v, ok
}

// isDecimalText accepts an optional sign, digits with an optional '.'
// fraction (".5" and "5." included) and an optional exponent ("1e3",
// "1.5E-2"). strconv.ParseFloat alone would also take Go's syntax — hex
// floats ("0x1p-2"), underscores ("1_000"), "inf" and "nan" — which no
// export writes for an amount and which would turn a garbled cell into a
// number.
func isDecimalText(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && isDigit(s[i]); i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && isDigit(s[i]); i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimalFloat is the float64 nearest a decimal, the same value parsing its
// text gives, so a NUMERIC amount and the same amount in a CSV file agree
// to the last bit. Arrow's ToFloat64 multiplies by an inexact 10^-scale and
// can miss by one unit in the last place. unscaled is the magnitude when
// small says it is below 2^53 (exact in a float64): one division by an exact
// power of ten then rounds once, correctly. Other values go through text.
func decimalFloat(neg bool, unscaled uint64, small bool, scale int32, text func() string) float64 {
	if small && scale >= -22 && scale <= 22 {
		v := float64(unscaled)
		if scale >= 0 {
			v /= pow10[scale]
		} else {
			v *= pow10[-scale]
		}
		if neg {
			v = -v
		}
		return v
	}
	v, _ := strconv.ParseFloat(text(), 64)
	return v
}
