package parquetlibs

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/arrow/go/v15/parquet/schema"
)

// testRows spans two BatchRows batches and a partial third, so batching
// bugs show, and keeps the test around a second.
const testRows = 2*BatchRows + 1234

// wantColumns is the Parquet schema both files must have; spelled out here
// rather than taken from either writer, so a drift on either side fails.
var wantColumns = []struct {
	name      string
	physical  parquet.Type
	logical   schema.LogicalType
	converted schema.ConvertedType
	rep       parquet.Repetition
}{
	{"snapshot_date", parquet.Types.Int32, schema.DateLogicalType{}, schema.ConvertedTypes.Date, parquet.Repetitions.Required},
	{"customer_id", parquet.Types.ByteArray, schema.StringLogicalType{}, schema.ConvertedTypes.UTF8, parquet.Repetitions.Required},
	{"first_order_at", parquet.Types.Int64, schema.NewTimestampLogicalType(true, schema.TimeUnitMicros), schema.ConvertedTypes.TimestampMicros, parquet.Repetitions.Required},
	{"last_order_at", parquet.Types.Int64, schema.NewTimestampLogicalType(true, schema.TimeUnitMicros), schema.ConvertedTypes.TimestampMicros, parquet.Repetitions.Required},
	{"order_count", parquet.Types.Int64, schema.NewIntLogicalType(64, true), schema.ConvertedTypes.Int64, parquet.Repetitions.Required},
	{"total_revenue", parquet.Types.Double, schema.NoLogicalType{}, schema.ConvertedTypes.None, parquet.Repetitions.Required},
	{"avg_order_value", parquet.Types.Double, schema.NoLogicalType{}, schema.ConvertedTypes.None, parquet.Repetitions.Required},
	{"frequency", parquet.Types.Int64, schema.NewIntLogicalType(64, true), schema.ConvertedTypes.Int64, parquet.Repetitions.Required},
	{"recency_days", parquet.Types.Int64, schema.NewIntLogicalType(64, true), schema.ConvertedTypes.Int64, parquet.Repetitions.Required},
	{"tenure_days", parquet.Types.Int64, schema.NewIntLogicalType(64, true), schema.ConvertedTypes.Int64, parquet.Repetitions.Required},
	{"repeat_avg_value", parquet.Types.Double, schema.NoLogicalType{}, schema.ConvertedTypes.None, parquet.Repetitions.Optional},
}

// TestWritersAgree reads every benchmarked writer's file back with pqarrow
// and checks it against the source rows: the timings only compare like with
// like if all files hold the same rows, types, codec and row-group layout.
func TestWritersAgree(t *testing.T) {
	rec := table(testRows)
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), w.name+".parquet")
			if err := w.prepare(testRows)(path); err != nil {
				t.Fatal(err)
			}
			pr, err := file.OpenParquetFile(path, false)
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			checkLayout(t, pr, rec.NumRows())

			fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fr.ReadTable(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			checkValues(t, got, rec)
		})
	}
}

func checkLayout(t *testing.T, pr *file.Reader, rows int64) {
	t.Helper()
	if pr.NumRows() != rows {
		t.Errorf("%d rows, want %d", pr.NumRows(), rows)
	}
	if pr.NumRowGroups() != 1 {
		t.Errorf("%d row groups, want 1", pr.NumRowGroups())
	}
	sc := pr.MetaData().Schema
	if sc.NumColumns() != len(wantColumns) {
		t.Fatalf("%d columns, want %d", sc.NumColumns(), len(wantColumns))
	}
	for i, want := range wantColumns {
		c := sc.Column(i)
		if c.Name() != want.name || c.PhysicalType() != want.physical || !c.LogicalType().Equals(want.logical) ||
			c.ConvertedType() != want.converted || c.SchemaNode().RepetitionType() != want.rep {
			t.Errorf("column %d: %s %s %s %s %s, want %s %s %s %s %s", i,
				c.Name(), c.PhysicalType(), c.LogicalType(), c.ConvertedType(), c.SchemaNode().RepetitionType(),
				want.name, want.physical, want.logical, want.converted, want.rep)
		}
	}
	for g := 0; g < pr.NumRowGroups(); g++ {
		for i := range wantColumns {
			cc, err := pr.MetaData().RowGroup(g).ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("row group %d column %s: codec %s, want ZSTD", g, wantColumns[i].name, cc.Compression())
			}
		}
	}
}

