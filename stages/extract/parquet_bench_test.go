package extract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
)

// BenchmarkParquetReader reads 2M orders (string ids, a timestamp, a float
// amount and a status; zstd, row groups of 1M rows) through the stage's
// reader into an emitter that only counts rows: page walk, decoding and
// the hand-over between goroutines, without validation (read); and the
// pass over the order_id column alone that finds the shared ids, which
// read includes (order_id_pass).
//
//	go test -run '^$' -bench ParquetReader -benchtime 3x ./stages/extract/
func BenchmarkParquetReader(b *testing.B) {
	const n = 2_000_000
	dir := b.TempDir()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	fh, err := os.Create(filepath.Join(dir, "orders.parquet"))
	if err != nil {
		b.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(1<<20))
	fw, err := pqarrow.NewFileWriter(sc, fh, props, pqarrow.DefaultWriterProps())
	if err != nil {
		b.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	for i := range n {
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("O%010d", i))
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("C%08d", i%200_000))
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(1_767_225_600_000_000 + int64(i)*15_000_000))
		rb.Field(3).(*array.Float64Builder).Append(float64(5+i%300) + float64(i%100)/100)
		rb.Field(4).(*array.StringBuilder).Append("completed")
		if (i+1)%input.BatchRows == 0 || i == n-1 {
			rec := rb.NewRecord()
			if err := fw.WriteBuffered(rec); err != nil {
				b.Fatal(err)
			}
			rec.Release()
		}
	}
	rb.Release()
	if err := fw.Close(); err != nil {
		b.Fatal(err)
	}
	j, err := config.Decode([]byte("name: b\ninput: {orders: {path: orders.parquet}}\n"), dir, []config.Section{night.InputSection})
	if err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B) *reader {
		rc, err := night.New(j, "b", "2026-11-30", memory.DefaultAllocator, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		r, err := newReader(rc, &night.InputOf(j).Orders, schemas.Orders, schemas.OrdersRequired)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("read", func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			r := open(b)
			var rows int64
			err := r.Finish(context.Background(), emitFunc(func(rec arrow.Record) error { rows += rec.NumRows(); return nil }))
			r.Close(context.Background())
			if err != nil || rows != n {
				b.Fatalf("%d rows, %v", rows, err)
			}
		}
	})
	b.Run("order_id_pass", func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			r := open(b)
			shared, err := r.findShared(context.Background())
			r.Close(context.Background())
			if err != nil || shared.Len() != 0 {
				b.Fatalf("%v shared ids, %v", shared, err)
			}
		}
	})
}

// reportCPU reports the process's user and system CPU time per op between
// the call and the call of the function it returns: against ns/op, it
// shows how much of the wall time is spent on more than one core.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
