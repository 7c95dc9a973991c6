package extract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// writeIDs writes ids (nil for null) as a file's only column, of type typ,
// in row groups of rowGroup rows; dict turns dictionary pages on or off.
func writeIDs(t *testing.T, path string, typ arrow.DataType, ids []*string, rowGroup int, dict bool) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: typ, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for _, id := range ids {
		switch fb := b.Field(0).(type) {
		case *array.StringBuilder:
			if id == nil {
				fb.AppendNull()
			} else {
				fb.Append(*id)
			}
		case *array.BinaryBuilder:
			if id == nil {
				fb.AppendNull()
			} else {
				fb.Append([]byte(*id))
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rowGroup)), parquet.WithDictionaryDefault(dict), parquet.WithDataPageSize(512))
	fw, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// arrowKeys are the keys of path's order ids as the Arrow reader's
// batches give them to orderKeys.
func arrowKeys(t *testing.T, path string) []uint64 {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 100}, mem)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var keys []uint64
	for rr.Next() {
		keys = orderKeys(rr.Record().Column(0), keys)
	}
	return keys
}

// TestScanOrderIDKeys: the direct pass over a string column gives the
// keys the Arrow reader's batches give, in file order, whatever the pages
// (dictionary or plain, many per row group) and the workers; null, blank
// and padded ids are treated as orderKeys treats them. A column whose
// text is not its bytes is left to the Arrow reader before any row group.
func TestScanOrderIDKeys(t *testing.T) {
	s := func(v string) *string { return &v }
	var ids []*string
	blank := 0 // null, empty and all-space ids, which have no key
	for i := range 3000 {
		switch {
		case i%97 == 0:
			ids, blank = append(ids, nil), blank+1
		case i%89 == 0:
			ids, blank = append(ids, s("")), blank+1
		case i%83 == 0:
			ids, blank = append(ids, s("   ")), blank+1
		case i%79 == 0:
			ids = append(ids, s(" P"+string(rune('a'+i%26))+" "))
		default:
			ids = append(ids, s("O"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676))))
		}
	}
	for _, tc := range []struct {
		name     string
		typ      arrow.DataType
		dict     bool
		workers  int
		rowGroup int
		err      error
	}{
		{"plain pages, two workers", arrow.BinaryTypes.String, false, 2, 700, nil},
		{"dictionary pages, two workers", arrow.BinaryTypes.String, true, 2, 700, nil},
		{"one worker", arrow.BinaryTypes.String, false, 1, 1000, nil},
		{"one row group", arrow.BinaryTypes.String, true, 2, 5000, nil},
		{"binary ids", arrow.BinaryTypes.Binary, false, 2, 700, errNoDirectScan},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "o.parquet")
			writeIDs(t, path, tc.typ, ids, tc.rowGroup, tc.dict)
			var got []uint64
			var rows int
			handed, err := scanOrderIDKeys(context.Background(), path, "order_id", tc.workers, func(keys []uint64, n int) {
				got = append(got, keys...)
				rows += n
			})
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if handed != 0 || got != nil {
					t.Errorf("handed %d rows, %d keys before %v", handed, len(got), err)
				}
				return
			}
			if handed != int64(len(ids)) || rows != len(ids) {
				t.Errorf("handed %d rows, visited %d, want %d", handed, rows, len(ids))
			}
			want := arrowKeys(t, path)
			if len(want) != len(ids)-blank || !slices.Equal(got, want) {
				t.Errorf("%d keys, the Arrow reader gives %d (equal: %v)", len(got), len(want), slices.Equal(got, want))
			}
		})
	}
}

// TestScanOrderIDKeysCorrupt: a row group whose order id pages do not
// walk ends the direct pass after the row groups before it, whose keys it
// handed over, and none of its own.
func TestScanOrderIDKeysCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.parquet")
	writeRowGroups(t, path, 3000, 1000)
	corruptChunk(t, path, 2, 0)
	var keys, rows int
	handed, err := scanOrderIDKeys(context.Background(), path, "order_id", 2, func(k []uint64, n int) { keys, rows = keys+len(k), rows+n })
	if err == nil || handed != 2000 || rows != 2000 || keys != 2000 {
		t.Errorf("handed %d rows (%d visited, %d keys), err %v; want 2000 and an error", handed, rows, keys, err)
	}
}
