// Package quarantine is the stage that gathers rejected input rows — orders
// from validation, order items from product affinity — into one quarantine
// table, so every rejected row of any input is in one place with its reason.
package quarantine

import (
	"context"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/pipeline"
	"retain/schemas"
)

// Register adds the quarantine stage.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Spec{
		Name:    "quarantine",
		Doc:     "Gathers rejected order rows and order-item rows into the quarantine table.",
		Inputs:  []string{schemas.QuarantinedOrders, schemas.QuarantinedItems},
		Outputs: []string{schemas.Quarantine.Name},
		New: func(*pipeline.RunContext) (pipeline.Stage, error) {
			return stage{}, nil
		},
	})
}

type stage struct{ pipeline.BaseStage }

// Process forwards the batch: both parts are built on the quarantine schema.
func (stage) Process(ctx context.Context, _ string, rec arrow.Record, out pipeline.Emitter) error {
	return out.Emit(ctx, schemas.Quarantine.Name, rec)
}
