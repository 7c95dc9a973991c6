package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte("name: t\ninput: {orders: {path: \"orders/*.csv\"}}\noutput: {path: out}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop", "orders.csv"), []byte("order_id,customer_id,order_ts,amount\nO1,C1,2026-11-01,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withItems := filepath.Join(dir, "items.yaml")
	if err := os.WriteFile(withItems, []byte("name: t\ninput: {orders: {path: shop/orders.csv}, order_items: {path: shop/items}}\noutput: {path: out}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir, zeroRows := filepath.Join(dir, "empty"), filepath.Join(dir, "zero")
	if err := os.MkdirAll(filepath.Join(zeroRows, "orders"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zeroRows, "orders", "part-0.csv"), []byte("order_id,customer_id,order_ts,amount\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: t\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"missing run date", []string{"run", "--job", job}, exitUsage},
		{"orders folder missing", []string{"run", "--job", job, "--run-date", "2026-11-22"}, exitFailure},
		{"input folder missing", []string{"run", "--job", job, "--run-date", "2026-11-22", "--input", filepath.Join(dir, "nothing")}, exitFailure},
		{"no orders file yet", []string{"run", "--job", job, "--run-date", "2026-11-22", "--input", emptyDir}, exitNoInput},
		{"orders without rows", []string{"run", "--job", job, "--run-date", "2026-11-22", "--input", zeroRows}, exitNoInput},
		{"invalid job file", []string{"run", "--job", bad, "--run-date", "2026-11-22"}, exitFailure},
		{"bad run date", []string{"run", "--job", job, "--run-date", "22.11.2026", "--input", dir}, exitUsage},
		{"bad run id", []string{"run", "--job", job, "--run-date", "2026-11-22", "--input", dir, "--run-id", "../x"}, exitUsage},
		{"missing order items", []string{"run", "--job", withItems, "--run-date", "2026-11-22"}, exitFailure},
		{"schema", []string{"schema", "--format", "dbt"}, exitOK},
		{"show without a date", []string{"show", "--table", "segment_summary"}, exitUsage},
		{"show a missing run", []string{"show", "--output", dir, "--run-date", "2026-11-22"}, exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			if got := exitCode(err); got != tt.code {
				t.Errorf("exit code %d (err %v), want %d", got, err, tt.code)
			}
			if tt.code == exitNoInput && !strings.Contains(stdout.String(), `"status":"no_input"`) {
				t.Errorf("summary line %q, want status no_input", stdout.String())
			}
			if strings.HasSuffix(tt.name, "folder missing") && !strings.Contains(stdout.String(), `"status":"failed"`) {
				t.Errorf("summary line %q, want status failed", stdout.String())
			}
		})
	}
}

// TestRunWritesXCom: the summary line on stdout and the XCom file hold the
// run id, the tables and their row counts.
func TestRunWritesXCom(t *testing.T) {
	dir := t.TempDir()
	xcom := filepath.Join(dir, "airflow", "xcom", "return.json")
	var stdout, stderr bytes.Buffer
	err := run([]string{"run", "--job", "../../testdata/bad_rows/job.yaml", "--run-date", "2026-06-30",
		"--output", filepath.Join(dir, "out"), "--run-id", "manual-1", "--xcom-file", xcom}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	raw, err := os.ReadFile(xcom)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, stdout.Bytes()) || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("stdout %q and XCom %q should be the same single line", stdout.String(), raw)
	}
	var sum struct {
		Status string           `json:"status"`
		RunID  string           `json:"run_id"`
		Tables map[string]int64 `json:"tables"`
		Rows   map[string]int64 `json:"rows"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Status != "ok" || sum.RunID != "manual-1" || sum.Tables["quarantine"] != 14 || sum.Tables["customer_summary"] != 2 || sum.Rows["rows_read"] != 20 {
		t.Errorf("summary = %+v", sum)
	}
}

// TestSinkFailureExitCode: a warehouse load that fails (here: its key file
// is missing) exits 1 with a failed summary line after the local commit.
func TestSinkFailureExitCode(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte("name: t\ninput: {orders: {path: orders.csv}}\noutput: {path: out}\n"+
		"sink: {kind: bigquery, project: shop-analytics, dataset: retain, credentials_file: missing-key.json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "orders.csv"), []byte("order_id,customer_id,order_ts,amount\n1,a,2026-11-01,10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run([]string{"run", "--job", job, "--run-date", "2026-11-22"}, &stdout, &stderr)
	if got := exitCode(err); got != exitFailure {
		t.Fatalf("exit code %d (err %v), want %d", got, err, exitFailure)
	}
	if !strings.Contains(stdout.String(), `"status":"failed"`) || !strings.Contains(err.Error(), "not in the warehouse") {
		t.Errorf("stdout %s, err %v", stdout.String(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "_runs", "snapshot_date=2026-11-22", "_SUCCESS")); err != nil {
		t.Errorf("local commit missing: %v", err)
	}
}

// TestStagesCommand: `retain stages` lists every stage in run order with
// what it reads, writes and hands over.
func TestStagesCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"stages"}, &out, &errOut); err != nil {
		t.Fatalf("stages: %v (%s)", err, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"2. validate\n", "provides:   used_orders", "needs:      used_orders", "files:      report", "background: ", `config:     clv: model="auto", horizon_days=90`} {
		if !strings.Contains(text, want) {
			t.Errorf("stages output lacks %q:\n%s", want, text)
		}
	}
	if v, i := strings.Index(text, ". validate\n"), strings.Index(text, ". extract_items\n"); v < 0 || i < v {
		t.Errorf("extract_items listed before validate, whose hand-over its consumer needs:\n%s", text)
	}
	if err := run([]string{"stages", "x"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("stages with an argument: %v, want a usage error", err)
	}
}
