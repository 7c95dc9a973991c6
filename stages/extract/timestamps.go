package extract

import (
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/parquet/schema"
)

// timestampMeaning is the Arrow type a Parquet column's values mean, for
// the validate stage, which reads a zone-less timestamp as a wall-clock
// reading in the job's zone. pqarrow (v15) gets the zone wrong both ways:
// every TIMESTAMP logical type comes back as UTC, isAdjustedToUTC=false
// included, while the legacy converted types TIMESTAMP_MILLIS/MICROS,
// which the Parquet spec defines as UTC, come back zone-less. Its own
// writer also marks zone-less Arrow timestamps isAdjustedToUTC=true, and a
// stored Arrow schema only overrides the zone when it names one.
//
// So: the writer's stored Arrow schema ("ARROW:schema", written by pyarrow
// and pqarrow) decides when it has the column as a timestamp; otherwise
// the footer's isAdjustedToUTC; legacy converted types and INT96 (Spark's
// instants) are UTC.
func timestampMeaning(pq *schema.Schema, origin *arrow.Schema, f arrow.Field) arrow.DataType {
	read, ok := f.Type.(*arrow.TimestampType)
	if !ok {
		return f.Type
	}
	zone := read.TimeZone
	if o := originTimestamp(origin, f.Name); o != nil {
		zone = o.TimeZone
	} else if i := pq.ColumnIndexByName(f.Name); i >= 0 {
		if lt, ok := pq.Column(i).LogicalType().(*schema.TimestampLogicalType); ok {
			zone = ""
			if lt.IsFromConvertedType() || lt.IsAdjustedToUTC() {
				zone = "UTC"
			}
		}
	}
	if zone == read.TimeZone {
		return f.Type
	}
	return &arrow.TimestampType{Unit: read.Unit, TimeZone: zone}
}

func originTimestamp(origin *arrow.Schema, name string) *arrow.TimestampType {
	if origin == nil {
		return nil
	}
	idx := origin.FieldIndices(name)
	if len(idx) != 1 {
		return nil
	}
	t, _ := origin.Field(idx[0]).Type.(*arrow.TimestampType)
	return t
}

// retype gives a column read from Parquet the type timestampMeaning found,
// sharing its buffers; the caller releases the result when changed is true.
func retype(a arrow.Array, t arrow.DataType) (out arrow.Array, changed bool) {
	if t == nil || arrow.TypeEqual(a.DataType(), t) {
		return a, false
	}
	d := array.NewData(t, a.Len(), a.Data().Buffers(), nil, a.NullN(), a.Data().Offset())
	defer d.Release()
	return array.MakeFromData(d), true
}
