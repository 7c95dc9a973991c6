package extract

import (
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// dictionaryLeaves returns the string columns among leaves whose data
// pages are dictionary-encoded in every row group, as the footer's page
// encoding statistics say. Arrow reads those as dictionary arrays, indices
// and one copy of each distinct value, where reading them as strings
// appends every row's value to a builder one at a time; plainStrings then
// turns them into the string columns the stages take in one tight pass.
// A column with any plain page (a writer's dictionary overflowing, most
// often on ids) or without statistics reads as strings, since Arrow would
// hash its plain values into a dictionary.
func dictionaryLeaves(pr *file.Reader, fr *pqarrow.FileReader, leaves []int) []int {
	md := pr.MetaData()
	sc, err := fr.Schema()
	if err != nil {
		return nil
	}
	var dict []int
	for _, leaf := range leaves {
		col := md.Schema.Column(leaf)
		if col.PhysicalType() != parquet.Types.ByteArray || col.MaxRepetitionLevel() != 0 {
			continue
		}
		if idx := sc.FieldIndices(col.Name()); len(idx) != 1 || sc.Field(idx[0]).Type.ID() != arrow.STRING {
			continue
		}
		all := pr.NumRowGroups() > 0
		for rg := 0; all && rg < pr.NumRowGroups(); rg++ {
			cc, err := md.RowGroup(rg).ColumnChunk(leaf)
			if err != nil || !cc.HasDictionaryPage() {
				all = false
				break
			}
			stats := cc.EncodingStats()
			data := false
			for _, st := range stats {
				if t := int32(st.PageType); t != pageData && t != pageDataV2 {
					continue
				}
				data = true
				if st.Encoding != parquet.Encodings.RLEDict && st.Encoding != parquet.Encodings.PlainDict {
					all = false
				}
			}
			all = all && data
		}
		if all {
			dict = append(dict, leaf)
		}
	}
	return dict
}

// plainStrings returns rec with its dictionary columns of strings as
// string columns, or nil when it has none; the caller releases it.
func plainStrings(rec arrow.Record, mem memory.Allocator) arrow.Record {
	var cols []arrow.Array
	var fields []arrow.Field
	for i, f := range rec.Schema().Fields() {
		d, ok := rec.Column(i).(*array.Dictionary)
		if !ok {
			continue
		}
		plain := undictionary(d, mem)
		if plain == nil {
			continue
		}
		if cols == nil {
			cols = make([]arrow.Array, rec.NumCols())
			fields = slices.Clone(rec.Schema().Fields())
		}
		cols[i] = plain
		fields[i] = arrow.Field{Name: f.Name, Type: cols[i].DataType(), Nullable: f.Nullable, Metadata: f.Metadata}
	}
	if cols == nil {
		return nil
	}
	for i := range cols {
		if cols[i] == nil {
			cols[i] = rec.Column(i)
			cols[i].Retain()
		}
	}
	md := rec.Schema().Metadata()
	out := array.NewRecord(arrow.NewSchema(fields, &md), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// undictionary is d's values as a string array, or nil when they are not
// strings (which dictionaryLeaves never asks Arrow for): each row's value
// is copied out of the dictionary into buffers sized once.
func undictionary(d *array.Dictionary, mem memory.Allocator) arrow.Array {
	dict, ok := d.Dictionary().(*array.String)
	if !ok {
		return nil
	}
	n := d.Len()
	nulls := d.NullN()
	var codes []int32
	if idx, ok := d.Indices().(*array.Int32); ok && nulls == 0 {
		codes = idx.Int32Values()
	} else {
		codes = make([]int32, n)
		for i := range codes {
			codes[i] = -1 // whatever the index of a null says
			if d.IsValid(i) {
				codes[i] = int32(d.GetValueIndex(i))
			}
		}
	}
	values, dictOffs := dict.ValueBytes(), dict.ValueOffsets()
	size := 0
	for _, c := range codes {
		if c >= 0 {
			size += int(dictOffs[c+1] - dictOffs[c])
		}
	}
	offsets := memory.NewResizableBuffer(mem)
	offsets.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	data := memory.NewResizableBuffer(mem)
	data.Resize(size)
	buf := data.Bytes()
	at := int32(0)
	for i, c := range codes {
		offs[i] = at
		if c >= 0 {
			at += int32(copy(buf[at:], values[dictOffs[c]:dictOffs[c+1]]))
		}
	}
	offs[n] = at
	var valid *memory.Buffer
	if nulls > 0 {
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := valid.Bytes()
		clear(bits)
		for i := range n {
			if d.IsValid(i) {
				bitutil.SetBit(bits, i)
			}
		}
	}
	ad := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offsets, data}, nil, nulls, 0)
	out := array.NewStringData(ad)
	ad.Release()
	offsets.Release()
	data.Release()
	if valid != nil {
		valid.Release()
	}
	return out
}
