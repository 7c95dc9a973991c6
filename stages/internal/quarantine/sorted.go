package quarantine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/schemas"
)

// sortedBatchRows bounds the rows of one batch EmitSorted emits.
const sortedBatchRows = 64 * 1024

// Hold keeps the rows added since the last Emit or Hold for EmitSorted
// instead of emitting them. A reader that delivers rows in no fixed order
// (parallel streams of a warehouse table) would otherwise show its arrival
// order in the quarantine table.
func (q *Builder) Hold() {
	if q.Len() == 0 {
		return
	}
	q.held = append(q.held, q.b.NewRecord())
}

// Held is the number of rows Hold has kept back.
func (q *Builder) Held() int {
	n := 0
	for _, r := range q.held {
		n += int(r.NumRows())
	}
	return n
}

// sortColumns are the columns rows are sorted on after source_file and
// source_row: the values as read, then why and from where, so only rows
// equal in every column keep their relative order, and those are
// interchangeable.
var sortColumns = func() []int {
	t := schemas.Quarantine
	var cols []int
	for _, c := range t.Columns {
		if c.Type == arrow.BinaryTypes.String && c.Nullable {
			cols = append(cols, t.MustIndex(c.Name))
		}
	}
	return append(cols, t.MustIndex("reason"), t.MustIndex("source_table"))
}()

// EmitSorted emits every held row and every row added since, sorted by
// source_file, source_row (NULL first), then the values as read (NULL
// first, then byte order), the reason and source_table; then starts afresh.
func (q *Builder) EmitSorted(ctx context.Context, out engine.Emitter) error {
	q.Hold()
	held := q.held
	q.held = nil
	defer func() {
		for _, r := range held {
			r.Release()
		}
	}()
	t := schemas.Quarantine
	type batch struct {
		file *array.String
		row  *array.Int64
		text []*array.String
	}
	batches := make([]batch, len(held))
	n := 0
	for k, r := range held {
		b := batch{file: r.Column(t.MustIndex("source_file")).(*array.String), row: r.Column(t.MustIndex("source_row")).(*array.Int64)}
		for _, c := range sortColumns {
			b.text = append(b.text, r.Column(c).(*array.String))
		}
		batches[k] = b
		n += int(r.NumRows())
	}
	type ref struct{ batch, row int32 }
	refs := make([]ref, 0, n)
	for k, r := range held {
		for i := range int32(r.NumRows()) {
			refs = append(refs, ref{int32(k), i})
		}
	}
	slices.SortStableFunc(refs, func(x, y ref) int {
		a, b := &batches[x.batch], &batches[y.batch]
		i, j := int(x.row), int(y.row)
		if c := strings.Compare(a.file.Value(i), b.file.Value(j)); c != 0 {
			return c
		}
		if c := compareNullable(a.row.IsNull(i), b.row.IsNull(j), func() int { return cmp.Compare(a.row.Value(i), b.row.Value(j)) }); c != 0 {
			return c
		}
		for k := range a.text {
			s, u := a.text[k], b.text[k]
			if c := compareNullable(s.IsNull(i), u.IsNull(j), func() int { return strings.Compare(s.Value(i), u.Value(j)) }); c != 0 {
				return c
			}
		}
		return 0
	})
	for start := 0; start < len(refs); start += sortedBatchRows {
		for _, r := range refs[start:min(start+sortedBatchRows, len(refs))] {
			if err := q.copyRow(held[r.batch], int(r.row)); err != nil {
				return err
			}
		}
		if err := q.Emit(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// compareNullable orders null before any value; values compare by cmpValues.
func compareNullable(aNull, bNull bool, cmpValues func() int) int {
	switch {
	case aNull && bNull:
		return 0
	case aNull:
		return -1
	case bNull:
		return 1
	}
	return cmpValues()
}

// copyRow appends row i of a held batch.
func (q *Builder) copyRow(rec arrow.Record, i int) error {
	for f := range int(rec.NumCols()) {
		src, fb := rec.Column(f), q.b.Field(f)
		if src.IsNull(i) {
			fb.AppendNull()
			continue
		}
		switch b := fb.(type) {
		case *array.StringBuilder:
			b.Append(src.(*array.String).Value(i))
		case *array.Int64Builder:
			b.Append(src.(*array.Int64).Value(i))
		case *array.Date32Builder:
			b.Append(src.(*array.Date32).Value(i))
		default:
			return fmt.Errorf("quarantine column %s: type %s is not copied", rec.ColumnName(f), src.DataType())
		}
	}
	return nil
}
