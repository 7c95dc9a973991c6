package extract_test

import (
	"testing"

	"retain/night"
	"retain/stages/extract"
	"retain/stages/internal/stagetest"
)

// TestStage runs the cases under testdata/stage/ (testdata/ itself holds
// the fuzz corpus). Each case's input files are under its files/ folder,
// which its job.yaml names. Without a warehouse reader, a job reading
// BigQuery would fail; no case here does.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{
		Register: func(r *night.Registry) error { return extract.Register(r, nil) },
		Dir:      "testdata/stage",
	})
}
