package load_test

import (
	"fmt"
	"runtime"
	"testing"

	"retain/stages/internal/stagetest"
	"retain/stages/load"
)

// TestStage runs the cases under testdata/; each written table is read
// back from its Parquet file and compared as CSV. Batches of two rows give
// a table several batches to write. Every case runs on one core and on
// two, since the tables' files complete at once.
func TestStage(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			stagetest.Run(t, stagetest.Config{Register: load.Register, BatchRows: 2})
		})
	}
}
