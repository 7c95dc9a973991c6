package customersummary_test

import (
	"testing"

	"retain/stages/customersummary"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/. Batches of two rows spread a
// customer's orders over batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: customersummary.Register, BatchRows: 2})
}
