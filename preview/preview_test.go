package preview

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

func TestPrint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "dimension", Type: arrow.BinaryTypes.String},
		{Name: "rfm_segment", Type: arrow.BinaryTypes.String},
		{Name: "customers", Type: arrow.PrimitiveTypes.Int64},
		{Name: "revenue", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "revenue_share", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"total", "country", "total", "total"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"Champions", "Champions", "Lost", "Other"}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{12, 5, 3, 1}, nil)
	b.Field(3).(*array.Float64Builder).AppendValues([]float64{1234567.891, 10, -1500, 0}, []bool{true, true, true, false})
	b.Field(4).(*array.Float64Builder).AppendValues([]float64{0.8125, 1, 0.1875, 0}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	// The hive layout: the date is the folder's name, not a column.
	dir := filepath.Join(t.TempDir(), "segment_summary", "snapshot_date=2026-11-22")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	if err := pqarrow.WriteTable(tbl, f, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"filtered and limited", Options{Columns: []string{"rfm_segment", "customers", "revenue", "revenue_share"}, Where: map[string]string{"dimension": "total"}, Limit: 2},
			"  rfm_segment  customers       revenue  revenue_share\n" +
				"    Champions         12  1,234,567.89          81.2%\n" +
				"         Lost          3     -1,500.00          18.8%\n"},
		{"nulls", Options{Columns: []string{"rfm_segment", "revenue"}, Where: map[string]string{"rfm_segment": "Other"}},
			"  rfm_segment  revenue\n" +
				"        Other        —\n"},
		{"date from the folder", Options{Where: map[string]string{"dimension": "country"}},
			"  snapshot_date  dimension  rfm_segment  customers  revenue  revenue_share\n" +
				"     2026-11-22    country    Champions          5    10.00         100.0%\n"},
		{"filtered on the folder's date", Options{Columns: []string{"rfm_segment", "snapshot_date"}, Where: map[string]string{"snapshot_date": "2026-11-21"}},
			"  rfm_segment  snapshot_date\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Print(&buf, path, tc.o); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tc.want)
			}
		})
	}
	if err := Print(&bytes.Buffer{}, path, Options{Columns: []string{"nope"}}); err == nil {
		t.Error("unknown column accepted")
	}
}

func TestPrintMoneyInItsCurrency(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "rfm_segment", Type: arrow.BinaryTypes.String},
		{Name: "revenue", Type: arrow.PrimitiveTypes.Float64},
		{Name: "avg_recency_days", Type: arrow.PrimitiveTypes.Float64},
		{Name: "currency", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Champions", "Lost", "Other"}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{1234567, 12.345, 2.5}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{3.25, 3.25, 3.25}, nil)
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"JPY", "KWD", ""}, []bool{true, true, false})
	rec := b.NewRecord()
	defer rec.Release()
	for _, tc := range []struct {
		table, want string
	}{
		{"segment_summary",
			"  rfm_segment    revenue  avg_recency_days  currency\n" +
				"    Champions  1,234,567              3.25       JPY\n" +
				"         Lost     12.345              3.25       KWD\n" +
				"        Other       2.50              3.25         —\n"},
		// Outside a known table nothing says which columns are money.
		{"notes",
			"  rfm_segment       revenue  avg_recency_days  currency\n" +
				"    Champions  1,234,567.00              3.25       JPY\n" +
				"         Lost         12.35              3.25       KWD\n" +
				"        Other          2.50              3.25         —\n"},
	} {
		t.Run(tc.table, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.table, "snapshot_date=2026-11-22")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "part-00000.parquet")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
			defer tbl.Release()
			if err := pqarrow.WriteTable(tbl, f, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Print(&buf, path, Options{Columns: []string{"rfm_segment", "revenue", "avg_recency_days", "currency"}}); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tc.want)
			}
		})
	}
}
