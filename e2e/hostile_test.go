package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/arrow/go/v15/parquet/schema"

	"retain/config"
	"retain/internal/rawparquet"
	"retain/night"
	"retain/pipeline"
)

// TestNaiveParquetTimestampsInJobZone: a Parquet TIMESTAMP with
// isAdjustedToUTC=false is a wall-clock reading in the job's zone, as a
// string without a zone is. 23:30 on the run date in Berlin is used (not
// excluded as 00:30 the next day, which reading it as UTC gives), and
// 00:30 on the day after is excluded.
func TestNaiveParquetTimestampsInJobZone(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	wall := func(d, h, m int) int64 { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC).UnixMicro() }
	err := rawparquet.Write(filepath.Join(dir, "orders.parquet"), nil,
		rawparquet.String("order_id", "O1", "O2", "O3"),
		rawparquet.String("customer_id", "C1", "C1", "C1"),
		rawparquet.Timestamp("order_ts", false, schema.TimeUnitMicros, wall(1, 10, 0), wall(22, 23, 30), wall(23, 0, 30)),
		rawparquet.Double("amount", 10, 20, 40))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := runJob(t, dir, "name: t\ntimezone: Europe/Berlin\ninput: {orders: {path: orders.parquet}}\n", "2026-11-22", out, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows.Used != 2 || sum.Rows.Excluded != 1 {
		t.Errorf("rows %+v, want 2 used, 1 excluded", sum.Rows)
	}
	got := renderTable(t, out, "customer_summary", "2026-11-22", dir)
	// The file holds no snapshot_date; no currency is known.
	want := "\nC1,2026-11-01 09:00:00Z,2026-11-22 22:30:00Z,2,30,15,0,30,0,0,1,21,21,20,,,\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("customer_summary:\n%s\nwant the row\n%s", got, want)
	}
}

