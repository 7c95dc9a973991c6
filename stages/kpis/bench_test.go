package kpis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
)

// discard is an emitter that only checks the stage emitted one table.
type discard struct {
	engine.Emitter
	rows int64
}

func (d *discard) Emit(_ context.Context, _ string, rec arrow.Record) error {
	d.rows += rec.NumRows()
	return nil
}

// activity generates a customer_periods stream of about rows rows in
// batches of batchRows, one cell per purchase day (the most rows a
// history can take): customers in id order, each with a few purchase
// days over three years before runDay in time order, amounts in cents,
// a few countries and some unknown.
func activity(mem memory.Allocator, rows, batchRows int, runDay int32) []arrow.Record {
	r := rand.New(rand.NewPCG(1, 2))
	countries := []string{"US", "DE", "FR", "GB", "JP", "SE"}
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	var recs []arrow.Record
	flush := func() {
		recs = append(recs, b.NewRecord())
	}
	n := 0
	for c := 0; n < rows; c++ {
		id := fmt.Sprintf("C%08d", c+1)
		days := 1 + r.IntN(18)
		day := runDay - 3*365 + int32(r.IntN(3*365))
		for j := 0; j < days && n < rows && day <= runDay; j++ {
			b.Field(0).(*array.StringBuilder).Append(id)
			if c%17 == 0 {
				b.Field(1).(*array.StringBuilder).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(countries[c%len(countries)])
			}
			b.Field(2).(*array.Date32Builder).Append(arrow.Date32(day))
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32(day))
			b.Field(4).(*array.Int64Builder).Append(1)
			orders := int64(1 + r.IntN(3)*r.IntN(2))
			b.Field(5).(*array.Int64Builder).Append(orders)
			revenue := float64(r.IntN(30000)) / 100
			refunded := 0.0
			if r.IntN(20) == 0 {
				refunded = revenue / 2
			}
			b.Field(6).(*array.Float64Builder).Append(revenue)
			b.Field(7).(*array.Float64Builder).Append(refunded)
			b.Field(8).(*array.Float64Builder).Append(0)
			b.Field(9).(*array.Float64Builder).Append(0)
			for j := 10; j < 14; j++ {
				b.Field(j).(*array.Float64Builder).AppendNull()
			}
			n++
			if n%batchRows == 0 {
				flush()
			}
			day += 1 + int32(r.IntN(120))
		}
	}
	if n%batchRows != 0 {
		flush()
	}
	return recs
}

// BenchmarkStage folds a generated 1M-row customer_periods stream
// (customers of up to 18 purchase days each, monthly periods over three
// years, batches of 64k rows) and builds the retention_kpis rows: Process
// over every batch, then Finish. Generating the stream is not timed.
func BenchmarkStage(b *testing.B) {
	mem := memory.NewGoAllocator()
	runDay := calendar.Day(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	recs := activity(mem, 1_000_000, 64*1024, runDay)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rc := &night.Context{Mem: mem, SnapshotDate: arrow.Date32(runDay)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s := newStage(rc, calendar.Month, 180, nil, runDay)
		for _, rec := range recs {
			if err := s.Process(context.Background(), schemas.CustomerPeriods.Name, rec, nil); err != nil {
				b.Fatal(err)
			}
		}
		out := &discard{}
		if err := s.Finish(context.Background(), out); err != nil {
			b.Fatal(err)
		}
		if out.rows == 0 {
			b.Fatal("no rows")
		}
	}
}
