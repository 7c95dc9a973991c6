package segments_test

import (
	"testing"

	"retain/stages/internal/stagetest"
	"retain/stages/segments"
)

// TestStage runs the cases under testdata/. Batches of two rows make the
// joined tables line up across batch boundaries.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: segments.Register, BatchRows: 2})
}
