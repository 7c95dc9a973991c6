package e2e_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"retain/schemas"
	"retain/synth"
)

// TestChangeTrackingOff: with segments.change_tracking false a night
// publishes what it publishes with it, except that every previous-night
// column is null (segment_since_date the run date, capped), model_fit
// drifts nowhere, segment_transitions is empty and so are the lists of
// movers that need the previous night.
func TestChangeTrackingOff(t *testing.T) {
	shop := t.TempDir()
	customers := 500
	if raceEnabled {
		customers = 150
	}
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: customers, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 3}); err != nil {
		t.Fatal(err)
	}
	const date = "2026-11-22"
	job := "name: sample\ninput: {orders: {path: orders}, order_items: {path: order_items}, fx_rates: {path: fx_rates.csv}, reporting_currency: USD}\n"
	on, off := t.TempDir(), t.TempDir()
	for out, extra := range map[string]string{on: "", off: "segments: {change_tracking: false}\n"} {
		if sum, err := runJob(t, shop, job+extra, date, out, false); err != nil {
			t.Fatalf("%q: %+v, %v", extra, sum, err)
		}
	}

	// Files that may differ; every other one is byte-identical.
	changed := []string{schemas.CustomerSegments.Name, schemas.ModelFit.Name, schemas.SegmentTransitions.Name, schemas.ReportDir,
		filepath.Join(schemas.AudiencesDir, "snapshot_date="+date, "slipped_from_top_today.csv"),
		filepath.Join(schemas.AudiencesDir, "snapshot_date="+date, "p_alive_dropped_today.csv")}
	a, b := snapshot(t, on, exceptRunVariant), snapshot(t, off, exceptRunVariant)
	if len(a) != len(b) {
		t.Fatalf("%d files with change tracking, %d without", len(a), len(b))
	}
	for p, raw := range a {
		if slices.ContainsFunc(changed, func(c string) bool { return strings.HasPrefix(p, c) }) {
			continue
		}
		if !bytes.Equal(b[p], raw) {
			t.Errorf("%s differs without change tracking", p)
		}
	}
	for _, list := range changed[4:] {
		raw, err := os.ReadFile(filepath.Join(off, list))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(raw, []byte("\n")); n != 1 {
			t.Errorf("%s has %d lines without change tracking, want the header alone", list, n)
		}
	}
	if rows := tableRows(t, off, schemas.SegmentTransitions.Name, date, []string{"dimension"}, nil); len(rows) != 0 {
		t.Errorf("segment_transitions has %d rows without change tracking", len(rows))
	}

	// Tonight's columns agree; the previous night's are null.
	tracked := map[string]bool{"previous_rfm_segment": true, "previous_winback_stage": true, "previous_p_alive": true, "p_alive_change": true,
		"previous_predicted_clv": true, "predicted_clv_change": true, "segment_since_date": true, "is_segment_since_capped": true, "is_drifted": true}
	for _, p := range schemas.FitParams {
		tracked["previous_"+p], tracked[p+"_change"] = true, true
	}
	for _, tc := range []struct {
		table string
		keys  []string
	}{
		{schemas.CustomerSegments.Name, []string{"customer_id"}},
		{schemas.ModelFit.Name, []string{"model", "fit_scope"}},
	} {
		tbl := readTable(t, on, tc.table, date)
		var cols []string
		for _, f := range tbl.Schema().Fields() {
			cols = append(cols, f.Name)
		}
		tbl.Release()
		withRows, withoutRows := tableRows(t, on, tc.table, date, tc.keys, cols), tableRows(t, off, tc.table, date, tc.keys, cols)
		if len(withRows) != len(withoutRows) || len(withRows) == 0 {
			t.Fatalf("%s: %d rows with change tracking, %d without", tc.table, len(withRows), len(withoutRows))
		}
		for key, r := range withoutRows {
			for _, c := range cols {
				want := withRows[key][c]
				if tracked[c] {
					switch c {
					case "segment_since_date":
						want = date
					case "is_segment_since_capped":
						want = "true"
					case "is_drifted":
						want = "false"
					default:
						want = ""
					}
				}
				if r[c] != want {
					t.Fatalf("%s %s: %s is %q without change tracking, want %q", tc.table, key, c, r[c], want)
				}
			}
		}
	}
}
