// Package quarantine builds rows of the quarantine table for the stages
// that reject input rows (validation for orders, product affinity for
// order items, extract for CSV records it cannot split into columns): each
// emits its rejects straight into the one table, on one schema, so every
// rejected row of any input is in one place with its reason.
package quarantine

import (
	"context"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/engine"
	"retain/schemas"
)

// NoRow is the source row of a rejected row that has no position in its
// source (a row of a warehouse table); its source_row is NULL.
const NoRow int64 = -1

// Builder collects rejected rows of one input batch on the quarantine
// schema, for the stage that rejects them.
type Builder struct {
	b        *array.RecordBuilder
	snapshot arrow.Date32
	// values are the columns that keep a rejected row's values as text.
	values []string
	// held are batches kept back by Hold for EmitSorted.
	held []arrow.Record
}

// NewBuilder returns an empty builder; Release it when done.
func NewBuilder(mem memory.Allocator, snapshot arrow.Date32) *Builder {
	q := &Builder{b: array.NewRecordBuilder(mem, schemas.Quarantine.Schema()), snapshot: snapshot}
	for _, c := range schemas.Quarantine.Columns {
		if c.Type == arrow.BinaryTypes.String && c.Nullable {
			q.values = append(q.values, c.Name)
		}
	}
	return q
}

// Add appends row i of an input batch from sourceTable, whose columns by
// canonical name are cols; a value column the input lacks stays null.
func (q *Builder) Add(reason, sourceTable, file string, sourceRow int64, cols map[string]arrow.Array, i int) {
	q.AddValues(reason, sourceTable, file, sourceRow, func(column string) (string, bool) { return RawText(cols[column], i) })
}

// AddValues appends a rejected row whose values are text already, such as
// a CSV record the reader could not split into the header's columns; value
// returns a canonical column's text as read, false for null.
func (q *Builder) AddValues(reason, sourceTable, file string, sourceRow int64, value func(column string) (string, bool)) {
	t := schemas.Quarantine
	q.b.Field(t.MustIndex("snapshot_date")).(*array.Date32Builder).Append(q.snapshot)
	q.b.Field(t.MustIndex("reason")).(*array.StringBuilder).Append(reason)
	q.b.Field(t.MustIndex("source_file")).(*array.StringBuilder).Append(printable(file))
	if sourceRow == NoRow {
		q.b.Field(t.MustIndex("source_row")).AppendNull()
	} else {
		q.b.Field(t.MustIndex("source_row")).(*array.Int64Builder).Append(sourceRow)
	}
	q.b.Field(t.MustIndex("source_table")).(*array.StringBuilder).Append(sourceTable)
	for _, name := range q.values {
		fb := q.b.Field(t.MustIndex(name)).(*array.StringBuilder)
		if s, ok := value(name); ok {
			fb.Append(printable(s))
		} else {
			fb.AppendNull()
		}
	}
}

// Len is the number of rows added since the last Emit.
func (q *Builder) Len() int { return q.b.Field(0).Len() }

// Emit sends the rows added so far to the quarantine table, if any, and
// starts afresh.
func (q *Builder) Emit(ctx context.Context, out engine.Emitter) error {
	if q.Len() == 0 {
		return nil
	}
	rec := q.b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.Quarantine.Name, rec)
}

// Release frees the builder and the rows it holds.
func (q *Builder) Release() {
	q.b.Release()
	for _, r := range q.held {
		r.Release()
	}
	q.held = nil
}

// RawText is how a rejected value is kept: as the reader saw it, so
// nothing is lost to a failed conversion (AddValues spells out bytes that
// are not UTF-8, see printable). Rows held for a later verdict (refunds)
// keep their values the same way.
func RawText(a arrow.Array, i int) (string, bool) {
	if a == nil || a.IsNull(i) {
		return "", false
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	}
	return a.ValueStr(i), true
}

// printable returns s with every byte that is not part of valid UTF-8
// written as \xHH (lower-case hex): "C\xff\xfe" for the bytes C, 0xff,
// 0xfe. The quarantine table must stay readable (DuckDB refuses a STRING
// column with invalid UTF-8), and the escape keeps the offending bytes
// visible, where U+FFFD would hide which they were. Valid text, the usual
// case, is returned as is without copying.
func printable(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
