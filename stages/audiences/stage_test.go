package audiences_test

import (
	"testing"

	"retain/stages/audiences"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/; the lists are compared as the
// files the stage created. Batches of two customers make a list collect
// rows from more than one batch.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: audiences.Register, BatchRows: 2})
}
