package stages_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retain/pipeline"
	"retain/stages/audiences"
)

func TestAudienceLists(t *testing.T) {
	out := runCase(t, "../testdata/actions_small", t.TempDir())
	dir := pipeline.PartitionDir(out, audiences.Dir, "2026-11-22")
	want := map[string]string{
		"winback_1_entered_today": "W1",
		"winback_2_entered_today": "W2",
		"winback_3_entered_today": "",
		"lapsed_entered_today":    "",
		"new_customers":           "N1",
		"tier_upgrades":           "T1",
		"milestones_today":        "T1",
		"anniversaries_today":     "A1",
		"at_risk_high_value":      "H1",
	}
	var m pipeline.Manifest
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(out, "2026-11-22"), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for name, ids := range want {
		f, err := os.Open(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows[0], ",") != strings.Join(audiences.Columns, ",") {
			t.Errorf("%s header %v", name, rows[0])
		}
		var got []string
		for _, r := range rows[1:] {
			got = append(got, r[0])
		}
		if strings.Join(got, ",") != ids {
			t.Errorf("%s = %v, want %s", name, got, ids)
		}
		if n := m.ArtifactRows["audiences/snapshot_date=2026-11-22/"+name+".csv"]; n != int64(len(got)) {
			t.Errorf("manifest counts %d rows for %s, file has %d", n, name, len(got))
		}
	}
	// The milestone row says which milestone.
	raw, _ = os.ReadFile(filepath.Join(dir, "milestones_today.csv"))
	if !strings.Contains(string(raw), ",5,") {
		t.Errorf("milestones_today.csv lacks the 5th-order milestone:\n%s", raw)
	}
}
