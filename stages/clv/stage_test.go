package clv_test

import (
	"runtime"
	"testing"

	"retain/stages/clv"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/. Batches of two rows split
// customers' histories across batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: clv.Register, BatchRows: 2})
}

// TestStageProcs runs the cases on one and on two CPUs against the same
// expected files: the fits, standard errors and prediction intervals (whose
// draws are spread over the CPUs) must not depend on how many there are.
func TestStageProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		stagetest.Run(t, stagetest.Config{Register: clv.Register, BatchRows: 2})
	}
}
