package load_test

import (
	"testing"

	"retain/stages/internal/stagetest"
	"retain/stages/load"
)

// TestStage runs the cases under testdata/; each written table is read
// back from its Parquet file and compared as CSV. Batches of two rows give
// a table several batches to write.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: load.Register, BatchRows: 2})
}
