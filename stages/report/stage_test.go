package report_test

import (
	"testing"

	"retain/stages/internal/stagetest"
	"retain/stages/report"
)

// TestStage runs the cases under testdata/. The page names the job and the
// run date but no run id or clock, so a golden report.html is compared byte
// for byte.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{Register: report.Register})
}
