package schemas

import (
	"bytes"
	"encoding/json"
	"strings"
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
	// The columns in memory and the currency, last, of the money columns.
	if len(fields) != len(CustomerSummary.Columns)+1 || fields[0].Name != PartitionColumn || fields[len(fields)-1] != (BigQueryField{"currency", "STRING", "NULLABLE", CurrencyColumn.Doc}) {
		t.Fatalf("%d fields, want %d ending in currency: %+v", len(fields), len(CustomerSummary.Columns)+1, fields)
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

// TestBigQueryExportFor: the job's horizon names the prediction columns and
// the prefix names the tables of the all-tables object.
func TestBigQueryExportFor(t *testing.T) {
	tests := []struct {
		name, table, prefix string
		horizon             int
		wantKey             string
		wantColumn          string
	}{
		{"one table, 30 days", "customer_segments", "", 30, "", "expected_purchases_30d"},
		{"all tables, prefixed", "", "retain_", 30, "retain_customer_segments", "p_no_purchase_30d"},
		{"all tables, default", "", "", 90, "customer_segments", "expected_purchases_90d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteBigQueryFor(&b, tt.table, Layout{HorizonDays: tt.horizon}, tt.prefix); err != nil {
				t.Fatal(err)
			}
			var fields []BigQueryField
			if tt.table != "" {
				if err := json.Unmarshal(b.Bytes(), &fields); err != nil {
					t.Fatal(err)
				}
			} else {
				var all map[string][]BigQueryField
				if err := json.Unmarshal(b.Bytes(), &all); err != nil {
					t.Fatalf("not one JSON object: %v", err)
				}
				if len(all) != len(Outputs()) {
					t.Errorf("%d tables, want %d", len(all), len(Outputs()))
				}
				fields = all[tt.wantKey]
			}
			found := false
			for _, f := range fields {
				found = found || f.Name == tt.wantColumn
			}
			if !found {
				t.Errorf("no column %s in %q", tt.wantColumn, tt.wantKey)
			}
		})
	}
}

// dbtDoc is the part of a sources.yml the tests read.
type dbtDoc struct {
	Sources []struct {
		Name, Schema, Database string
		Tables                 []struct {
			Name, Identifier string
			Meta             map[string]string
			LoadedAtField    string         `yaml:"loaded_at_field"`
			Freshness        map[string]any `yaml:"freshness"`
			Tests            []any          `yaml:"data_tests"`
			Columns          []struct {
				Name  string
				Meta  map[string]string
				Tests []any `yaml:"data_tests"`
			}
		}
	}
}

// TestDBTSourcesFor: a file output's tables read from their folders, a
// sink's are named with its prefix in its project and dataset; every
// table's tests are the ones dbt can run without packages.
func TestDBTSourcesFor(t *testing.T) {
	accepted := map[string][]string{"rfm_segment": {"Champions", "Other"}, "winback_stage": WinbackStages}
	tests := []struct {
		name           string
		o              DBTOptions
		wantIdentifier string
		wantLocation   string
		wantDatabase   string
	}{
		{"file output", DBTOptions{Source: "retain", Schema: "main", OutputRoot: "/data/out", Layout: Layout{30}, AcceptedValues: accepted}, "",
			"read_parquet('/data/out/customer_segments/snapshot_date=*/*.parquet', hive_partitioning = true, hive_types = {'snapshot_date': DATE})", ""},
		{"sink", DBTOptions{Source: "retain", Schema: "analytics", Database: "proj", TablePrefix: "r_", Layout: Layout{30}, AcceptedValues: accepted}, "r_customer_segments", "", "proj"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteDBTFor(&b, tt.o); err != nil {
				t.Fatal(err)
			}
			var doc dbtDoc
			if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			src := doc.Sources[0]
			if src.Schema != tt.o.Schema || src.Database != tt.wantDatabase {
				t.Errorf("schema %q database %q", src.Schema, src.Database)
			}
			seg := src.Tables[1]
			if seg.Name != "customer_segments" || seg.Identifier != tt.wantIdentifier || seg.Meta["external_location"] != tt.wantLocation {
				t.Errorf("customer_segments: identifier %q, meta %v", seg.Identifier, seg.Meta)
			}
			if seg.LoadedAtField != "cast(snapshot_date as timestamp)" || seg.Freshness["warn_after"] == nil || seg.Freshness["error_after"] == nil {
				t.Errorf("customer_segments freshness: %q %v", seg.LoadedAtField, seg.Freshness)
			}
			unique, _ := yaml.Marshal(seg.Tests)
			if want := "column_name: customer_id || '|' || cast(snapshot_date as string)"; !bytes.Contains(unique, []byte(want)) {
				t.Errorf("customer_segments tests %s, want unique on %s", unique, want)
			}
			// Over files, snapshot_date says it comes from the folders;
			// in a warehouse it is an ordinary column. currency ends a
			// table with money.
			if hive := seg.Columns[0].Meta["source"]; seg.Columns[0].Name != PartitionColumn || strings.Contains(hive, "hive partition") != (tt.o.OutputRoot != "") {
				t.Errorf("customer_segments first column %s, meta %v", seg.Columns[0].Name, seg.Columns[0].Meta)
			}
			if last := seg.Columns[len(seg.Columns)-1]; last.Name != "currency" || len(last.Tests) != 0 {
				t.Errorf("customer_segments last column %+v, want a nullable currency", last)
			}
			cols := map[string]string{}
			for _, c := range seg.Columns {
				raw, _ := yaml.Marshal(c.Tests)
				cols[c.Name] = string(raw)
			}
			for col, want := range map[string]string{
				"rfm_segment":            "- not_null\n- accepted_values:\n    values:\n        - Champions\n        - Other\n",
				"winback_stage":          "- not_null\n- accepted_values:\n    values:\n        - active\n        - winback_1\n        - winback_2\n        - winback_3\n        - lapsed\n",
				"expected_purchases_30d": "[]\n",
			} {
				if cols[col] != want {
					t.Errorf("%s tests:\n%s\nwant\n%s", col, cols[col], want)
				}
			}
			for _, tb := range src.Tables {
				if tb.Name == Quarantine.Name && (tb.Freshness != nil || tb.LoadedAtField != "") {
					t.Errorf("quarantine has freshness, though a clean night leaves it empty")
				}
			}
		})
	}
}

func TestReadParquet(t *testing.T) {
	tests := []struct{ root, want string }{
		{"out", "read_parquet('out/quarantine/snapshot_date=*/*.parquet', hive_partitioning = true, hive_types = {'snapshot_date': DATE})"},
		{"/d/o'brien/", "read_parquet('/d/o''brien/quarantine/snapshot_date=*/*.parquet', hive_partitioning = true, hive_types = {'snapshot_date': DATE})"},
	}
	for _, tt := range tests {
		if got := ReadParquet(tt.root, "quarantine"); got != tt.want {
			t.Errorf("ReadParquet(%q) = %s, want %s", tt.root, got, tt.want)
		}
	}
}
