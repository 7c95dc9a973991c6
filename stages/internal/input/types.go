package input

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/night"
)

// kind is what the validate stage can convert a source column from.
type kind int

const (
	kindText kind = iota
	kindID
	kindTimestamp
	kindAmount
	kindQuantity
)

// wantKind says which source types each canonical column accepts.
var wantKind = map[string]kind{
	"order_id":          kindID,
	"customer_id":       kindID,
	"order_ts":          kindTimestamp,
	"amount":            kindAmount,
	"currency":          kindText,
	"country":           kindText,
	"channel":           kindText,
	"status":            kindText,
	"sku":               kindID,
	"quantity":          kindQuantity,
	"unit_price":        kindAmount,
	"unit_cost":         kindAmount,
	"date":              kindTimestamp,
	"rate_to_reporting": kindAmount,
}

func (k kind) String() string {
	switch k {
	case kindID:
		return "string or integer"
	case kindTimestamp:
		return "timestamp, date or string"
	case kindAmount:
		return "float, integer, decimal or numeric string"
	case kindQuantity:
		return "integer or numeric string"
	}
	return "string"
}

func isString(t arrow.DataType) bool {
	return t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING
}

func isInteger(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func (k kind) accepts(t arrow.DataType) bool {
	if isString(t) {
		return true
	}
	switch k {
	case kindID, kindQuantity:
		return isInteger(t)
	case kindTimestamp:
		return t.ID() == arrow.TIMESTAMP || t.ID() == arrow.DATE32 || t.ID() == arrow.DATE64
	case kindAmount:
		switch t.ID() {
		case arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
			return true
		}
		return isInteger(t)
	}
	return false
}

// CheckType checks that a source column of type t can be converted to the
// canonical column it is mapped to; file names the source in the message.
func CheckType(file, canonical, source string, t arrow.DataType) error {
	k := wantKind[canonical]
	if !k.accepts(t) {
		return fmt.Errorf("%w: %s: column %q (mapped to %s) has type %s, want %s", night.ErrInputSchema, file, source, canonical, t, k)
	}
	return nil
}

// MissingColumn is the error for a required column the source lacks.
func MissingColumn(file, canonical, source string, have []string) error {
	return fmt.Errorf("%w: %s: required column %q (mapped to %s) is missing; the file has: %s",
		night.ErrInputSchema, file, source, canonical, strings.Join(have, ", "))
}
