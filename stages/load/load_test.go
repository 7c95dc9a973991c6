package load

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/schemas"
)

// hostileRows is more rows than a 1 MiB dictionary page holds distinct
// 8-byte values (131,072), so with dictionaries every string, integer,
// float and timestamp column below outgrows its dictionary part way through
// the row group.
const hostileRows = 140_000

// hostileBatches fills every column of schema with values that are distinct
// on almost every row, in batches of the size stages emit.
func hostileBatches(mem memory.Allocator, schema *arrow.Schema, rows int) []arrow.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	var out []arrow.Record
	for start := 0; start < rows; start += 64 * 1024 {
		for i := start; i < min(start+64*1024, rows); i++ {
			for k, f := range schema.Fields() {
				fb := b.Field(k)
				// A run of nulls: scattered ones cost the level encoder
				// more time than the rest of the write, and test nothing here.
				if f.Nullable && i%(64*1024) < 64 {
					fb.AppendNull()
					continue
				}
				switch fb := fb.(type) {
				case *array.StringBuilder:
					fb.Append(strconv.FormatUint(rng.Uint64(), 36))
				case *array.Int64Builder:
					fb.Append(rng.Int64())
				case *array.Float64Builder:
					fb.Append(rng.NormFloat64() * 1e6)
				case *array.BooleanBuilder:
					fb.Append(rng.IntN(2) == 0)
				case *array.Date32Builder:
					fb.Append(arrow.Date32(rng.IntN(200_000)))
				case *array.TimestampBuilder:
					fb.Append(arrow.Timestamp(rng.Int64N(4e15)))
				default:
					panic(fmt.Sprintf("column %s: no hostile values for %s", f.Name, f.Type))
				}
			}
		}
		out = append(out, b.NewRecord())
	}
	return out
}

// writeFile writes batches the way the load stage does, through newFileWriter
// unless props are given.
func writeFile(t *testing.T, schema *arrow.Schema, batches []arrow.Record, props *parquet.WriterProperties, mem memory.Allocator) []byte {
	t.Helper()
	var buf bytes.Buffer
	var fw *pqarrow.FileWriter
	var err error
	if props == nil {
		fw, err = newFileWriter(schema, struct{ io.Writer }{&buf}, 256*1024, mem)
	} else {
		fw, err = pqarrow.NewFileWriter(schema, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range batches {
		if err := fw.WriteBuffered(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mixedChunks names the column chunks whose data pages have more than one
// encoding, as a dictionary chunk that fell back to PLAIN has. The writer
// records such a chunk's page counts per encoding in a Go map and writes
// them to the footer in the map's random order.
func mixedChunks(t *testing.T, raw []byte) []string {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for g := 0; g < r.NumRowGroups(); g++ {
		rg := r.MetaData().RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			encodings := map[parquet.Encoding]bool{}
			for _, s := range cc.EncodingStats() {
				if s.PageType.String() != "DICTIONARY_PAGE" {
					encodings[s.Encoding] = true
				}
			}
			if len(encodings) > 1 {
				out = append(out, fmt.Sprintf("row group %d %s %v", g, cc.PathInSchema(), cc.EncodingStats()))
			}
		}
	}
	return out
}

// TestFooterIsAFunctionOfTheData writes customer_summary (every physical type
// of the output tables but boolean, which is never dictionary-encoded),
// filled with values that overflow any dictionary, three times: every write
// must give the same bytes, and no column chunk may mix data-page encodings.
func TestFooterIsAFunctionOfTheData(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemas.CustomerSummary.Schema()
	batches := hostileBatches(mem, schema, hostileRows)
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()

	// The data does reach the fallback: with the library's default
	// dictionaries, chunks switch to PLAIN part way.
	dict := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(256*1024))
	if mixed := mixedChunks(t, writeFile(t, schema, batches, dict, mem)); len(mixed) < schema.NumFields()/2 {
		t.Fatalf("only %d column chunks fell back from dictionary to PLAIN; the data does not exercise the fallback", len(mixed))
	}

	// Go randomises map order on every iteration, so a mixed chunk's two
	// footer entries swap on about half the writes: three writes of a
	// dozen such chunks agree by chance with odds of about 2^-24.
	first := writeFile(t, schema, batches, nil, mem)
	for i := 2; i <= 3; i++ {
		if raw := writeFile(t, schema, batches, nil, mem); !bytes.Equal(raw, first) {
			t.Errorf("write %d differs from the first (%d and %d bytes)", i, len(raw), len(first))
			break
		}
	}
	if mixed := mixedChunks(t, first); len(mixed) > 0 {
		t.Errorf("%d column chunks mix data-page encodings, so their footer order is random:\n%s", len(mixed), strings.Join(mixed, "\n"))
	}
}
