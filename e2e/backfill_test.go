package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"retain/jobfile"
	"retain/night"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages"
	"retain/synth"
)

func backfillOpts(t *testing.T, shop, out string) pipeline.BackfillOptions {
	j, err := jobfile.Parse([]byte("name: sample\ninput: {orders: {path: orders}, order_items: {path: order_items}, fx_rates: {path: fx_rates.csv}, reporting_currency: USD}\n"), shop)
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	return pipeline.BackfillOptions{
		Options: pipeline.Options{Job: j, Registry: reg, OutputDir: out, Log: zerolog.Nop()},
		From:    "2026-10-24", To: "2026-11-22", Parallel: 2,
	}
}

// TestBackfillIsIdempotent backfills 30 days of a generated shop, then again
// with --force: no table changes. Without --force every date is skipped.
func TestBackfillIsIdempotent(t *testing.T) {
	shop, out := t.TempDir(), t.TempDir()
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: 300, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 3}); err != nil {
		t.Fatal(err)
	}
	o := backfillOpts(t, shop, out)
	days := 30
	if raceEnabled {
		o.From, days = "2026-11-15", 8
	}
	sum, err := pipeline.Backfill(context.Background(), o)
	if err != nil || sum.OK != days {
		t.Fatalf("first backfill: %+v, %v", sum, err)
	}
	tablesOnly := exceptRunVariant
	first := snapshot(t, out, tablesOnly)
	parquet := 0
	for p := range first {
		if strings.HasSuffix(p, ".parquet") {
			parquet++
		}
	}
	if n := len(schemas.Outputs()); parquet != days*n {
		t.Fatalf("%d table files, want %d dates × %d tables", parquet, days, n)
	}

	sum, err = pipeline.Backfill(context.Background(), o)
	if err != nil || sum.Skip != days || sum.OK != 0 {
		t.Fatalf("rerun without force: %+v, %v", sum, err)
	}
	o.Force = true
	if sum, err = pipeline.Backfill(context.Background(), o); err != nil || sum.OK != days {
		t.Fatalf("forced rerun: %+v, %v", sum, err)
	}
	second := snapshot(t, out, tablesOnly)
	for p, raw := range first {
		if !bytes.Equal(second[p], raw) {
			t.Errorf("%s changed on rerun", p)
		}
	}
}

// TestBackfillStopsOnFirstFailure: a date that cannot commit fails; later
// dates are not started, earlier ones stay committed.
func TestBackfillStopsOnFirstFailure(t *testing.T) {
	shop, out := t.TempDir(), t.TempDir()
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: 50, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 4}); err != nil {
		t.Fatal(err)
	}
	// A file where the run folder of 2026-10-27 must go makes its commit fail.
	blocked := pipeline.RunDir(out, "2026-10-27")
	if err := os.MkdirAll(filepath.Dir(blocked), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocked, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := backfillOpts(t, shop, out)
	o.Parallel = 1
	sum, err := pipeline.Backfill(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "2026-10-27 failed") {
		t.Fatalf("err = %v", err)
	}
	if sum.Status != "failed" || sum.OK != 3 || sum.Failed != 1 || sum.NotRun != 26 {
		t.Errorf("summary: ok %d failed %d not_run %d, want 3, 1, 26", sum.OK, sum.Failed, sum.NotRun)
	}
	if sum.Dates[4].Status != "not_run" || sum.Dates[3].Status != "failed" || sum.Dates[2].Status != "ok" {
		t.Errorf("dates: %+v", sum.Dates[:5])
	}
}

// TestKeepDaysPrunesOldNights: with output.keep_days 3, a sequential
// backfill of 6 dates leaves the last 3 nights readable, each whole, and
// the last night's manifest names what it removed.
func TestKeepDaysPrunesOldNights(t *testing.T) {
	shop, out := t.TempDir(), t.TempDir()
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: 50, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 5}); err != nil {
		t.Fatal(err)
	}
	o := backfillOpts(t, shop, out)
	j, err := jobfile.Parse([]byte("name: sample\ninput: {orders: {path: orders}, order_items: {path: order_items}, fx_rates: {path: fx_rates.csv}, reporting_currency: USD}\noutput: {keep_days: 3}\n"), shop)
	if err != nil {
		t.Fatal(err)
	}
	o.Job, o.From, o.To, o.Parallel = j, "2026-11-17", "2026-11-22", 1
	if sum, err := pipeline.Backfill(context.Background(), o); err != nil || sum.OK != 6 {
		t.Fatalf("backfill: %+v, %v", sum, err)
	}
	for _, d := range []string{"2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"} {
		kept := d >= "2026-11-20"
		for _, tbl := range []string{schemas.CustomerSegments.Name, schemas.Quarantine.Name} {
			_, err := os.Stat(filepath.Join(pipeline.PartitionDir(out, tbl, d), "part-00000.parquet"))
			if kept != (err == nil) {
				t.Errorf("%s of %s: readable %v, want %v", tbl, d, err == nil, kept)
			}
		}
		if _, err := os.Stat(filepath.Join(pipeline.RunDir(out, d), pipeline.ManifestName)); kept != (err == nil) {
			t.Errorf("manifest of %s: present %v, want %v", d, err == nil, kept)
		}
	}
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(out, "2026-11-22"), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.PrunedDates, ",") != "2026-11-19" {
		t.Errorf("the last night pruned %v, want [2026-11-19]", m.PrunedDates)
	}
}
