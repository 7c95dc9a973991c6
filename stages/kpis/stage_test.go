package kpis_test

import (
	"testing"

	"retain/stages/internal/stagetest"
	"retain/stages/kpis"
)

// TestStage runs the cases under testdata/. Batches of two rows split
// customers' histories across batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: kpis.Register, BatchRows: 2})
}
