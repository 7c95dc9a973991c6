package schemas

import (
	"bytes"
	"os"
	"testing"
)

// TestTablesDocInStep fails when docs/tables.md was not regenerated after a
// schema change: run `go run ./cmd/retain schema --format markdown > docs/tables.md`.
func TestTablesDocInStep(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../docs/tables.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Error("docs/tables.md is stale; regenerate it with `go run ./cmd/retain schema --format markdown > docs/tables.md`")
	}
}

func TestEveryColumnDocumented(t *testing.T) {
	for _, tbl := range append(Outputs(), Orders, OrderItems) {
		if tbl.Doc == "" || tbl.Grain == "" {
			t.Errorf("table %s lacks a description or grain", tbl.Name)
		}
		seen := map[string]bool{}
		for _, c := range tbl.Columns {
			if c.Doc == "" {
				t.Errorf("%s.%s has no description", tbl.Name, c.Name)
			}
			if seen[c.Name] {
				t.Errorf("%s.%s appears twice", tbl.Name, c.Name)
			}
			seen[c.Name] = true
		}
		if f := tbl.Schema().Field(0); tbl.Name != "orders" && tbl.Name != "order_items" && f.Name != "snapshot_date" {
			t.Errorf("output %s must start with snapshot_date, starts with %s", tbl.Name, f.Name)
		}
	}
}
