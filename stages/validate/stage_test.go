package validate_test

import (
	"context"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
	"retain/stages/internal/stagetest"
	"retain/stages/validate"
)

// textOf types every column of t as nullable text, as the CSV reader hands
// a file over before validation types it.
func textOf(t schemas.Table) *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// rawOf is textOf(schemas.Orders) with the trailing input.SharedOrderID
// flag every raw batch carries, which a case states per row.
func rawOf() *arrow.Schema {
	fields := append(textOf(schemas.Orders).Fields(), arrow.Field{Name: input.SharedOrderID, Type: arrow.FixedWidthTypes.Boolean})
	return arrow.NewSchema(fields, nil)
}

// csvSideInput reads a side input's CSV file as text, in the case
// conventions, where a run would use the extract stage's file reader.
func csvSideInput(_ context.Context, rc *night.Context, src *night.Source, t schemas.Table, _ []string, visit func(arrow.Record) error) error {
	recs, err := stagetest.ReadCSV(src.Path, textOf(t), 0, rc.Mem)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, r := range recs {
		if err := visit(r); err != nil {
			return err
		}
	}
	return nil
}

// TestStage runs the cases under testdata/, and those under
// testdata_warehouse/, whose raw rows carry a warehouse's flags
// (input.LostDuplicate, input.FoldedOrder) as BigQuery pushdown sends them.
// flaggedOf is the raw orders schema as BigQuery pushdown sends it, with
// the warehouse's flags.
func flaggedOf() *arrow.Schema {
	return arrow.NewSchema(append(rawOf().Fields(),
		arrow.Field{Name: input.LostDuplicate, Type: arrow.FixedWidthTypes.Boolean},
		arrow.Field{Name: input.FoldedOrder, Type: arrow.FixedWidthTypes.Boolean}), nil)
}

func TestStage(t *testing.T) {
	register := func(r *night.Registry) error { return validate.Register(r, csvSideInput) }
	stagetest.Run(t, stagetest.Config{Register: register, Schemas: map[string]*arrow.Schema{schemas.RawOrders: rawOf()}})
	t.Run("warehouse", func(t *testing.T) {
		stagetest.Run(t, stagetest.Config{Register: register, Schemas: map[string]*arrow.Schema{schemas.RawOrders: flaggedOf()}, Dir: "testdata_warehouse"})
	})
}
