package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// writeJob writes a job file into a temporary folder and returns its path.
func writeJob(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	fileJob = "name: t\ninput: {orders: {path: o}}\noutput: {path: out}\nclv: {horizon_days: 30}\n" +
		"segments: {rules: [{name: Best, r: [5, 5], f: [1, 5], m: [1, 5]}, {name: Rest, r: [1, 4], f: [1, 5], m: [1, 5]}]}\n" +
		"actions: {tiers: {levels: [{name: Blue, min: 0}, {name: Gold, min: 100}]}}\n"
	sinkJob = "name: t\ninput: {orders: {path: o}}\nclv: {horizon_days: 30}\n" +
		"sink: {kind: bigquery, project: my-shop, dataset: marts, table_prefix: retain_}\n"
)

// TestSchemaForJob: with --job the exports name the job's columns, tables
// and values.
func TestSchemaForJob(t *testing.T) {
	files, sink := writeJob(t, fileJob), writeJob(t, sinkJob)
	tests := []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{"bigquery, all tables", []string{"--job", sink, "--format", "bigquery"},
			[]string{`"retain_customer_segments": [`, `"name": "expected_purchases_30d"`, `"name": "p_no_purchase_30d"`}, []string{"_90d", `"customer_summary"`}},
		{"bigquery, one table", []string{"--job", files, "--format", "bigquery", "--table", "customer_segments"},
			[]string{`"name": "expected_purchases_30d_low"`}, []string{"_90d"}},
		{"bigquery, default", []string{"--format", "bigquery", "--table", "customer_segments"},
			[]string{`"name": "expected_purchases_90d"`}, nil},
		{"dbt, sink", []string{"--job", sink, "--format", "dbt"},
			[]string{"database: my-shop", "schema: marts", "identifier: retain_customer_segments", "name: p_no_purchase_30d"}, []string{"external_location"}},
		{"dbt, sink, schema given", []string{"--job", sink, "--format", "dbt", "--dbt-schema", "other"},
			[]string{"schema: other"}, []string{"schema: marts"}},
		{"dbt, files", []string{"--job", files, "--format", "dbt"},
			// YAML quotes the value, which holds braces, doubling its quotes.
			[]string{"external_location: 'read_parquet(''" + filepath.Join(filepath.Dir(files), "out") + "/customer_segments/snapshot_date=*/*.parquet'', hive_partitioning = true, hive_types = {''snapshot_date'': DATE})'"},
			[]string{"identifier:", "database:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(append([]string{"schema"}, tt.args...), &stdout, &stderr); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			out := stdout.String()
			if strings.Contains(strings.Join(tt.args, " "), "bigquery") && !json.Valid(stdout.Bytes()) {
				t.Errorf("not one JSON value:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q", n)
				}
			}
		})
	}
}

// TestSchemaDBTValues: the accepted values are the job's segment and tier
// names, Other included.
func TestSchemaDBTValues(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"schema", "--job", writeJob(t, fileJob), "--format", "dbt"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	var doc struct {
		Sources []struct {
			Tables []struct {
				Name    string
				Columns []struct {
					Name  string
					Tests []any `yaml:"data_tests"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"rfm_segment":   "[Best Rest Other]",
		"loyalty_tier":  "[Blue Gold]",
		"churn_risk":    "[low medium high]",
		"winback_stage": "[active winback_1 winback_2 winback_3 lapsed]",
	}
	got := map[string]string{}
	for _, tb := range doc.Sources[0].Tables {
		if tb.Name != "customer_segments" {
			continue
		}
		for _, c := range tb.Columns {
			for _, test := range c.Tests {
				if m, ok := test.(map[string]any); ok {
					if av, ok := m["accepted_values"].(map[string]any); ok {
						raw, _ := json.Marshal(av["values"])
						got[c.Name] = strings.NewReplacer(`","`, " ", `["`, "[", `"]`, "]").Replace(string(raw))
					}
				}
			}
		}
	}
	for col, w := range want {
		if got[col] != w {
			t.Errorf("%s accepted values %s, want %s", col, got[col], w)
		}
	}
}
