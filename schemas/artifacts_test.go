package schemas

import "testing"

// TestArtifactNamesAreNotTables: an artifact folder named like an output
// table would be committed over that table's partition.
func TestArtifactNamesAreNotTables(t *testing.T) {
	for _, dir := range []string{ReportDir, AudiencesDir} {
		if _, ok := Lookup(dir); ok {
			t.Errorf("artifact %q is also an output table", dir)
		}
	}
}
