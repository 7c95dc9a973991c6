// Package preview prints a few rows of a committed table as aligned text, so
// a newcomer or an operator at 2 a.m. sees the result without a BI tool.
package preview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// ErrColumn is wrapped when a requested column is not in the table.
var ErrColumn = errors.New("no such column")

// Options chooses what to print.
type Options struct {
	// Columns to print, in order; empty prints every column.
	Columns []string
	// Where keeps rows whose column (key) shows exactly the value.
	Where map[string]string
	// Limit caps the rows printed; 0 prints all.
	Limit int
}

// Print writes the rows of the Parquet file at path that match o.Where.
func Print(w io.Writer, path string, o Options) error {
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	schema, err := fr.Schema()
	if err != nil {
		return err
	}
	cols := o.Columns
	if len(cols) == 0 {
		for _, f := range schema.Fields() {
			cols = append(cols, f.Name)
		}
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = fieldIndex(schema, c); idx[i] < 0 {
			return fmt.Errorf("%w: %s in %s", ErrColumn, c, path)
		}
	}
	where := map[int]string{}
	for c, v := range o.Where {
		i := fieldIndex(schema, c)
		if i < 0 {
			return fmt.Errorf("%w: %s in %s", ErrColumn, c, path)
		}
		where[i] = v
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
	printed := 0
	for rr.Next() {
		rec := rr.Record()
	rows:
		for r := 0; r < int(rec.NumRows()); r++ {
			for c, v := range where {
				if text(rec.Column(c), r, "") != v {
					continue rows
				}
			}
			cells := make([]string, len(idx))
			for k, c := range idx {
				cells[k] = text(rec.Column(c), r, cols[k])
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
			if printed++; o.Limit > 0 && printed >= o.Limit {
				return tw.Flush()
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return tw.Flush()
}

func fieldIndex(s *arrow.Schema, name string) int {
	return slices.IndexFunc(s.Fields(), func(f arrow.Field) bool { return f.Name == name })
}

// text formats one cell for reading: shares and rates as percentages,
// other floats with two decimals and thousands separators.
func text(a arrow.Array, i int, name string) string {
	if a.IsNull(i) {
		return "—"
	}
	f, ok := a.(*array.Float64)
	if !ok {
		return a.ValueStr(i)
	}
	v := f.Value(i)
	if strings.HasSuffix(name, "_share") || strings.HasSuffix(name, "_rate") {
		return fmt.Sprintf("%.1f%%", v*100)
	}
	return grouped(v)
}

// grouped writes v with two decimals and a comma every three digits.
func grouped(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	s := fmt.Sprintf("%.2f", math.Abs(v))
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String() + frac
}
