package validate_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
	"retain/stages/validate"
	"retain/stages/validate/validateconfig"
)

type discard struct{ enginetest.Unused }

// noSideInput stands in for the file reader: the benchmark's job reads no
// FX rates.
func noSideInput(context.Context, *night.Context, *night.Source, schemas.Table, []string, func(arrow.Record) error) error {
	return errors.New("the benchmark reads no side input")
}

func (discard) Emit(context.Context, string, arrow.Record) error { return nil }

// cleanBatch is a raw batch of input.BatchRows clean orders with string
// ids, the shape of a Parquet export; its order ids start at first.
func cleanBatch(mem memory.Allocator, first int) arrow.Record {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "country", Type: arrow.BinaryTypes.String}, {Name: "status", Type: arrow.BinaryTypes.String},
		{Name: input.SharedOrderID, Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	rb := array.NewRecordBuilder(mem, sc)
	defer rb.Release()
	const n = input.BatchRows
	start := int64(1767225600) * 1e6 // 2026-01-01
	for i := first; i < first+n; i++ {
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("o%08d", i))
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("c%06d", i%20000))
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(start + int64(i%n)*60e6))
		rb.Field(3).(*array.Float64Builder).Append(float64(500+i%20000) / 100)
		rb.Field(4).(*array.StringBuilder).Append([]string{"DE", "FR", "US"}[i%3])
		rb.Field(5).(*array.StringBuilder).Append([]string{"completed", "completed", "cancelled"}[i%3])
		rb.Field(6).(*array.BooleanBuilder).Append(false)
	}
	raw := rb.NewRecord()
	defer raw.Release()
	md := arrow.NewMetadata([]string{input.MetaSourceFile, input.MetaFirstRow}, []string{"orders.parquet", fmt.Sprint(1 + first)})
	return array.NewRecord(arrow.NewSchema(sc.Fields(), &md), raw.Columns(), raw.NumRows())
}

// BenchmarkValidateBatch is the validate stage's own per-row cost on one
// batch of clean orders with string ids, the shape of a Parquet export,
// checked by a worker and merged when the stage finishes; allocs/op are
// per batch of input.BatchRows rows, so a per-row allocation shows as
// tens of thousands.
//
//	go test -run '^$' -bench ValidateBatch -benchmem ./stages/validate/
func BenchmarkValidateBatch(b *testing.B) {
	mem := memory.NewGoAllocator()
	rec := cleanBatch(mem, 0)
	defer rec.Release()
	const n = input.BatchRows

	j, err := config.Decode([]byte("name: b\ninput: {orders: {path: orders.parquet}}\n"), b.TempDir(), []config.Section{night.InputSection, validateconfig.Section})
	if err != nil {
		b.Fatal(err)
	}
	reg := &night.Registry{}
	if err := validate.Register(reg, noSideInput); err != nil {
		b.Fatal(err)
	}
	spec := reg.Specs()[0]
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		rc, err := night.New(j, "b", "2026-11-22", mem, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		st, err := spec.New(ctx, rc)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := st.Process(ctx, schemas.RawOrders, rec, discard{}); err != nil {
			b.Fatal(err)
		}
		if err := st.Finish(ctx, discard{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if rc.Rows.Used == 0 {
			b.Fatal("no rows used")
		}
		st.Close(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

// BenchmarkValidateWorkers runs 32 batches of clean orders (2M rows)
// through the stage with one and two workers checking them: on two idle
// cores, two workers take the rows' own checks off the goroutine that
// merges, and ns/row falls toward the merge's share.
//
//	go test -run '^$' -bench ValidateWorkers ./stages/validate/
func BenchmarkValidateWorkers(b *testing.B) {
	mem := memory.NewGoAllocator()
	var recs []arrow.Record
	for k := range 32 {
		recs = append(recs, cleanBatch(mem, k*input.BatchRows))
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	j, err := config.Decode([]byte("name: b\ninput: {orders: {path: orders.parquet}}\n"), b.TempDir(), []config.Section{night.InputSection, validateconfig.Section})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			defer validate.SetWorkers(workers)()
			reg := &night.Registry{}
			if err := validate.Register(reg, noSideInput); err != nil {
				b.Fatal(err)
			}
			spec := reg.Specs()[0]
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				rc, err := night.New(j, "b", "2026-11-22", mem, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				st, err := spec.New(ctx, rc)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for _, r := range recs {
					if err := st.Process(ctx, schemas.RawOrders, r, discard{}); err != nil {
						b.Fatal(err)
					}
				}
				if err := st.Finish(ctx, discard{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if rc.Rows.Used == 0 {
					b.Fatal("no rows used")
				}
				st.Close(ctx)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)*input.BatchRows), "ns/row")
		})
	}
}
