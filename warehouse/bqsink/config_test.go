package bqsink

import (
	"errors"
	"strings"
	"testing"

	"retain/config"
	"retain/warehouse/bqident"
)

const sinkJob = "name: n\nsink: {kind: bigquery, project: my-shop-prod, dataset: retain, table_prefix: retain_}\n"

// decode reads a job file that holds only the sink section, so these tests
// depend on no other section's rules.
func decode(raw, dir string) (*config.File, error) {
	return config.Decode([]byte(raw), dir, []config.Section{Section})
}

func TestSection(t *testing.T) {
	tests := []struct {
		name, yaml, ref, credentials string
	}{
		{"prefixed", sinkJob, "my-shop-prod.retain.retain_customer_segments", ""},
		{"kind by default", "name: n\nsink: {project: shop-prod, dataset: d}\n", "shop-prod.d.customer_segments", ""},
		{"credentials resolved", "name: n\nsink: {project: shop-prod, dataset: d, credentials_file: key.json}\n", "shop-prod.d.customer_segments", "/jobs/key.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml, "/jobs")
			if err != nil {
				t.Fatal(err)
			}
			s := *Section.Of(f)
			if s == nil {
				t.Fatal("sink is nil")
			}
			if s.Kind != "bigquery" || s.Ref("customer_segments").String() != tt.ref || s.CredentialsFile != tt.credentials {
				t.Errorf("sink = %+v, want kind bigquery, ref %s, credentials %q", s, tt.ref, tt.credentials)
			}
			if c := s.Connection(); c.Project != s.Project || c.CredentialsFile != tt.credentials {
				t.Errorf("connection = %+v", c)
			}
		})
	}
	f, err := decode("name: n\n", "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	if s := *Section.Of(f); s != nil {
		t.Errorf("a file without sink has sink %+v", s)
	}
}

// TestSectionHostile checks that names that could leave a quoted
// identifier, and other malformed values, fail when the job file loads.
func TestSectionHostile(t *testing.T) {
	tests := []struct {
		name, from, to string
		// ident marks a name bqident rejects.
		ident bool
		want  string
	}{
		{"dataset", "dataset: retain,", "dataset: 're`tain',", true, "sink.dataset"},
		{"prefix", "table_prefix: retain_}", "table_prefix: 'r`'}", true, "sink.table_prefix"},
		{"prefix too long", "table_prefix: retain_}", "table_prefix: " + strings.Repeat("p", 1024) + "}", true, "sink.table_prefix"},
		{"project", "project: my-shop-prod,", "project: \"my-shop'prod\",", true, "sink.project"},
		{"location", "kind: bigquery,", "kind: bigquery, location: 'EU; --',", true, "sink.location"},
		{"kind", "kind: bigquery,", "kind: snowflake,", false, `sink.kind "snowflake": want bigquery`},
		{"no dataset", "dataset: retain,", "", true, "sink.dataset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(sinkJob, tt.from, tt.to, 1)
			if src == sinkJob {
				t.Fatalf("%q not in the job", tt.from)
			}
			_, err := decode(src, "/")
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("accepted: %v", err)
			}
			if tt.ident && !errors.Is(err, bqident.ErrInvalid) {
				t.Fatalf("not an identifier error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
