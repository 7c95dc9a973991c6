package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/internal/progress/progresstest"
	"retain/night"
	"retain/schemas"
)

// firing is a collector that fires the fake clock's ticker when the orders
// emitted reach a count, so the reader's next Tick logs a line.
type firing struct {
	*collector
	clock *progresstest.Clock
	at    map[int64]time.Duration
}

func (f *firing) Emit(ctx context.Context, table string, rec arrow.Record) error {
	if err := f.collector.Emit(ctx, table, rec); err != nil {
		return err
	}
	if d, ok := f.at[f.rows[table]]; ok && table == schemas.RawOrders {
		f.clock.Fire(d)
	}
	return nil
}

// TestReadProgress: the input files checked line gives the input's files,
// bytes and, for Parquet, the footers' rows; while the input is read, a
// tick makes a line of rows of the footers' total, or, once a CSV file is
// among the files, of bytes of the files' size with the rows read so far.
// The reader stops its ticker when it is done and when it fails.
func TestReadProgress(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"parquet", "mixed"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeOrdersParquet(t, filepath.Join(dir, "parquet", "a.parquet"), 30, 10)
	writeOrdersParquet(t, filepath.Join(dir, "parquet", "b.parquet"), 30, 10)
	writeFile(t, filepath.Join(dir, "mixed", "a.csv"), "order_id,customer_id,order_ts,amount\nO1,C1,2026-11-01,5\nO2,C1,2026-11-02,6\n")
	writeOrdersParquet(t, filepath.Join(dir, "mixed", "b.parquet"), 30, 10)
	size := func(rel string) float64 {
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return float64(st.Size())
	}
	pqBytes := size("parquet/a.parquet") + size("parquet/b.parquet")
	csvBytes, mixedBytes := size("mixed/a.csv"), size("mixed/a.csv")+size("mixed/b.parquet")
	corrupt, err := filepath.Abs(filepath.Join(hostile, "parquet_row_group_short", "input", "orders.parquet"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		// fire maps orders emitted to when the tick after them fires.
		fire    map[int64]time.Duration
		checked map[string]any
		lines   []map[string]any
		// present are fields of every line whose values are not compared.
		present []string
		fails   bool
	}{
		{
			name: "parquet", path: "parquet",
			fire:    map[int64]time.Duration{20: 5 * time.Second, 40: 10 * time.Second},
			checked: map[string]any{"files": 2.0, "bytes": pqBytes, "rows": 60.0},
			lines: []map[string]any{
				{"rows": 20.0, "rows_total": 60.0, "percent": 33.3, "rows_per_s": 4.0, "elapsed_s": 5.0, "eta_s": 10.0},
				{"rows": 40.0, "rows_total": 60.0, "percent": 66.7, "rows_per_s": 4.0, "elapsed_s": 10.0, "eta_s": 5.0},
			},
		},
		{
			// The CSV file is small enough to be read whole before its
			// first batch; the Parquet file's bytes count once it is read.
			name: "csv and parquet", path: "mixed",
			fire:    map[int64]time.Duration{2: 2 * time.Second, 22: 4 * time.Second},
			checked: map[string]any{"files": 2.0, "bytes": mixedBytes},
			lines: []map[string]any{
				{"bytes": csvBytes, "bytes_total": mixedBytes, "rows": 2.0, "elapsed_s": 2.0},
				{"bytes": csvBytes, "bytes_total": mixedBytes, "rows": 22.0, "elapsed_s": 4.0},
			},
			present: []string{"percent", "bytes_per_s", "eta_s"},
		},
		{
			name: "corrupt file", path: corrupt,
			fails: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := progresstest.New(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
			clock = fake
			t.Cleanup(func() { clock = nil })
			var log bytes.Buffer
			j, err := config.Decode([]byte("name: t\ninput: {orders: {path: "+tt.path+"}}\n"), dir, []config.Section{night.InputSection})
			if err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rc, err := night.New(j, "test", "2026-11-30", mem, zerolog.New(&log))
			if err != nil {
				t.Fatal(err)
			}
			r, err := newReader(rc, &night.InputOf(j).Orders, schemas.Orders, schemas.OrdersRequired)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Finish(context.Background(), &firing{collector: newCollector(), clock: fake, at: tt.fire})
			r.Close(context.Background())
			if (err != nil) != tt.fails {
				t.Fatalf("err = %v, want failure %v", err, tt.fails)
			}
			if made, stopped := fake.Tickers(); made != 1 || stopped != 1 {
				t.Errorf("%d tickers made, %d stopped; want 1 and 1", made, stopped)
			}
			if tt.fails {
				return
			}
			var checked map[string]any
			var lines []map[string]any
			for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				if m["stage"] != "extract" || m["input"] != "input.orders" {
					t.Errorf("line %q does not name the stage and the input", l)
				}
				switch m["message"] {
				case "input files checked":
					checked = m
				case "reading input":
					lines = append(lines, m)
				}
				for _, k := range []string{"level", "message", "stage", "input", "run_id", "run_date", "time"} {
					delete(m, k)
				}
			}
			if !reflect.DeepEqual(checked, tt.checked) {
				t.Errorf("input files checked %v, want %v", checked, tt.checked)
			}
			if len(lines) != len(tt.lines) {
				t.Fatalf("%d progress lines, want %d:\n%s", len(lines), len(tt.lines), log.String())
			}
			for i, w := range tt.lines {
				// A rate and an estimate of bytes depend on the Parquet
				// writer's file sizes; the progress package checks their
				// arithmetic, this test that the line has them.
				for _, k := range tt.present {
					if _, ok := lines[i][k]; !ok {
						t.Errorf("line %d has no %s: %v", i, k, lines[i])
					}
					delete(lines[i], k)
				}
				if !reflect.DeepEqual(lines[i], w) {
					t.Errorf("line %d = %v, want %v", i, lines[i], w)
				}
			}
		})
	}
}
