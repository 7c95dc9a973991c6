package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"retain/schemas"
)

// TestViews: one view of every night and one of the latest per output
// table, each reading only its own table's files under the root the flags
// name.
func TestViews(t *testing.T) {
	job := writeJob(t, fileJob)
	tests := []struct {
		name string
		args []string
		root string
	}{
		{"default root", nil, "out"},
		{"job's output.path", []string{"--job", job}, filepath.Join(filepath.Dir(job), "out")},
		{"--output wins", []string{"--job", job, "--output", "/data/o'k"}, "/data/o''k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(append([]string{"views"}, tt.args...), &stdout, &stderr); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			out := stdout.String()
			stmts := regexp.MustCompile(`(?m)^CREATE OR REPLACE VIEW (\w+) AS `).FindAllStringSubmatch(out, -1)
			if len(stmts) != 2*len(schemas.Outputs()) {
				t.Fatalf("%d views, want %d:\n%s", len(stmts), 2*len(schemas.Outputs()), out)
			}
			for _, tb := range schemas.Outputs() {
				all := "CREATE OR REPLACE VIEW " + tb.Name + " AS SELECT snapshot_date, * EXCLUDE (snapshot_date) FROM read_parquet('" + tt.root + "/" + tb.Name +
					"/snapshot_date=*/*.parquet', hive_partitioning = true, hive_types = {'snapshot_date': DATE});\n"
				latest := "CREATE OR REPLACE VIEW " + tb.Name + "_latest AS SELECT * FROM " + tb.Name + " WHERE snapshot_date = (SELECT max(" +
					"regexp_extract(file, 'snapshot_date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1))::DATE FROM glob('" + tt.root + "/_runs/snapshot_date=*/_SUCCESS'));\n"
				for _, want := range []string{all, latest} {
					if !strings.Contains(out, want) {
						t.Errorf("views lack\n%s", want)
					}
				}
			}
		})
	}
}
