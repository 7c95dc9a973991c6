package parquetlibs

import (
	"bufio"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	xparquet "github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/writer"
)

const (
	// BatchRows is how many rows retain's load stage receives per record
	// (stages/customersummary.BatchRows); both writers are fed the same way.
	BatchRows = 64 * 1024
	// RowGroupRows is retain's default output.row_group_rows, so a
	// 1,000,000-row table is one row group in both files.
	RowGroupRows = 1 << 20
	// XitongsysRowGroupBytes is xitongsys's row-group limit, which it counts
	// in estimated in-memory bytes rather than rows; 1 GiB is well above what
	// 1,000,000 rows estimate to, so its file is one row group too.
	XitongsysRowGroupBytes = 1 << 30
	// XitongsysGoroutines is how many goroutines xitongsys marshals with; one
	// per core on the 2-core machine the job runs on.
	XitongsysGoroutines = 2
	bufSize             = 1 << 20
)

// writerProperties are those of retain's load stage
// (stages/load.WriterProperties): zstd at its default level, statistics and
// dictionary encoding on, pqarrow's default 1 MiB data pages.
func writerProperties() *parquet.WriterProperties {
	return parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(RowGroupRows),
		parquet.WithStats(true),
		parquet.WithDictionaryDefault(true),
		parquet.WithCreatedBy("retain"),
	)
}

// WritePqarrow writes rec to path the way retain's load stage does: pqarrow
// with the stored Arrow schema, BatchRows at a time through WriteBuffered,
// a 1 MiB buffer, and an fsync before close.
func WritePqarrow(path string, rec arrow.Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := bufio.NewWriterSize(f, bufSize)
	fw, err := pqarrow.NewFileWriter(rec.Schema(), buf, writerProperties(),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	for off := int64(0); off < rec.NumRows(); off += BatchRows {
		batch := rec.NewSlice(off, min(off+BatchRows, rec.NumRows()))
		err := fw.WriteBuffered(batch)
		batch.Release()
		if err != nil {
			return err
		}
	}
	return finish(f, buf, fw.Close)
}

// WriteXitongsys writes rec with xitongsys/parquet-go, converting each batch
// of BatchRows Arrow rows into a []Row first, as retain would have to since
// its data is in Arrow columns. The conversion is part of the cost.
func WriteXitongsys(path string, rec arrow.Record) error {
	return writeXitongsys(path, func(pw *writer.ParquetWriter) error {
		rows := make([]Row, 0, BatchRows)
		for off := int64(0); off < rec.NumRows(); off += BatchRows {
			batch := rec.NewSlice(off, min(off+BatchRows, rec.NumRows()))
			rows = AppendRows(rows[:0], batch)
			batch.Release()
			for i := range rows {
				if err := pw.Write(&rows[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// WriteXitongsysRows writes rows that are already Go structs: the library's
// own cost, without the Arrow conversion.
func WriteXitongsysRows(path string, rows []Row) error {
	return writeXitongsys(path, func(pw *writer.ParquetWriter) error {
		for i := range rows {
			if err := pw.Write(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeXitongsys sets up xitongsys with the same codec, row group and
// buffering as the pqarrow side; everything else (8 KiB pages, PLAIN
// encoding, its statistics) is the library's default.
func writeXitongsys(path string, write func(*writer.ParquetWriter) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := bufio.NewWriterSize(f, bufSize)
	pw, err := writer.NewParquetWriterFromWriter(buf, new(Row), XitongsysGoroutines)
	if err != nil {
		return err
	}
	pw.CompressionType = xparquet.CompressionCodec_ZSTD
	pw.RowGroupSize = XitongsysRowGroupBytes
	if err := write(pw); err != nil {
		return err
	}
	return finish(f, buf, pw.WriteStop)
}

// finish ends a file as retain's load stage does: footer, flush, fsync,
// close, so both sides pay for getting the bytes to disk.
func finish(f *os.File, buf *bufio.Writer, footer func() error) error {
	if err := footer(); err != nil {
		return err
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
