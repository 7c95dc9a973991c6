package cohorts_test

import (
	"testing"

	"retain/stages/cohorts"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/. Batches of two rows split
// customers' histories across batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: cohorts.Register, BatchRows: 2})
}
