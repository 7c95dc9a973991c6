package stagetest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// Null is the cell text of a null value. An explicit marker keeps the empty
// string, which stages treat differently from null, writable.
const Null = `\N`

// timestampLayout is RFC 3339 with a fixed six-digit fraction, the unit of
// every timestamp column, so equal instants always render alike.
const timestampLayout = "2006-01-02T15:04:05.000000Z07:00"

// readCSV reads a table typed by schema, in batches of batch rows. A file
// with only a header is one empty batch, as an upstream stage may emit.
func readCSV(path string, schema *arrow.Schema, batch int, mem memory.Allocator) (recs []arrow.Record, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty; want a header row of column names", name)
	}
	header, rows := rows[0], rows[1:]
	// col[i] is the CSV column of schema field i, -1 when missing.
	col := make([]int, schema.NumFields())
	for i := range col {
		col[i] = -1
	}
	for k, h := range header {
		idx := schema.FieldIndices(h)
		if len(idx) == 0 {
			return nil, fmt.Errorf("%s: column %q is not in the table's schema", name, h)
		}
		if col[idx[0]] >= 0 {
			return nil, fmt.Errorf("%s: column %q given twice", name, h)
		}
		col[idx[0]] = k
	}
	for i, c := range col {
		if f := schema.Field(i); c < 0 && !f.Nullable {
			return nil, fmt.Errorf("%s: column %q is missing and not nullable", name, f.Name)
		}
	}
	defer func() {
		if err != nil {
			for _, r := range recs {
				r.Release()
			}
			recs = nil
		}
	}()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for start := 0; start == 0 || start < len(rows); start += batch {
		for r := start; r < min(start+batch, len(rows)); r++ {
			for i, c := range col {
				f := schema.Field(i)
				if c < 0 {
					b.Field(i).AppendNull()
					continue
				}
				if err := appendCell(b.Field(i), f, rows[r][c]); err != nil {
					return recs, fmt.Errorf("%s row %d column %s: %w", name, r+2, f.Name, err)
				}
			}
		}
		recs = append(recs, b.NewRecord())
	}
	return recs, nil
}

func appendCell(b array.Builder, f arrow.Field, cell string) error {
	if cell == Null {
		if !f.Nullable {
			return fmt.Errorf("null in a column that is not nullable")
		}
		b.AppendNull()
		return nil
	}
	bad := func(err error) error { return fmt.Errorf("%q is not a %s: %w", cell, f.Type, err) }
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(cell)
	case *array.LargeStringBuilder:
		b.Append(cell)
	case *array.Int64Builder:
		v, err := strconv.ParseInt(cell, 10, 64)
		if err != nil {
			return bad(err)
		}
		b.Append(v)
	case *array.Int32Builder:
		v, err := strconv.ParseInt(cell, 10, 32)
		if err != nil {
			return bad(err)
		}
		b.Append(int32(v))
	case *array.Float64Builder:
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			return bad(err)
		}
		b.Append(v)
	case *array.Float32Builder:
		v, err := strconv.ParseFloat(cell, 32)
		if err != nil {
			return bad(err)
		}
		b.Append(float32(v))
	case *array.BooleanBuilder:
		switch cell {
		case "true":
			b.Append(true)
		case "false":
			b.Append(false)
		default:
			return bad(fmt.Errorf("want true or false"))
		}
	case *array.Date32Builder:
		d, err := time.Parse(time.DateOnly, cell)
		if err != nil {
			return bad(err)
		}
		b.Append(arrow.Date32FromTime(d))
	case *array.TimestampBuilder:
		ts, err := time.Parse(time.RFC3339Nano, cell)
		if err != nil {
			return bad(err)
		}
		v, err := arrow.TimestampFromTime(ts, f.Type.(*arrow.TimestampType).Unit)
		if err != nil {
			return bad(err)
		}
		b.Append(v)
	default:
		return fmt.Errorf("type %s is not supported in case files", f.Type)
	}
	return nil
}