// TestHostileShop runs shops built to break the tables — absurd amounts
// and rates, year-0001 and wrapping timestamps, invalid UTF-8 in ids,
// countries and SKUs, padded ids, Go-only number syntax, NaN and Inf in a
// float column — and checks every row's fate by reason and that every
// table, audience list and the report hold only finite floats and valid
// UTF-8.
func TestHostileShop(t *testing.T) {
	// 2026-11-01T22:30:00.000384Z as microseconds, reached by milliseconds
	// that overflow int64 when multiplied by 1000.
	const wrapMS = 18448537645909552
	tests := []struct {
		name, job string
		files     func(t *testing.T, dir string)
		rows      pipeline.RowTotals
		quar, exc map[string]int64
		trimmed   map[string]int64
		replaced  map[string]int64
		items     *night.Accounting
	}{
		{
			name: "csv",
			job: "name: t\ninput:\n  orders: {path: orders.csv}\n  order_items: {path: items.csv}\n" +
				"  fx_rates: {path: fx.csv}\n  reporting_currency: EUR\n",
			files: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount,currency,country,channel\n"+
					"O1,C1,2026-11-01,10,,DE,web\n"+
					"O2,C\xff\xfe,2026-11-02,10,,DE,web\n"+ // invalid_utf8
					"O3,C2,2026-11-03,1e308,,DE,web\n"+ // amount_out_of_range
					"O4,C2,2026-11-03,1e308,,DE,web\n"+ // amount_out_of_range
					"O5,C3,0001-01-01,10,,DE,web\n"+ // order_ts_out_of_range
					"O6, C1 ,2026-11-05,20,,D\xffE,app\n"+ // used: trimmed, country replaced
					"O7,C4,2026-11-06,0x1p-2,,DE,web\n"+ // non_numeric_amount
					"O8,C4,2026-11-06,1_000,,DE,web\n"+ // non_numeric_amount
					"O9,C4,2026-11-06,inf,,DE,web\n"+ // non_numeric_amount
					"O10,C4,2026-11-06,1e400,,DE,web\n"+ // amount_out_of_range
					"O11,C5,9999-12-31,10,,DE,web\n"+ // after_run_date
					"O12,C5,2026-11-07,.5,,DE,web\n"+
					"O13 ,C5,2026-11-08,5.,,DE,web\n"+ // used, trimmed
					"O13,C5,2026-11-09,5,,DE,web\n"+ // duplicate_order_id
					"O14,C6,2026-11-09,100,JPY,JP,st\xffore\n"+ // 100 × 1e300: amount_out_of_range
					"O15,C6,2026-11-09,100,US\xff,JP,web\n"+ // invalid_utf8
					"O16,C6,2026-11-10,100,,JP,st\xffore\n") // used, channel replaced
				write(t, filepath.Join(dir, "fx.csv"), "date,currency,rate_to_reporting\n2026-01-01,JPY,1e300\n")
				write(t, filepath.Join(dir, "items.csv"), "order_id,sku\nO1,A\nO1,B\xff\n O6,A\nO6,B \n")
			},
			rows: pipeline.RowTotals{Read: 17, Used: 5, Quarantined: 11, Excluded: 1},
			quar: map[string]int64{"invalid_utf8": 2, "amount_out_of_range": 4, "order_ts_out_of_range": 1, "non_numeric_amount": 3,
				"duplicate_order_id": 1},
			exc:      map[string]int64{"after_run_date": 1},
			trimmed:  map[string]int64{"customer_id": 1, "order_id": 1},
			replaced: map[string]int64{"country": 1, "channel": 1},
			items: &night.Accounting{Read: 4, Used: 3, Quarantined: map[string]int64{"invalid_utf8": 1},
				Excluded: map[string]int64{}, Trimmed: map[string]int64{"order_id": 1, "sku": 1}},
		},
		{
			name: "parquet",
			job:  "name: t\ntimezone: Europe/Berlin\ninput: {orders: {path: orders.parquet}}\n",
			files: func(t *testing.T, dir string) {
				us := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).UnixMilli() }
				err := rawparquet.Write(filepath.Join(dir, "orders.parquet"), nil,
					rawparquet.String("order_id", "O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "O9"),
					rawparquet.String("customer_id", "C1", "C1", "C2", "C2", "C3", "C\xff", "C4", "C4", "C5"),
					rawparquet.Timestamp("order_ts", false, schema.TimeUnitMillis,
						us(2026, 11, 1), us(2026, 11, 2), us(2026, 11, 3), us(2026, 11, 4), us(1, 1, 1), us(2026, 11, 5),
						wrapMS, us(2026, 11, 6), us(2026, 11, 7)),
					rawparquet.Double("amount", 10, math.NaN(), math.Inf(1), math.Inf(-1), 10, 10, 10, 1e308, 5),
					rawparquet.String("country", "DE", "DE", "DE", "DE", "DE", "DE", "DE", "DE", "\xc3"))
				if err != nil {
					t.Fatal(err)
				}
			},
			rows: pipeline.RowTotals{Read: 9, Used: 2, Quarantined: 7},
			quar: map[string]int64{"non_numeric_amount": 3, "order_ts_out_of_range": 2, "invalid_utf8": 1, "amount_out_of_range": 1},
			exc:  map[string]int64{}, replaced: map[string]int64{"country": 1},
		},
		{
			// Shares and averages of nothing: every used amount is zero.
			name: "zero amounts",
			job:  csvJob,
			files: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\n"+
					"O1,C1,2026-11-01,0\nO2,C1,2026-11-02,0\nO3,C2,2026-10-01,-0\nO4,C3,2026-11-21,0e5\n")
			},
			rows: pipeline.RowTotals{Read: 4, Used: 4},
			quar: map[string]int64{}, exc: map[string]int64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			tt.files(t, dir)
			sum, err := runJob(t, dir, tt.job, "2026-11-22", out, false)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rows != tt.rows {
				t.Errorf("rows %+v, want %+v", sum.Rows, tt.rows)
			}
			m := readManifest(t, out, "2026-11-22")
			for _, c := range []struct {
				name      string
				got, want map[string]int64
			}{
				{"quarantined", m.Rows.Quarantined, tt.quar}, {"excluded", m.Rows.Excluded, tt.exc},
				{"trimmed", m.Rows.Trimmed, tt.trimmed}, {"replaced", m.Rows.Replaced, tt.replaced},
			} {
				if !sameCounts(c.got, c.want) {
					t.Errorf("%s %v, want %v", c.name, c.got, c.want)
				}
			}
			if tt.items != nil {
				got, _ := json.Marshal(m.ItemRows)
				want, _ := json.Marshal(tt.items)
				if string(got) != string(want) {
					t.Errorf("item accounting %s, want %s", got, want)
				}
			}
			checkOutputsClean(t, out)
		})
	}
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func readManifest(t *testing.T, out, date string) pipeline.Manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(out, date), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkOutputsClean fails on any NaN or ±Inf in a float column and any
// string that is not valid UTF-8, in every Parquet table under out, and on
// any other committed file (audience CSVs, report, manifest) that is not
// valid UTF-8.
func checkOutputsClean(t *testing.T, out string) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		// Links (snapshot_date=D, current) point at folders walked anyway.
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if filepath.Ext(p) != ".parquet" {
			raw, err := os.ReadFile(p)
			if err == nil && !utf8.Valid(raw) {
				t.Errorf("%s is not valid UTF-8", rel)
			}
			return err
		}
		seen++
		return checkParquetClean(t, p, rel)
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("no tables written")
	}
}

