package validate_test

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/schemas"
	"retain/stages/extract"
	"retain/stages/internal/stagetest"
	"retain/stages/validate"
)

// rawOrders is orders_raw as the extract stage emits a CSV file: every
// canonical column as text, nullable, since the source decides its types.
func rawOrders() *arrow.Schema {
	fields := make([]arrow.Field, len(schemas.Orders.Columns))
	for i, c := range schemas.Orders.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// TestStage runs the cases under testdata/.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{
		Register: validate.Register,
		Schemas:  map[string]*arrow.Schema{extract.RawOrders: rawOrders()},
	})
}
