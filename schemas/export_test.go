package schemas

import (
	"bytes"
	"encoding/json"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestBigQueryExport(t *testing.T) {
	var b bytes.Buffer
	if err := WriteBigQuery(&b, "customer_summary"); err != nil {
		t.Fatal(err)
	}
	var fields []BigQueryField
	if err := json.Unmarshal(b.Bytes(), &fields); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"snapshot_date": {"DATE", "REQUIRED"}, "customer_id": {"STRING", "REQUIRED"}, "first_order_at": {"TIMESTAMP", "REQUIRED"},
		"order_count": {"INT64", "REQUIRED"}, "total_revenue": {"FLOAT64", "REQUIRED"}, "repeat_avg_value": {"FLOAT64", "NULLABLE"},
	}
	if len(fields) != len(CustomerSummary.Columns) {
		t.Fatalf("%d fields, want %d", len(fields), len(CustomerSummary.Columns))
	}
	for _, f := range fields {
		if w, ok := want[f.Name]; ok && (f.Type != w[0] || f.Mode != w[1] || f.Description == "") {
			t.Errorf("%s: %s %s %q, want %v with a description", f.Name, f.Type, f.Mode, f.Description, w)
		}
	}
	if err := WriteBigQuery(&b, "nope"); err == nil {
		t.Error("unknown table accepted")
	}
	b.Reset()
	if err := WriteBigQuery(&b, ""); err != nil {
		t.Fatal(err)
	}
	var all map[string][]BigQueryField
	if err := json.Unmarshal(b.Bytes(), &all); err != nil || len(all) != len(Outputs()) {
		t.Errorf("all tables: %d, %v", len(all), err)
	}
}

func TestDBTSources(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDBT(&b, "retain", "analytics"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int `yaml:"version"`
		Sources []struct {
			Name, Schema string
			Tables       []struct {
				Name    string
				Columns []struct {
					Name        string
					Description string
					DataType    string   `yaml:"data_type"`
					Tests       []string `yaml:"data_tests"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 2 || len(doc.Sources) != 1 || doc.Sources[0].Schema != "analytics" || len(doc.Sources[0].Tables) != len(Outputs()) {
		t.Fatalf("unexpected sources.yml:\n%s", b.String())
	}
	seg := doc.Sources[0].Tables[1]
	if seg.Name != "customer_segments" {
		t.Fatalf("second table %s", seg.Name)
	}
	for _, c := range seg.Columns {
		if c.Name == "rfm_segment" && (c.DataType != "STRING" || len(c.Tests) != 1 || c.Description == "") {
			t.Errorf("rfm_segment column: %+v", c)
		}
		if c.Name == "repeat_avg_value" && len(c.Tests) != 0 {
			t.Errorf("nullable column with not_null test")
		}
	}
}
