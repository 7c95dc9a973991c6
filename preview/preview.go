// Package preview prints a few rows of a committed table as aligned text, so
// a newcomer or an operator at 2 a.m. sees the result without a BI tool.
package preview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/night"
	"retain/schemas"
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
// A key=value folder around the file (the hive layout, snapshot_date=D)
// whose key the file does not hold is a column too, first, with value as
// its text in every row, as DuckDB and pyarrow read such a folder.
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
	keys := hiveKeys(path, schema)
	cols := o.Columns
	if len(cols) == 0 {
		for _, k := range keys {
			cols = append(cols, k[0])
		}
		for _, f := range schema.Fields() {
			cols = append(cols, f.Name)
		}
	}
	money := moneyOf(path, keys, schema)
	// cell gives a column's text in a row, from the file or the path.
	cell := func(name string) (func(arrow.Record, int) string, error) {
		if i := fieldIndex(schema, name); i >= 0 {
			if decimals, ok := money(name); ok {
				return func(rec arrow.Record, r int) string { return moneyText(rec.Column(i), r, decimals(rec, r)) }, nil
			}
			return func(rec arrow.Record, r int) string { return text(rec.Column(i), r, name) }, nil
		}
		for _, k := range keys {
			if k[0] == name {
				return func(arrow.Record, int) string { return k[1] }, nil
			}
		}
		return nil, fmt.Errorf("%w: %s in %s", ErrColumn, name, path)
	}
	cells := make([]func(arrow.Record, int) string, len(cols))
	for i, c := range cols {
		if cells[i], err = cell(c); err != nil {
			return err
		}
	}
	type filter struct {
		cell func(arrow.Record, int) string
		want string
	}
	var where []filter
	for _, c := range slices.Sorted(maps.Keys(o.Where)) {
		f, err := cell(c)
		if err != nil {
			return err
		}
		where = append(where, filter{f, o.Where[c]})
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
			for _, f := range where {
				if f.cell(rec, r) != f.want {
					continue rows
				}
			}
			row := make([]string, len(cells))
			for k, c := range cells {
				row[k] = c(rec, r)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
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

// hiveKeys are the key=value folders the file at path sits in, the
// nearest last, whose key the file does not hold as a column.
func hiveKeys(path string, s *arrow.Schema) [][2]string {
	var keys [][2]string
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		k, v, ok := strings.Cut(filepath.Base(dir), "=")
		if !ok || k == "" {
			break
		}
		if fieldIndex(s, k) < 0 {
			keys = append([][2]string{{k, v}}, keys...)
		}
	}
	return keys
}

func fieldIndex(s *arrow.Schema, name string) int {
	return slices.IndexFunc(s.Fields(), func(f arrow.Field) bool { return f.Name == name })
}

// moneyOf tells, for a column of the table the file at path belongs to,
// whether it holds money, and then how many decimals a row's currency
// has: a yen amount printed with cents would show figures the table
// never holds. The table is the folder above the hive key folders.
func moneyOf(path string, keys [][2]string, s *arrow.Schema) func(name string) (func(arrow.Record, int) int, bool) {
	dir := filepath.Dir(path)
	for range keys {
		dir = filepath.Dir(dir)
	}
	t, known := schemas.Lookup(filepath.Base(dir))
	cur := fieldIndex(s, schemas.CurrencyColumn.Name)
	return func(name string) (func(arrow.Record, int) int, bool) {
		if !known || cur < 0 || !t.IsMoney(name) {
			return nil, false
		}
		return func(rec arrow.Record, r int) int {
			c, ok := rec.Column(cur).(*array.String)
			if !ok || c.IsNull(r) {
				return night.UnknownScale
			}
			return night.CurrencyOf(c.Value(r)).Scale
		}, true
	}
}

// moneyText formats a money cell with its currency's decimals.
func moneyText(a arrow.Array, i, decimals int) string {
	f, ok := a.(*array.Float64)
	if !ok || a.IsNull(i) {
		return text(a, i, "")
	}
	return grouped(f.Value(i), decimals)
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
	return grouped(v, 2)
}

// grouped writes v with decimals decimals and a comma every three digits.
func grouped(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac := s, ""
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		intPart, frac = s[:dot], s[dot:]
	}
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
