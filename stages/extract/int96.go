package extract

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
)

// int96Type is what an INT96 column (Impala's and Spark's instants) reads
// as. pqarrow (v15) turns INT96 into int64 nanoseconds, which wrap outside
// 1677–2262: a year-0001 placeholder would come back as a plausible 18th-
// or 22nd-century time and slip past validate's range checks. Microseconds
// hold every year up to ±290,000, so such values reach validate as what
// they are and are quarantined there.
var int96Type = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// julianEpoch is the Julian day number of 1970-01-01.
const julianEpoch = 2440588

// int96Micros is an INT96 value in microseconds since the epoch. A value
// no writer produces (nanoseconds outside the day, or a Julian day beyond
// int64 microseconds) saturates at the int64 range: validate then puts it
// out of range or after the window, instead of the wrapped value landing
// inside it.
func int96Micros(v parquet.Int96) int64 {
	const microsPerDay = 86_400_000_000
	day := int64(binary.LittleEndian.Uint32(v[8:])) - julianEpoch
	nanos := int64(binary.LittleEndian.Uint64(v[:8]))
	switch {
	case nanos < 0 || nanos >= microsPerDay*1000:
		return math.MinInt64
	case day >= math.MaxInt64/microsPerDay:
		return math.MaxInt64
	case day <= math.MinInt64/microsPerDay:
		return math.MinInt64
	}
	return day*microsPerDay + nanos/1000
}

// int96Columns reads the INT96 leaves of row group rg whole, by column
// name; nil when it has none.
func int96Columns(pr *file.Reader, rg int, leaves []int) (map[string]*int96Column, error) {
	var cols map[string]*int96Column
	sc := pr.MetaData().Schema
	for _, leaf := range leaves {
		if sc.Column(leaf).PhysicalType() != parquet.Types.Int96 {
			continue
		}
		c, err := readInt96(pr, rg, leaf)
		if err != nil {
			return nil, err
		}
		if cols == nil {
			cols = map[string]*int96Column{}
		}
		cols[sc.Column(leaf).Name()] = c
	}
	return cols, nil
}

// int96Column is one row group's INT96 column in microseconds, with its
// validity per row.
type int96Column struct {
	micros []int64
	valid  []bool
}

func readInt96(pr *file.Reader, rg, leaf int) (*int96Column, error) {
	cr, err := pr.RowGroup(rg).Column(leaf)
	if err != nil {
		return nil, err
	}
	r, ok := cr.(*file.Int96ColumnChunkReader)
	if !ok {
		return nil, fmt.Errorf("%w: column %d is not INT96", ErrUnreadable, leaf)
	}
	rows := pr.MetaData().RowGroup(rg).NumRows()
	maxDef := pr.MetaData().Schema.Column(leaf).MaxDefinitionLevel()
	out := &int96Column{micros: make([]int64, 0, rows), valid: make([]bool, 0, rows)}
	vals := make([]parquet.Int96, 4096)
	defs := make([]int16, 4096)
	for r.HasNext() {
		var d []int16
		if maxDef > 0 {
			d = defs
		}
		total, n, err := r.ReadBatch(int64(len(vals)), vals, d, nil)
		if err != nil {
			return nil, err
		}
		if total == 0 {
			break
		}
		k := 0
		for i := range int(total) {
			if maxDef > 0 && defs[i] < maxDef {
				out.micros, out.valid = append(out.micros, 0), append(out.valid, false)
				continue
			}
			out.micros, out.valid = append(out.micros, int96Micros(vals[k])), append(out.valid, true)
			k++
		}
		if k != n {
			return nil, fmt.Errorf("%w: INT96 column %d: %d values for %d defined rows", ErrUnreadable, leaf, n, k)
		}
	}
	return out, nil
}

// withInt96 replaces rec's INT96 columns (by name) with their values in
// microseconds for rows [from, from+rec.NumRows()) of the row group; the
// caller releases the result.
func withInt96(rec arrow.Record, names map[string]*int96Column, from int64, mem memory.Allocator) (arrow.Record, error) {
	cols := make([]arrow.Array, rec.NumCols())
	fields := make([]arrow.Field, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	n := rec.NumRows()
	for i, f := range rec.Schema().Fields() {
		c, ok := names[f.Name]
		if !ok {
			cols[i], fields[i] = rec.Column(i), f
			cols[i].Retain()
			continue
		}
		if from+n > int64(len(c.micros)) {
			return nil, fmt.Errorf("%w: INT96 column %q has %d rows, the row group more", ErrUnreadable, f.Name, len(c.micros))
		}
		b := array.NewTimestampBuilder(mem, int96Type)
		b.AppendValues(toTimestamps(c.micros[from:from+n]), c.valid[from:from+n])
		cols[i] = b.NewArray()
		b.Release()
		fields[i] = arrow.Field{Name: f.Name, Type: int96Type, Nullable: true}
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, n), nil
}

func toTimestamps(v []int64) []arrow.Timestamp {
	out := make([]arrow.Timestamp, len(v))
	for i, x := range v {
		out[i] = arrow.Timestamp(x)
	}
	return out
}
