package input

import (
	"errors"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/night"
)

// TestItemColumnTypes: the numeric item columns take what Parquet and
// BigQuery give them, unit_cost like unit_price; a column no kind names
// would take text alone and fail a shop's float costs.
func TestItemColumnTypes(t *testing.T) {
	for _, tc := range []struct {
		column string
		typ    arrow.DataType
		ok     bool
	}{
		{"unit_cost", arrow.PrimitiveTypes.Float64, true},
		{"unit_cost", &arrow.Decimal128Type{Precision: 12, Scale: 2}, true},
		{"unit_cost", arrow.PrimitiveTypes.Int64, true},
		{"unit_cost", arrow.BinaryTypes.String, true},
		{"unit_cost", arrow.FixedWidthTypes.Boolean, false},
		{"unit_price", arrow.PrimitiveTypes.Float32, true},
		{"quantity", arrow.PrimitiveTypes.Float64, false},
	} {
		err := CheckType("items.parquet", tc.column, tc.column, tc.typ)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, night.ErrInputSchema)) {
			t.Errorf("%s as %s: %v, want ok %v", tc.column, tc.typ, err, tc.ok)
		}
	}
}
