package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retain/lineage"
)

// TestLineageParent: the events of a night name the Airflow task that
// started it, from --lineage-parent or from the variables a DAG sets for
// OpenLineage's integrations; and a night without orders is COMPLETE.
func TestLineageParent(t *testing.T) {
	const (
		task  = "default/retain_nightly_k8s.retain_run/01920a6e-5b7c-7d3e-8f90-123456789abc"
		dag   = "default/retain_nightly_k8s/01920a6e-5b00-7000-8000-abcdefabcdef"
		other = "prod/other_dag.other_task/01920a6e-0000-7000-8000-000000000001"
	)
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		wantJob  string // the parent job, empty for none
		wantRoot string
	}{
		{name: "none", code: exitNoInput},
		{name: "flags", args: []string{"--lineage-parent", task, "--lineage-root-parent", dag}, code: exitNoInput,
			wantJob: "retain_nightly_k8s.retain_run", wantRoot: "retain_nightly_k8s"},
		{name: "environment", env: map[string]string{lineage.ParentEnv: task, lineage.RootParentEnv: dag}, code: exitNoInput,
			wantJob: "retain_nightly_k8s.retain_run", wantRoot: "retain_nightly_k8s"},
		{name: "flag over environment", args: []string{"--lineage-parent", task}, env: map[string]string{lineage.ParentEnv: other}, code: exitNoInput,
			wantJob: "retain_nightly_k8s.retain_run"},
		{name: "malformed variable ignored", env: map[string]string{lineage.ParentEnv: "retain_run"}, code: exitNoInput},
		{name: "malformed flag", args: []string{"--lineage-parent", "default/retain_run/42"}, code: exitUsage},
		{name: "root without parent", args: []string{"--lineage-root-parent", dag}, code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []string{lineage.ParentEnv, lineage.RootParentEnv} {
				t.Setenv(v, tt.env[v])
			}
			dir := t.TempDir()
			job := filepath.Join(dir, "job.yaml")
			if err := os.WriteFile(job, []byte("name: t\ninput: {orders: {path: orders}}\noutput: {path: out}\nlineage: {file: events.jsonl}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "orders"), 0o755); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := run(append([]string{"run", "--job", job, "--run-date", "2026-11-22"}, tt.args...), &stdout, &stderr)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit code %d (err %v), want %d", got, err, tt.code)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
			if tt.code == exitUsage {
				if err == nil {
					t.Errorf("a usage error sent events: %s", raw)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				var ev struct {
					EventType string `json:"eventType"`
					Run       struct {
						Facets struct {
							Parent *struct {
								Job  struct{ Name string } `json:"job"`
								Root *struct {
									Job struct{ Name string } `json:"job"`
								} `json:"root"`
							} `json:"parent"`
							Outcome *struct{ Status string } `json:"retain_outcome"`
						} `json:"facets"`
					} `json:"run"`
				}
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatal(err)
				}
				types = append(types, ev.EventType)
				p := ev.Run.Facets.Parent
				var job, root string
				if p != nil {
					job = p.Job.Name
					if p.Root != nil {
						root = p.Root.Job.Name
					}
				}
				if job != tt.wantJob || root != tt.wantRoot {
					t.Errorf("%s: parent %q root %q, want %q %q", ev.EventType, job, root, tt.wantJob, tt.wantRoot)
				}
				if ev.EventType == "COMPLETE" && (ev.Run.Facets.Outcome == nil || ev.Run.Facets.Outcome.Status != "no_input") {
					t.Errorf("COMPLETE outcome %+v, want no_input", ev.Run.Facets.Outcome)
				}
			}
			if strings.Join(types, ",") != "START,COMPLETE" {
				t.Errorf("events %v, want START, COMPLETE", types)
			}
			if strings.Contains(tt.name, "malformed") && !strings.Contains(stderr.String(), "lineage parent ignored") {
				t.Errorf("no warning about the variable in %s", stderr.String())
			}
		})
	}
}