func checkValues(t *testing.T, got arrow.Table, want arrow.Record) {
	t.Helper()
	if got.NumRows() != want.NumRows() {
		t.Fatalf("read %d rows, want %d", got.NumRows(), want.NumRows())
	}
	for i, f := range Schema.Fields() {
		g := got.Schema().Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || g.Nullable != f.Nullable {
			t.Errorf("field %d reads back as %s %s nullable=%v, want %s %s nullable=%v", i, g.Name, g.Type, g.Nullable, f.Name, f.Type, f.Nullable)
			continue
		}
		col, err := array.Concatenate(got.Column(i).Data().Chunks(), memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		if !array.Equal(col, want.Column(i)) {
			t.Errorf("column %s: values differ from the source, first at row %d", f.Name, firstDiff(col, want.Column(i)))
		}
		col.Release()
	}

	// A few values by hand, so a generator and a reader that agreed on
	// something wrong would still fail.
	rec := tableRecord(t, got)
	defer rec.Release()
	if d := rec.Column(colSnapshotDate).(*array.Date32).Value(0).ToTime(); !d.Equal(RunDate) {
		t.Errorf("snapshot_date %v, want %v", d, RunDate)
	}
	if id := rec.Column(colCustomerID).(*array.String).Value(12345); id != "C00012345" {
		t.Errorf("customer_id of row 12345 is %q", id)
	}
	freq := rec.Column(colFrequency).(*array.Int64)
	repeat := rec.Column(colRepeatAvgValue).(*array.Float64)
	for i := 0; i < int(rec.NumRows()); i++ {
		if (freq.Value(i) == 0) != repeat.IsNull(i) {
			t.Fatalf("row %d: frequency %d but repeat_avg_value null=%v", i, freq.Value(i), repeat.IsNull(i))
		}
	}
}

func tableRecord(t *testing.T, tbl arrow.Table) arrow.Record {
	t.Helper()
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		c, err := array.Concatenate(tbl.Column(i).Data().Chunks(), memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		cols[i] = c
	}
	return array.NewRecord(tbl.Schema(), cols, tbl.NumRows())
}

func firstDiff(a, b arrow.Array) int {
	for i := 0; i < min(a.Len(), b.Len()); i++ {
		if !array.SliceEqual(a, int64(i), int64(i+1), b, int64(i), int64(i+1)) {
			return i
		}
	}
	return min(a.Len(), b.Len())
}

// TestGenerate checks the properties the benchmark's data is claimed to
// have: deterministic, about 40% one-time buyers, and internally consistent
// the way the job's own customer_summary is.
func TestGenerate(t *testing.T) {
	a, b := Generate(20_000, 7), Generate(20_000, 7)
	if !array.RecordEqual(a, b) {
		t.Fatal("same seed, different data")
	}
	first := a.Column(colFirstOrderAt).(*array.Timestamp)
	last := a.Column(colLastOrderAt).(*array.Timestamp)
	count := a.Column(colOrderCount).(*array.Int64)
	total := a.Column(colTotalRevenue).(*array.Float64)
	aov := a.Column(colAvgOrderValue).(*array.Float64)
	freq := a.Column(colFrequency).(*array.Int64)
	recency := a.Column(colRecencyDays).(*array.Int64)
	tenure := a.Column(colTenureDays).(*array.Int64)
	repeat := a.Column(colRepeatAvgValue).(*array.Float64)

	if share := float64(repeat.NullN()) / float64(a.NumRows()); share < 0.35 || share > 0.45 {
		t.Errorf("%.1f%% of repeat_avg_value null, want about 40%%", 100*share)
	}
	for i := 0; i < int(a.NumRows()); i++ {
		ok := last.Value(i) >= first.Value(i) &&
			freq.Value(i) < count.Value(i) &&
			freq.Value(i) <= recency.Value(i) && recency.Value(i) <= tenure.Value(i) &&
			math.Abs(aov.Value(i)*float64(count.Value(i))-total.Value(i)) < 1e-6 &&
			(freq.Value(i) == 0) == repeat.IsNull(i)
		if !ok {
			t.Fatalf("row %d inconsistent: first %d last %d count %d freq %d recency %d tenure %d total %g aov %g",
				i, first.Value(i), last.Value(i), count.Value(i), freq.Value(i), recency.Value(i), tenure.Value(i), total.Value(i), aov.Value(i))
		}
	}
}
