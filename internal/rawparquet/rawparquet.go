// Package rawparquet writes small Parquet files through the low-level
// parquet/schema and parquet/file writer, so tests control the footer
// exactly (logical and converted types, isAdjustedToUTC, INT96, key-value
// metadata) instead of getting whatever pqarrow maps an Arrow type to.
package rawparquet

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/flight"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/schema"
)

// Column is one required flat column. Exactly one of the value slices is
// set, matching the node's physical type.
type Column struct {
	Node   schema.Node
	Int64  []int64
	Int96  []parquet.Int96
	Double []float64
	Bytes  []string
	// Defs, when set, makes the column optional: one definition level per
	// row (0 for null), with the value slice holding only the non-null
	// values.
	Defs []int16
}

// String is a UTF8-annotated BYTE_ARRAY column. Its values are written as
// given, valid UTF-8 or not, as a careless writer would.
func String(name string, values ...string) Column {
	n, err := schema.NewPrimitiveNodeLogical(name, parquet.Repetitions.Required, schema.StringLogicalType{}, parquet.Types.ByteArray, -1, -1)
	if err != nil {
		panic(err)
	}
	return Column{Node: n, Bytes: values}
}

// Double is a DOUBLE column.
func Double(name string, values ...float64) Column {
	return Column{Node: schema.NewFloat64Node(name, parquet.Repetitions.Required, -1), Double: values}
}

// Timestamp is an INT64 column with the TIMESTAMP logical type.
func Timestamp(name string, adjustedToUTC bool, unit schema.TimeUnitType, values ...int64) Column {
	n, err := schema.NewPrimitiveNodeLogical(name, parquet.Repetitions.Required,
		schema.NewTimestampLogicalType(adjustedToUTC, unit), parquet.Types.Int64, -1, -1)
	if err != nil {
		panic(err)
	}
	return Column{Node: n, Int64: values}
}

// LegacyTimestamp is an INT64 column annotated only with the converted type
// TIMESTAMP_MILLIS or TIMESTAMP_MICROS, as writers before the logical
// types did.
func LegacyTimestamp(name string, converted schema.ConvertedType, values ...int64) Column {
	n, err := schema.NewPrimitiveNodeConverted(name, parquet.Repetitions.Required, parquet.Types.Int64, converted, -1, 0, 0, -1)
	if err != nil {
		panic(err)
	}
	return Column{Node: n, Int64: values}
}

// Int96 is an INT96 column (Impala and Spark timestamps): nanoseconds of
// the day and the Julian day.
func Int96(name string, values ...parquet.Int96) Column {
	return Column{Node: schema.NewInt96Node(name, parquet.Repetitions.Required, -1), Int96: values}
}

// OptionalInt96 is an optional INT96 column; a nil value is a null.
func OptionalInt96(name string, values ...*parquet.Int96) Column {
	c := Column{Node: schema.NewInt96Node(name, parquet.Repetitions.Optional, -1), Defs: make([]int16, len(values))}
	for i, v := range values {
		if v != nil {
			c.Defs[i] = 1
			c.Int96 = append(c.Int96, *v)
		}
	}
	return c
}

// Int96At is the INT96 value nanosOfDay into the Julian day julianDay
// (2440588 is 1970-01-01).
func Int96At(julianDay uint32, nanosOfDay int64) parquet.Int96 {
	var v parquet.Int96
	v.SetNanoSeconds(nanosOfDay)
	v[8], v[9], v[10], v[11] = byte(julianDay), byte(julianDay>>8), byte(julianDay>>16), byte(julianDay>>24)
	return v
}

// ArrowSchema is the "ARROW:schema" key-value entry pyarrow and pqarrow
// store, for a file whose readers should see sc.
func ArrowSchema(sc *arrow.Schema) map[string]string {
	return map[string]string{"ARROW:schema": base64.StdEncoding.EncodeToString(flight.SerializeSchema(sc, memory.DefaultAllocator))}
}

// Write writes cols as one row group to path, with meta as the file's
// key-value metadata.
func Write(path string, meta map[string]string, cols ...Column) error {
	fields := make(schema.FieldList, len(cols))
	for i, c := range cols {
		fields[i] = c.Node
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, fields, -1)
	if err != nil {
		return err
	}
	var kv metadata.KeyValueMetadata
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		kv.Append(k, meta[k])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// The writer closes f when it closes.
	w := file.NewParquetWriter(f, root, file.WithWriteMetadata(kv))
	if err := writeRowGroup(w, cols); err != nil {
		f.Close()
		return err
	}
	return w.Close()
}

func writeRowGroup(w *file.Writer, cols []Column) error {
	rg := w.AppendRowGroup()
	for _, c := range cols {
		cw, err := rg.NextColumn()
		if err != nil {
			return err
		}
		switch cw := cw.(type) {
		case *file.Int64ColumnChunkWriter:
			_, err = cw.WriteBatch(c.Int64, nil, nil)
		case *file.Int96ColumnChunkWriter:
			_, err = cw.WriteBatch(c.Int96, c.Defs, nil)
		case *file.Float64ColumnChunkWriter:
			_, err = cw.WriteBatch(c.Double, nil, nil)
		case *file.ByteArrayColumnChunkWriter:
			vals := make([]parquet.ByteArray, len(c.Bytes))
			for i, s := range c.Bytes {
				vals[i] = parquet.ByteArray(s)
			}
			_, err = cw.WriteBatch(vals, nil, nil)
		default:
			err = fmt.Errorf("rawparquet: column %s: unsupported writer %T", c.Node.Name(), cw)
		}
		if err != nil {
			return err
		}
		if err := cw.Close(); err != nil {
			return err
		}
	}
	return rg.Close()
}