func checkParquetClean(t *testing.T, path, rel string) error {
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer pr.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return err
	}
	defer tbl.Release()
	for c := 0; c < int(tbl.NumCols()); c++ {
		col := tbl.Column(c)
		for _, chunk := range col.Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				if chunk.IsNull(i) {
					continue
				}
				bad := ""
				switch a := chunk.(type) {
				case *array.Float64:
					if v := a.Value(i); math.IsNaN(v) || math.IsInf(v, 0) {
						bad = a.ValueStr(i)
					}
				case *array.Float32:
					if v := float64(a.Value(i)); math.IsNaN(v) || math.IsInf(v, 0) {
						bad = a.ValueStr(i)
					}
				case *array.String:
					if !utf8.ValidString(a.Value(i)) {
						bad = "invalid UTF-8 " + strings.ToValidUTF8(a.Value(i), "?")
					}
				}
				if bad != "" {
					t.Errorf("%s: %s row %d: %s", rel, col.Name(), i, bad)
				}
			}
		}
	}
	return nil
}

// TestValidateLimitsChecked: the limits come from the job file, and
// validate.min_order_ts must be before the run date, or the run would
// quarantine every order.
func TestValidateLimitsChecked(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "orders.csv"), "order_id,customer_id,order_ts,amount\nO1,C1,2026-11-01,1\nO2,C1,2026-11-03,10\nO3,C1,2026-11-04,5\n")
	_, err := runJob(t, dir, csvJob+"validate: {min_order_ts: 2026-11-22}\n", "2026-11-22", t.TempDir(), false)
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "min_order_ts") {
		t.Errorf("err = %v, want ErrInvalid naming min_order_ts", err)
	}
	out := t.TempDir()
	if _, err := runJob(t, dir, csvJob+"validate: {min_order_ts: 2026-11-02, max_amount: 5}\n", "2026-11-22", out, false); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, out, "2026-11-22")
	if want := map[string]int64{"order_ts_out_of_range": 1, "amount_out_of_range": 1}; !sameCounts(m.Rows.Quarantined, want) || m.Rows.Used != 1 {
		t.Errorf("accounting %+v, want 1 used and %v", m.Rows, want)
	}
}
