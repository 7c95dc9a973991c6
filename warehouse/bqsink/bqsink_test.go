package bqsink

import (
	"regexp"
	"slices"
	"testing"

	"retain/schemas"
)

func TestJobID(t *testing.T) {
	a := JobID("20261125T010203Z-abc123", "customer_segments", "d1")
	if a != JobID("20261125T010203Z-abc123", "customer_segments", "d1") {
		t.Fatal("job id is not deterministic")
	}
	for _, other := range []string{
		JobID("20261125T010203Z-abc124", "customer_segments", "d1"),
		JobID("20261125T010203Z-abc123", "customer_summary", "d1"),
		JobID("20261125T010203Z-abc123", "customer_segments", "d2"),
	} {
		if other == a {
			t.Fatalf("job ids collide: %s", a)
		}
	}
	// A run id from --run-id may hold anything; job ids may not.
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for _, run := range []string{"manual rerun/2026-11-25 ünïcode", string(make([]byte, 5000))} {
		if id := JobID(run, "quarantine", "d"); !valid.MatchString(id) || len(id) > 1024 {
			t.Errorf("job id %q is not a valid BigQuery job id", id)
		}
	}
}

func TestTableMetadata(t *testing.T) {
	for _, tbl := range schemas.Outputs() {
		md, err := TableMetadata(tbl)
		if err != nil {
			t.Fatal(err)
		}
		if md.TimePartitioning.Field != PartitionColumn || md.Schema[0].Name != PartitionColumn || !md.Schema[0].Required {
			t.Errorf("%s: not partitioned on a required %s", tbl.Name, PartitionColumn)
		}
		for i, f := range md.Schema {
			if f.Description != tbl.Columns[i].Doc || f.Description == "" {
				t.Errorf("%s.%s: description %q", tbl.Name, f.Name, f.Description)
			}
		}
		if md.Clustering != nil {
			for _, c := range md.Clustering.Fields {
				if !slices.ContainsFunc(tbl.Columns, func(col schemas.Column) bool { return col.Name == c }) {
					t.Errorf("%s clustered on unknown column %s", tbl.Name, c)
				}
			}
		}
	}
	for name := range Clustering {
		if _, ok := schemas.Lookup(name); !ok {
			t.Errorf("clustering for unknown table %s", name)
		}
	}
}
