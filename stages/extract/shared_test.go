package extract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/schemas"
)

// TestSharedOrderID: every raw batch ends with input.SharedOrderID, true
// exactly for rows whose trimmed, non-blank id another row of any file
// has: across CSV and Parquet files, padded ids alike, integer ids by
// their text, blank and null ids never; a malformed record, quarantined by
// the reader, is no row validation sees and shares no id. Every batch
// carries the count of distinct ids (input.MetaOrderIDs).
func TestSharedOrderID(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in", "a.csv"), "order_id,customer_id,order_ts,amount\n"+
		"A1,c1,2026-11-01,5\n"+
		" B2 ,c2,2026-11-01,5\n"+
		"   ,c3,2026-11-01,5\n"+
		"   ,c4,2026-11-01,5\n"+
		"U1,c5,2026-11-01,5\n"+
		"M1,broken\n"+
		"42,c6,2026-11-01,5\n")
	writeFile(t, filepath.Join(dir, "in", "b.csv"), "order_id,customer_id,order_ts,amount\n"+
		"B2,c7,2026-11-02,6\n"+
		"M1,c8,2026-11-02,6\n"+
		"U2,c9,2026-11-02,6\n")
	// Integer ids: 42 is the CSV's "42", 7 is only here, twice.
	mem := memory.NewGoAllocator()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_ts", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for _, id := range []int64{42, 7, 7, 0} {
		if id == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(id)
		}
		b.Field(1).(*array.StringBuilder).Append("c")
		b.Field(2).(*array.StringBuilder).Append("2026-11-03")
		b.Field(3).(*array.Float64Builder).Append(1)
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(filepath.Join(dir, "in", "c.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pqarrow.WriteTable(array.NewTableFromRecords(sc, []arrow.Record{rec}), f, 2, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	c, rc, err := runReader(t, dir, "name: t\ninput: {orders: {path: in, csv: {max_malformed_share: 0.5}}}\n", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range c.lines[schemas.RawOrders] {
		cells := strings.Split(l, "|")
		got = append(got, cells[0]+"="+cells[len(cells)-1])
	}
	want := []string{
		"1:A1=false", "2: B2 =true", "3:   =false", "4:   =false", "5:U1=false", "7:42=true",
		"1:B2=true", "2:M1=false", "3:U2=false",
		"1:42=true", "2:7=true", "3:7=true", "4:∅=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A1, B2, U1, 42, M1, U2 and 7: every batch says so.
	for i, n := range c.orderIDs {
		if n != 7 {
			t.Errorf("batch %d says %d distinct order ids, want 7", i, n)
		}
	}
	if len(c.orderIDs) == 0 {
		t.Error("no raw orders batch")
	}
	if rc.Rows.Read != 14 {
		t.Errorf("rows read %d, want 14 (the malformed record included)", rc.Rows.Read)
	}
}
