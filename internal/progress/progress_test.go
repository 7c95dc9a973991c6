package progress_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"retain/internal/progress"
	"retain/internal/progress/progresstest"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// TestMeterLines: a line is logged only on a Tick after the ticker fired,
// with the count, the total, the percentage, the average rate since Start
// and the time left at that rate.
func TestMeterLines(t *testing.T) {
	type step struct {
		fire time.Duration // 0: no tick before this Tick
		done int64
	}
	tests := []struct {
		name  string
		total int64
		steps []step
		want  []map[string]any
	}{
		{
			name:  "known total",
			total: 1000,
			steps: []step{{0, 10}, {5 * time.Second, 100}, {0, 150}, {10 * time.Second, 400}},
			want: []map[string]any{
				{"rows": 100.0, "rows_total": 1000.0, "percent": 10.0, "rows_per_s": 20.0, "elapsed_s": 5.0, "eta_s": 45.0},
				{"rows": 400.0, "rows_total": 1000.0, "percent": 40.0, "rows_per_s": 40.0, "elapsed_s": 10.0, "eta_s": 15.0},
			},
		},
		{
			name:  "unknown total",
			steps: []step{{4 * time.Second, 1000}},
			want:  []map[string]any{{"rows": 1000.0, "rows_per_s": 250.0, "elapsed_s": 4.0}},
		},
		{
			name:  "nothing done yet",
			total: 50,
			steps: []step{{5 * time.Second, 0}},
			want:  []map[string]any{{"rows": 0.0, "rows_total": 50.0, "percent": 0.0, "rows_per_s": 0.0, "elapsed_s": 5.0}},
		},
		{
			name:  "estimate rounds up",
			total: 10,
			steps: []step{{3 * time.Second, 3}},
			want:  []map[string]any{{"rows": 3.0, "rows_total": 10.0, "percent": 30.0, "rows_per_s": 1.0, "elapsed_s": 3.0, "eta_s": 7.0}},
		},
		{
			name:  "more than the total",
			total: 10,
			steps: []step{{2 * time.Second, 12}},
			want:  []map[string]any{{"rows": 12.0, "rows_total": 10.0, "percent": 120.0, "rows_per_s": 6.0, "elapsed_s": 2.0, "eta_s": 0.0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clock := progresstest.New(t0)
			m := progress.Start(zerolog.New(&buf), progress.Options{Msg: "reading", Unit: "rows", Total: tt.total, Clock: clock})
			for _, s := range tt.steps {
				if s.fire > 0 {
					clock.Fire(s.fire)
				}
				m.Tick(s.done)
			}
			m.Stop()
			got := lines(t, &buf)
			if len(got) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tt.want), buf.String())
			}
			for i, w := range tt.want {
				w["level"], w["message"] = "info", "reading"
				if !reflect.DeepEqual(got[i], w) {
					t.Errorf("line %d = %v, want %v", i, got[i], w)
				}
			}
			if made, stopped := clock.Tickers(); made != 1 || stopped != 1 {
				t.Errorf("%d tickers made, %d stopped; want 1 and 1", made, stopped)
			}
		})
	}
}

// TestMeterStopped: a Meter logs nothing after Stop, even for a tick that
// was due, and stops its ticker once however often Stop is called.
func TestMeterStopped(t *testing.T) {
	var buf bytes.Buffer
	clock := progresstest.New(t0)
	fields := 0
	m := progress.Start(zerolog.New(&buf), progress.Options{Msg: "m", Unit: "bytes", Clock: clock,
		Fields: func(e *zerolog.Event) { fields++; e.Int("rows", 7) }})
	clock.Fire(time.Second)
	m.Tick(1)
	clock.Fire(2 * time.Second)
	m.Stop()
	m.Stop()
	m.Tick(2)
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["bytes"] != 1.0 || got[0]["rows"] != 7.0 || fields != 1 {
		t.Errorf("lines %v (extra fields added %d times), want one line of 1 byte and 7 rows", got, fields)
	}
	if made, stopped := clock.Tickers(); made != 1 || stopped != 1 {
		t.Errorf("%d tickers made, %d stopped; want 1 and 1", made, stopped)
	}
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}
