package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repeatedSegment returns a part of msg, split at ": ", that appears twice,
// as a prefix does when two callers both add it; "" when none does.
func repeatedSegment(msg string) string {
	seen := map[string]bool{}
	for _, s := range strings.Split(msg, ": ") {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// TestErrorsSayEachPartOnce: an input that fails is named once, and so
// is its file, whichever of the reader's checks fails and whoever wraps
// the error on its way out.
func TestErrorsSayEachPartOnce(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"orders.csv":        "order_id,customer_id,order_ts,amount,currency\nO1,C1,2026-11-01,5,EUR\nO2,C2,2026-11-02,7,USD\n",
		"fx/zero/rates.csv": "date,currency,rate_to_reporting\n",
		"fx/bad/rates.csv":  "date,currency,rate_to_reporting\n2026-10-01,USD,0.9\n2026-10-02,USD,0\n",
		"fx/cols/rates.csv": "date,currency\n2026-10-01,USD\n",
		"fx/ragged.csv":     "date,currency,rate_to_reporting\n2026-10-01,USD\n",
		"items/cols/a.csv":  "order_id,quantity\nO1,1\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"fx/empty", "items/empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A file in a folder that cannot be opened: a link to nowhere.
	for _, name := range []string{"csv/a.csv", "parquet/b.parquet"} {
		link := filepath.Join(dir, "links", name)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, "nowhere", name), link); err != nil {
			t.Fatal(err)
		}
	}
	const orders = "orders: {path: D/orders.csv}, reporting_currency: EUR, "
	tests := []struct {
		name, input string
		want        []string
	}{
		{"fx rates folder without files", orders + "fx_rates: {path: D/fx/empty}", []string{"input.fx_rates: no input: no input files at"}},
		{"fx rates folder missing", orders + "fx_rates: {path: D/fx/none}", []string{"input.fx_rates: input location does not exist"}},
		{"fx rates without rows", orders + "fx_rates: {path: D/fx/zero}", []string{"input.fx_rates: input without rows: ", "zero: its files hold no rows (1 files)"}},
		{"fx rate not positive", orders + "fx_rates: {path: D/fx/bad}", []string{"input.fx_rates: ", "rates.csv: fx rate row 2: need a date"}},
		{"fx rates column missing", orders + "fx_rates: {path: D/fx/cols}", []string{"input.fx_rates: ", `required column "rate_to_reporting"`}},
		{"fx rates ragged row", orders + "fx_rates: {path: D/fx/ragged.csv}", []string{"input.fx_rates: ", "ragged.csv: malformed CSV records: line 2"}},
		{"order items folder without files", orders + "order_items: {path: D/items/empty}", []string{"input.order_items: no input: no input files at"}},
		{"order items column missing", orders + "order_items: {path: D/items/cols}", []string{"input.order_items: ", `required column "sku"`}},
		{"csv file that does not open", "orders: {path: D/links/csv}", []string{"a.csv: open: "}},
		{"parquet file that does not open", "orders: {path: D/links/parquet}", []string{"b.parquet: input schema: not a readable Parquet file: open: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := filepath.Join(t.TempDir(), "job.yaml")
			body := "name: t\ninput: {" + strings.ReplaceAll(tt.input, "D/", dir+"/") + "}\noutput: {path: " + filepath.Join(t.TempDir(), "out") + "}\n"
			if err := os.WriteFile(job, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := run([]string{"run", "--job", job, "--run-date", "2026-11-22"}, &stdout, &stderr)
			if got := exitCode(err); got != exitFailure {
				t.Fatalf("exit code %d (err %v), want %d", got, err, exitFailure)
			}
			var sum struct{ Error string }
			if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
				t.Fatalf("summary %q: %v", stdout.String(), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(sum.Error, w) {
					t.Errorf("error %q does not say %q", sum.Error, w)
				}
			}
			if n := strings.Count(sum.Error, dir); n != 1 {
				t.Errorf("error %q names %d paths, want 1", sum.Error, n)
			}
			for _, name := range []string{"input.fx_rates", "input.order_items"} {
				if n := strings.Count(sum.Error, name); n > 1 {
					t.Errorf("error %q names %s %d times", sum.Error, name, n)
				}
			}
			if s := repeatedSegment(sum.Error); s != "" {
				t.Errorf("error %q says %q twice", sum.Error, s)
			}
		})
	}
}
