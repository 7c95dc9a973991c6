package extract_test

import (
	"fmt"
	"runtime"
	"testing"

	"retain/night"
	"retain/stages/extract"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/stage/ (testdata/ itself holds
// the fuzz corpus). Each case's input files are under its files/ folder,
// which its job.yaml names. Without a warehouse reader, a job reading
// BigQuery would fail; no case here does. Every case runs on one core and
// on two: the Parquet row groups decode on two workers either way, and
// what is emitted must not depend on how they interleave.
func TestStage(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			stagetest.Run(t, stagetest.Config{
				Register: func(r *night.Registry) error { return extract.Register(r, nil) },
				Dir:      "testdata/stage",
			})
		})
	}
}
