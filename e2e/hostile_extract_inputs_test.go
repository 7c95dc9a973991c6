package e2e_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

// TestWriteCorruptParquetInputs writes the corrupt Parquet files of the
// hostile cases parquet_*: a 5,000-row orders file written by pqarrow
// (zstd, one row group, no dictionary) with bytes flipped, patched or cut
// as each case's README says.
//
//	go test ./e2e/ -run TestWriteCorruptParquetInputs -write-hostile
func TestWriteCorruptParquetInputs(t *testing.T) {
	if !*writeHostile {
		t.Skip("run with -write-hostile to rewrite the inputs")
	}
	put := func(c string, raw []byte) {
		d := filepath.Join("..", "testdata", "hostile", c, "input")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "orders.parquet"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := corruptibleOrders(t, 5000, nil)

	b := bytes.Clone(good)
	start, _ := columnChunk(t, b, 0)
	for i := start + 1; i < start+9; i++ {
		b[i] ^= 0xff
	}
	put("parquet_corrupt_page_header", b)

	put("parquet_truncated", bytes.Clone(good[:len(good)*2/3]))

	// The i64 fields holding 5,000 in the footer, as zigzag varints after
	// the compact field header 16: the first is FileMetaData.num_rows, the
	// last RowGroup.num_rows, those between the chunks' num_values.
	numRows := func(raw []byte) []int {
		n := int(binary.LittleEndian.Uint32(raw[len(raw)-8:]))
		var at []int
		for j := len(raw) - 8 - n; j+3 <= len(raw)-8; j++ {
			if raw[j] == 0x16 && raw[j+1] == 0x90 && raw[j+2] == 0x4e {
				at = append(at, j)
			}
		}
		if len(at) < 2 {
			t.Fatal("footer num_rows not found")
		}
		return at
	}
	b = bytes.Clone(good)
	b[numRows(b)[0]+1] = 0x8e // 4,999
	put("parquet_row_count_mismatch", b)

	b = bytes.Clone(good)
	at := numRows(b)
	for _, j := range []int{at[0], at[len(at)-1]} {
		b[j+1], b[j+2] = 0xe0, 0x5d // 6,000
	}
	put("parquet_row_group_short", b)

	// The first byte of the order_ts page's zstd frame whose flip makes the
	// decoder find a match offset beyond its history.
	b = bytes.Clone(good)
	start, end := columnChunk(t, b, 2)
	k := bytes.Index(b[start:end], []byte{0x28, 0xb5, 0x2f, 0xfd})
	if k < 0 {
		t.Fatal("no zstd frame")
	}
	frame := start + int64(k)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	flipped := false
	for j := frame + 8; j < end && !flipped; j++ {
		for _, x := range []byte{0xff, 0x80, 0x40, 0x20} {
			c := bytes.Clone(b[frame:end])
			c[j-frame] ^= x
			if _, err := dec.DecodeAll(c, nil); err != nil && strings.Contains(err.Error(), "match offset") {
				b[j] ^= x
				flipped = true
				break
			}
		}
	}
	if !flipped {
		t.Fatal("no byte gives a match-offset error")
	}
	put("parquet_zstd_match_offset", b)

	// The last byte of the amount chunk: its zstd frame's checksum.
	b = bytes.Clone(good)
	_, end = columnChunk(t, b, 3)
	b[end-1] ^= 0xff
	put("parquet_zstd_crc", b)

	put("parquet_zero_rows", corruptibleOrders(t, 0, nil))
	put("parquet_duplicate_column", corruptibleOrders(t, 1, &arrow.Field{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true}))
}

// corruptibleOrders writes n orders of n/10 customers in November 2026,
// with extra as a fifth column (12 in every row) when given.
func corruptibleOrders(t *testing.T, n int, extra *arrow.Field) []byte {
	fields := []arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	if extra != nil {
		fields = append(fields, *extra)
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("O%06d", i+1))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("C%05d", i%max(1, n/10)+1))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(start + int64(i)*int64(7*time.Minute/time.Microsecond)))
		b.Field(3).(*array.Float64Builder).Append(float64(10 + i%90))
		if extra != nil {
			b.Field(4).(*array.Float64Builder).Append(12)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(false))
	fw, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// columnChunk returns the byte range of column col's chunk in row group 0.
func columnChunk(t *testing.T, raw []byte, col int) (int64, int64) {
	pr, err := file.NewParquetReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cc, err := pr.MetaData().RowGroup(0).ColumnChunk(col)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < off {
		off = cc.DictionaryPageOffset()
	}
	return off, off + cc.TotalCompressedSize()
}
