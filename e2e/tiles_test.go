package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"retain/schemas"
	"retain/synth"
)

// tileAttrs reads the KPI tiles of a committed report: per label, its
// data-value, data-previous-night and data-previous-period.
func tileAttrs(t *testing.T, out, date string) map[string][3]string {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(out, schemas.ReportDir, "snapshot_date="+date, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`<div class="tile" data-value="([^"]*)" data-previous-night="([^"]*)" data-previous-period="([^"]*)"><div class="k">([^<]*)</div>`)
	tiles := map[string][3]string{}
	for _, m := range re.FindAllStringSubmatch(string(page), -1) {
		tiles[m[4]] = [3]string{m[1], m[2], m[3]}
	}
	if len(tiles) != 6 {
		t.Fatalf("%s: %d KPI tiles, want 6: %v", date, len(tiles), tiles)
	}
	return tiles
}

// TestTilesAreThoseNights: each KPI tile's previous-night and
// previous-period figures are, to the bit, the tile a run for that date
// shows on the same input — the predicted value included, whose earlier
// days come from their own model fits, on net values without the refunds
// posted after them (the shop has partial refunds).
func TestTilesAreThoseNights(t *testing.T) {
	shop := t.TempDir()
	customers := 600
	if raceEnabled {
		customers = 200
	}
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: customers, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 5}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	const date, night, periodDay = "2026-11-22", "2026-11-21", "2026-10-22"
	for _, d := range []string{date, night, periodDay} {
		if err := runNightly(shop, out, "tiles-"+d, d); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
	}
	now, before, then := tileAttrs(t, out, date), tileAttrs(t, out, night), tileAttrs(t, out, periodDay)
	for label, v := range now {
		if v[0] == "" || v[1] == "" || v[2] == "" {
			t.Errorf("%s: a figure is missing: %q", label, v)
		}
		if v[1] != before[label][0] {
			t.Errorf("%s: previous night %s, the run for %s shows %s", label, v[1], night, before[label][0])
		}
		if v[2] != then[label][0] {
			t.Errorf("%s: previous period %s, the run for %s shows %s", label, v[2], periodDay, then[label][0])
		}
	}
}
