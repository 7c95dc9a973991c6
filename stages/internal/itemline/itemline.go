// Package itemline reads the numeric columns of raw order items (quantity,
// unit_price, unit_cost), whose types are each source's own: text from CSV,
// integers, floats or decimals from Parquet and BigQuery. Product affinity
// and the margin stage share it, so both judge a unit_cost alike: one
// quarantines what the other leaves out.
package itemline

import (
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Status is what a cell holds.
type Status uint8

// The statuses of a cell.
const (
	// Null: null, blank text, or no such column.
	Null Status = iota
	// OK: a finite number.
	OK
	// Bad: text that is no plain decimal number, or a number that is not
	// finite.
	Bad
)

// Number reads cells of a as float64; a nil a (a column the source does not
// have) and a type no source gives read as null.
type Number func(i int) (float64, Status)

// Of returns the reader of a.
func Of(a arrow.Array) Number {
	fl := func(v float64) (float64, Status) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, Bad
		}
		return v, OK
	}
	switch a := a.(type) {
	case *array.Float64:
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return fl(a.Value(i))
		}
	case *array.Float32:
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return fl(float64(a.Value(i)))
		}
	case *array.Int64:
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return float64(a.Value(i)), OK
		}
	case *array.Int32:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int16:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int8:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint64:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint32:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint16:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint8:
		return integer(a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return fl(a.Value(i).ToFloat64(scale))
		}
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return fl(a.Value(i).ToFloat64(scale))
		}
	case *array.String:
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return parse(a.Value(i))
		}
	case *array.LargeString:
		return func(i int) (float64, Status) {
			if a.IsNull(i) {
				return 0, Null
			}
			return parse(a.Value(i))
		}
	}
	return func(int) (float64, Status) { return 0, Null }
}

// integer reads the cells of an integer column through value.
func integer(a arrow.Array, value func(int) float64) Number {
	return func(i int) (float64, Status) {
		if a.IsNull(i) {
			return 0, Null
		}
		return value(i), OK
	}
}

// parse reads a plain decimal number, as validation reads an amount: an
// optional sign, digits with an optional fraction and exponent. Hex
// floats, digit separators, inf and nan are Bad.
func parse(s string) (float64, Status) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, Null
	}
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E':
		default:
			return 0, Bad
		}
	}
	if !digits {
		return 0, Bad
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, Bad
	}
	return v, OK
}

// BadCost reports whether a unit_cost cell is unusable: there, and not a
// finite number ≥ 0. A line with one is quarantined (see ReasonInvalidUnitCost).
func BadCost(cost Number, i int) bool { return IsBadCost(cost(i)) }

// IsBadCost is BadCost for a cell already read.
func IsBadCost(v float64, st Status) bool { return st == Bad || (st == OK && v < 0) }

// ReasonInvalidUnitCost quarantines an item whose unit_cost is negative,
// not finite or not a number: the cost of the goods cannot be less than
// nothing, and a margin rate built on it would mislead.
const ReasonInvalidUnitCost = "invalid_unit_cost"
