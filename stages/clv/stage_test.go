package clv_test

import (
	"testing"

	"retain/stages/clv"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/. Batches of two rows split
// customers' histories across batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: clv.Register, BatchRows: 2})
}
