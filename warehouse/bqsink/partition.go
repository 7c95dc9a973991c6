package bqsink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// uploadBatchRows is the batch the committed file is re-read in: big
// enough to keep per-batch cost small, small enough to bound memory.
const uploadBatchRows = 64 * 1024

// withPartitionColumn writes to a new temporary file the rows of the
// committed Parquet file at path with PartitionColumn first, every row
// holding day, and returns the file's name for the caller to remove.
//
// The committed files keep the partition key in their folder name only
// (hive partitioning, which pyarrow, pandas and BigQuery external tables
// need), but a load into a column-partitioned table through a partition
// decorator must carry the partition column in its data: BigQuery checks
// every row against the decorator's day. The re-encoding reads and writes
// one batch at a time, so memory stays at a batch whatever the table's size.
func withPartitionColumn(path string, day arrow.Date32, mem memory.Allocator) (name string, err error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return "", err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: uploadBatchRows}, mem)
	if err != nil {
		return "", err
	}
	src, err := fr.Schema()
	if err != nil {
		return "", err
	}
	if len(src.FieldIndices(PartitionColumn)) > 0 {
		return "", fmt.Errorf("%w: %s already holds %s", ErrLoad, path, PartitionColumn)
	}
	fields := append([]arrow.Field{{Name: PartitionColumn, Type: arrow.FixedWidthTypes.Date32}}, src.Fields()...)
	md := src.Metadata()
	schema := arrow.NewSchema(fields, &md)

	tmp, err := os.CreateTemp("", "retain-bq-*.parquet")
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	buf := bufio.NewWriterSize(tmp, 1<<20)
	// Snappy: the file lives for one upload, where encoding time counts
	// more than the last bytes zstd would save.
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(1<<20), parquet.WithDictionaryDefault(false))
	fw, err := pqarrow.NewFileWriter(schema, buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return "", err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		fw.Close()
		return "", err
	}
	defer rr.Release()
	dates := array.NewDate32Builder(mem)
	defer dates.Release()
	for rr.Next() {
		rec := rr.Record()
		n := int(rec.NumRows())
		dates.Reserve(n)
		for range n {
			dates.UnsafeAppend(day)
		}
		col := dates.NewArray()
		out := array.NewRecord(schema, append([]arrow.Array{col}, rec.Columns()...), int64(n))
		col.Release()
		err := fw.WriteBuffered(out)
		out.Release()
		if err != nil {
			fw.Close()
			return "", err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		fw.Close()
		return "", err
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	if err := buf.Flush(); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}
