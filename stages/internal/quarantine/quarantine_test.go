package quarantine

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/engine/enginetest"
	"retain/schemas"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"C1", "C1"},
		{"", ""},
		{"Köln 東京", "Köln 東京"},
		{"C\xff\xfe", `C\xff\xfe`},
		{"\xc3", `\xc3`},                 // a truncated two-byte sequence
		{"a\xc3\x28b", `a\xc3(b`},        // an invalid continuation
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a UTF-16 surrogate
		{"ok\xffö", `ok\xffö`},
	}
	for _, tt := range tests {
		got := printable(tt.in)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type keep struct {
	enginetest.Unused
	recs []arrow.Record
}

func (k *keep) Emit(_ context.Context, _ string, rec arrow.Record) error {
	rec.Retain()
	k.recs = append(k.recs, rec)
	return nil
}

// TestBuilderKeepsTextReadable: a rejected row keeps its values and its
// file name as read, with bytes that are not UTF-8 spelled out, so the
// quarantine table itself stays readable.
func TestBuilderKeepsTextReadable(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.Append("C\xff\xfe")
	ids := sb.NewArray()
	defer ids.Release()
	q := NewBuilder(mem, 20000)
	defer q.Release()
	q.Add("invalid_utf8", "orders", "in\xffput/orders.csv", 7, map[string]arrow.Array{"customer_id": ids}, 0)
	var out keep
	if err := q.Emit(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	defer out.recs[0].Release()
	rec := out.recs[0]
	col := func(name string) string {
		return rec.Column(schemas.Quarantine.MustIndex(name)).(*array.String).Value(0)
	}
	if got := col("source_file"); got != `in\xffput/orders.csv` {
		t.Errorf("source_file %q", got)
	}
	if got := col("customer_id"); got != `C\xff\xfe` {
		t.Errorf("customer_id %q", got)
	}
}

// TestEmitSorted: held rows come out by file, row (rows without a position
// first), then their values, whatever order they were added in, across
// batches held at different times.
func TestEmitSorted(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	q := NewBuilder(mem, 20000)
	defer q.Release()
	add := func(reason, file string, row int64, orderID string) {
		q.AddValues(reason, "orders", file, row, func(c string) (string, bool) {
			if c == "order_id" && orderID != "" {
				return orderID, true
			}
			return "", false
		})
	}
	add("duplicate_order_id", "b.csv", 2, "o9")
	add("missing_amount", "bigquery://p.d.t", NoRow, "o2")
	q.Hold()
	add("missing_customer_id", "a.csv", 7, "o1")
	add("missing_amount", "bigquery://p.d.t", NoRow, "o1")
	add("missing_order_id", "bigquery://p.d.t", NoRow, "")
	q.Hold()
	add("duplicate_order_id", "b.csv", 1, "o3")
	if q.Held() != 5 {
		t.Errorf("held %d rows, want 5", q.Held())
	}
	var out keep
	if err := q.EmitSorted(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range out.recs {
			r.Release()
		}
	}()
	if len(out.recs) != 1 {
		t.Fatalf("%d batches, want 1", len(out.recs))
	}
	rec := out.recs[0]
	var got []string
	rows := rec.Column(schemas.Quarantine.MustIndex("source_row")).(*array.Int64)
	for i := range int(rec.NumRows()) {
		row := "null"
		if !rows.IsNull(i) {
			row = rows.ValueStr(i)
		}
		got = append(got, rec.Column(schemas.Quarantine.MustIndex("source_file")).(*array.String).Value(i)+":"+row+":"+
			rec.Column(schemas.Quarantine.MustIndex("order_id")).ValueStr(i))
	}
	want := []string{"a.csv:7:o1", "b.csv:1:o3", "b.csv:2:o9", "bigquery://p.d.t:null:(null)", "bigquery://p.d.t:null:o1", "bigquery://p.d.t:null:o2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %s, want %s", i, got[i], want[i])
		}
	}
	if q.Held() != 0 || q.Len() != 0 {
		t.Errorf("after EmitSorted: %d held, %d added", q.Held(), q.Len())
	}
}
