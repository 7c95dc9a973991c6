package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages/segments"
	"retain/synth"
)

// column reads one column of a committed table as text per row, "" for
// null, keyed by the first key columns' text joined with "|".
func tableRows(t *testing.T, out, table, date string, keys []string, cols []string) map[string]map[string]string {
	t.Helper()
	tbl := readTable(t, out, table, date)
	defer tbl.Release()
	rows := map[string]map[string]string{}
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		idx := map[string]int{}
		for i, f := range rec.Schema().Fields() {
			idx[f.Name] = i
		}
		text := func(name string, i int) string {
			k, ok := idx[name]
			if !ok {
				t.Fatalf("%s has no column %s", table, name)
			}
			c := rec.Column(k)
			if c.IsNull(i) {
				return ""
			}
			switch a := c.(type) {
			case *array.Float64:
				// Exact bits: previous values must be the same numbers.
				return fmt.Sprintf("%x", a.Value(i))
			case *array.Date32:
				return calendar.Date(int32(a.Value(i))).Format(time.DateOnly)
			}
			return c.ValueStr(i)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			var key string
			for _, k := range keys {
				key += text(k, i) + "|"
			}
			r := map[string]string{}
			for _, c := range cols {
				r[c] = text(c, i)
			}
			rows[key] = r
		}
	}
	return rows
}

// TestPreviousNightFromSameInput backfills 20 nights with --parallel 3 and
// one at a time: every file is byte-identical, and each night's previous_*
// columns are exactly what the night before published, whichever order the
// nights ran in. segment_since_date follows from the night before's: the
// same segment keeps its date (capped at the lookback), another starts
// tonight.
func TestPreviousNightFromSameInput(t *testing.T) {
	shop := t.TempDir()
	customers, from := 400, "2026-11-03"
	if raceEnabled {
		customers, from = 150, "2026-11-17"
	}
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: customers, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 11}); err != nil {
		t.Fatal(err)
	}
	outs := map[int]string{}
	for _, parallel := range []int{3, 1} {
		out := t.TempDir()
		o := backfillOpts(t, shop, out)
		o.From, o.Parallel = from, parallel
		if sum, err := pipeline.Backfill(context.Background(), o); err != nil || sum.Failed != 0 {
			t.Fatalf("backfill --parallel %d: %+v, %v", parallel, sum, err)
		}
		outs[parallel] = out
	}
	sameFiles(t, snapshot(t, outs[3], exceptRunVariant), snapshot(t, outs[1], exceptRunVariant), "--parallel 3", "a sequential backfill")

	out := outs[3]
	lookback := int32(segments.DefaultSinceLookbackDays)
	cust := []string{"rfm_segment", "previous_rfm_segment", "segment_since_date", "is_segment_since_capped", "p_alive", "previous_p_alive",
		"predicted_clv", "previous_predicted_clv", "winback_stage", "previous_winback_stage"}
	fit := append([]string{"is_drifted"}, schemas.FitParams...)
	for _, p := range schemas.FitParams {
		fit = append(fit, "previous_"+p)
	}
	start, _ := time.Parse(time.DateOnly, from)
	var prevSeg, prevFit map[string]map[string]string
	checked := 0
	for d := start; !d.After(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		seg := tableRows(t, out, schemas.CustomerSegments.Name, date, []string{"customer_id"}, cust)
		fits := tableRows(t, out, schemas.ModelFit.Name, date, []string{"model", "fit_scope"}, fit)
		if prevSeg != nil {
			day := calendar.Day(d)
			for id, r := range seg {
				y, existed := prevSeg[id]
				if !existed {
					y = map[string]string{}
				}
				for _, c := range []string{"rfm_segment", "p_alive", "predicted_clv", "winback_stage"} {
					if r["previous_"+c] != y[c] {
						t.Fatalf("%s %s: previous_%s %q, the night before published %q", date, id, c, r["previous_"+c], y[c])
					}
				}
				wantSince, wantCapped := date, "false"
				if existed && y["rfm_segment"] == r["rfm_segment"] {
					ys, _ := time.Parse(time.DateOnly, y["segment_since_date"])
					if floor := calendar.Date(day - lookback); !ys.After(floor) {
						wantSince, wantCapped = floor.Format(time.DateOnly), "true"
					} else {
						wantSince = y["segment_since_date"]
					}
				}
				if r["segment_since_date"] != wantSince || r["is_segment_since_capped"] != wantCapped {
					t.Fatalf("%s %s: segment_since_date %s capped %s, want %s %s (the night before: %v)", date, id, r["segment_since_date"], r["is_segment_since_capped"], wantSince, wantCapped, y)
				}
				checked++
			}
			for key, r := range fits {
				y := prevFit[key]
				for _, p := range schemas.FitParams {
					if y != nil && r["previous_"+p] != y[p] {
						t.Fatalf("%s %s: previous_%s %s, the night before fitted %s", date, key, p, r["previous_"+p], y[p])
					}
				}
			}
		}
		prevSeg, prevFit = seg, fits
	}
	if checked == 0 {
		t.Fatal("no customer compared with a previous night")
	}
}
