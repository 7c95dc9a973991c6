package customersummary_test

import (
	"fmt"
	"runtime"
	"testing"

	"retain/stages/customersummary"
	"retain/stages/internal/stagetest"
)

// cores are the GOMAXPROCS and worker counts every case runs with: the
// tables must not depend on either.
var cores = []struct{ procs, workers int }{{1, 1}, {1, 2}, {2, 2}, {2, 3}}

// eachCores runs f once per entry of cores.
func eachCores(t *testing.T, f func(t *testing.T)) {
	for _, c := range cores {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d/workers=%d", c.procs, c.workers), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
			defer customersummary.SetWorkers(c.workers)()
			f(t)
		})
	}
}

// TestStage runs the cases under testdata/. Batches of two rows spread a
// customer's orders over batches.
func TestStage(t *testing.T) {
	eachCores(t, func(t *testing.T) {
		stagetest.Run(t, stagetest.Config{Register: customersummary.Register, BatchRows: 2})
	})
}