// render is the one text form of a table that expected files hold: a
// header of column names, then the rows in order. Text values lose the
// case folder's path, so expected files do not depend on the checkout.
func render(schema *arrow.Schema, recs []arrow.Record, caseDir string) (string, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := make([]string, schema.NumFields())
	for i := range header {
		header[i] = schema.Field(i).Name
	}
	w.Write(header)
	for _, rec := range recs {
		if !rec.Schema().Equal(schema) {
			return "", fmt.Errorf("batches of one table have different schemas: %s and %s", schema, rec.Schema())
		}
		row := make([]string, rec.NumCols())
		for r := 0; r < int(rec.NumRows()); r++ {
			for c := range row {
				v, err := cellText(rec.Column(c), r, caseDir)
				if err != nil {
					return "", fmt.Errorf("column %s row %d: %w", schema.Field(c).Name, r, err)
				}
				row[c] = v
			}
			w.Write(row)
		}
	}
	w.Flush()
	return buf.String(), w.Error()
}

func cellText(a arrow.Array, i int, caseDir string) (string, error) {
	if a.IsNull(i) {
		return Null, nil
	}
	text := func(s string) (string, error) {
		if s == Null {
			return "", fmt.Errorf("the text %s cannot be told from null", Null)
		}
		return strings.ReplaceAll(s, caseDir+string(filepath.Separator), ""), nil
	}
	switch a := a.(type) {
	case *array.String:
		return text(a.Value(i))
	case *array.LargeString:
		return text(a.Value(i))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), nil
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), nil
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), nil
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), nil
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), nil
	case *array.Timestamp:
		toTime, err := a.DataType().(*arrow.TimestampType).GetToTimeFunc()
		if err != nil {
			return "", err
		}
		return toTime(a.Value(i)).UTC().Format(timestampLayout), nil
	}
	return "", fmt.Errorf("type %s has no text form", a.DataType())
}

// renderParquet reads a created Parquet file back and renders it.
func renderParquet(raw []byte, caseDir string) (string, error) {
	pr, err := file.NewParquetReader(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	defer pr.Close()
	mem := memory.NewGoAllocator()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return "", err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return "", err
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	var recs []arrow.Record
	for tr.Next() {
		r := tr.Record()
		r.Retain()
		defer r.Release()
		recs = append(recs, r)
	}
	return render(tbl.Schema(), recs, caseDir)
}

// conforms checks an emitted batch against the table's declared schema:
// the stages downstream and the written files rely on it.
func conforms(rec arrow.Record, want *arrow.Schema) error {
	got := rec.Schema()
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("with %d columns; declared %d", got.NumFields(), want.NumFields())
	}
	for i, w := range want.Fields() {
		g := got.Field(i)
		if g.Name != w.Name || !arrow.TypeEqual(g.Type, w.Type) || g.Nullable != w.Nullable {
			return fmt.Errorf("column %d as %s %s nullable=%v; declared %s %s nullable=%v", i, g.Name, g.Type, g.Nullable, w.Name, w.Type, w.Nullable)
		}
		if !w.Nullable && rec.Column(i).NullN() > 0 {
			return fmt.Errorf("with nulls in %s, which is not nullable", w.Name)
		}
	}
	return nil
}

// ReadCSV reads a file written in the case files' conventions (\N for
// null, RFC 3339 timestamps, YYYY-MM-DD dates, true/false) as batches of
// at most batchRows rows typed by schema. It is for a package's test that
// hands its stage an input some other way than in/, such as the answer a
// fake warehouse serves from a case's files/ folder.
func ReadCSV(path string, schema *arrow.Schema, batchRows int, mem memory.Allocator) ([]arrow.Record, error) {
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	return readCSV(path, schema, batchRows, mem)
}

// Rows reads a case's expected CSV file as maps from column to cell text,
// for tests that compare cells of two cases.
func Rows(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := make(map[string]string, len(r))
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}
