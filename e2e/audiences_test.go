package e2e_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retain/pipeline"
	"retain/schemas"
)

func TestAudienceLists(t *testing.T) {
	out := runCase(t, "../testdata/actions_small", t.TempDir())
	dir := pipeline.PartitionDir(out, schemas.AudiencesDir, "2026-11-22")
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
		if strings.Join(rows[0], ",") != strings.Join(schemas.AudienceColumns, ",") {
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

// TestAudienceCellsCannotRunAsFormulas: ids, countries and channels from the
// input that a spreadsheet would run reach the lists as text cells.
func TestAudienceCellsCannotRunAsFormulas(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	hostile := []string{`=HYPERLINK("http://x","y")`, `+cmd|' /C calc'!A0`, `@SUM(1)`, `-2+3`, "-17"}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"order_id", "customer_id", "order_ts", "amount", "country", "channel"})
	for i, id := range hostile {
		w.Write([]string{fmt.Sprint(i + 1), id, "2026-11-20", "10", "=1+1", "@web"})
	}
	w.Flush()
	write(t, filepath.Join(dir, "orders.csv"), b.String())
	if _, err := runJob(t, dir, "name: t\ninput: {orders: {path: orders.csv}}\naudiences: {lists: [new_customers]}\n", "2026-11-22", out, false); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(pipeline.PartitionDir(out, schemas.AudiencesDir, "2026-11-22"), "new_customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[0]] = true
		if r[1] != "'=1+1" || r[2] != "'@web" {
			t.Errorf("country %q, channel %q", r[1], r[2])
		}
	}
	for _, want := range []string{`'=HYPERLINK("http://x","y")`, `'+cmd|' /C calc'!A0`, `'@SUM(1)`, `'-2+3`, "-17"} {
		if !got[want] {
			t.Errorf("new_customers.csv lacks customer %s: %v", want, rows)
		}
	}
}
