package load

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// ErrUnsafeValue is wrapped when a table about to be written holds a value
// that would break its readers: a NaN or infinite float (BI tools sum it
// into every total) or a string that is not UTF-8 (DuckDB and BigQuery
// refuse the whole file, and with it every night a glob reads). Validation
// keeps such values out; this is the last line that turns a miss into a
// failed night instead of a published one.
var ErrUnsafeValue = errors.New("unsafe output value")

// checkValues returns an error naming the first unsafe value of rec.
func checkValues(table string, rec arrow.Record) error {
	for c, col := range rec.Columns() {
		if row, what := firstUnsafe(col); row >= 0 {
			return fmt.Errorf("%w: %s.%s row %d holds %s", ErrUnsafeValue, table, rec.Schema().Field(c).Name, row, what)
		}
	}
	return nil
}

func firstUnsafe(col arrow.Array) (int, string) {
	switch a := col.(type) {
	case *array.Float64:
		for i, v := range a.Float64Values() {
			if (math.IsNaN(v) || math.IsInf(v, 0)) && a.IsValid(i) {
				return i, fmt.Sprint(v)
			}
		}
	case *array.Float32:
		for i, v := range a.Float32Values() {
			if f := float64(v); (math.IsNaN(f) || math.IsInf(f, 0)) && a.IsValid(i) {
				return i, fmt.Sprint(v)
			}
		}
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				return i, fmt.Sprintf("invalid UTF-8 %q", a.Value(i))
			}
		}
	case *array.LargeString:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				return i, fmt.Sprintf("invalid UTF-8 %q", a.Value(i))
			}
		}
	}
	return -1, ""
}
