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
