package margin

import (
	"context"
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
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/handover"
	"retain/stages/margin/marginconfig"
)

// everyOrderUsed answers every lookup as a used order of one of 100,000
// customers, at no cost of its own, so the benchmark measures the stage.
type everyOrderUsed struct{}

func (everyOrderUsed) Customers(ids []string, got []handover.OrderCustomer) {
	for i, id := range ids {
		got[i] = handover.OrderCustomer{Used: true, Customer: fingerprint.Key(id) % 100_000, Rate: 1}
	}
}

type lender struct {
	*enginetest.Emitter
}

func (lender) Need(string) (any, error) { return handover.CustomerLookup(everyOrderUsed{}), nil }

// BenchmarkProcess folds 1M costed item lines (as typed Parquet columns)
// into customer sums: go test -run '^$' -bench Process ./stages/margin/.
func BenchmarkProcess(b *testing.B) {
	mem := memory.NewGoAllocator()
	j, err := config.Decode([]byte("name: b\ninput: {orders: {path: o.csv}, order_items: {path: i.csv}}\nmargin: {item_costs: true}\n"), b.TempDir(),
		[]config.Section{night.InputSection, marginconfig.Section})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := night.New(j, "b", "2026-11-22", mem, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	const rows, batch = 1 << 20, 64 * 1024
	var recs []arrow.Record
	for start := 0; start < rows; start += batch {
		bld := array.NewRecordBuilder(mem, schemas.OrderItems.Schema())
		for i := start; i < start+batch; i++ {
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("O%010d", i/2))
			bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("SKU%05d", i%5000))
			bld.Field(2).(*array.Int64Builder).Append(int64(1 + i%2))
			bld.Field(3).(*array.Float64Builder).Append(10)
			bld.Field(4).(*array.Float64Builder).Append(4)
		}
		recs = append(recs, bld.NewRecord())
		bld.Release()
	}
	out := lender{enginetest.NewEmitter()}
	defer out.Release()
	b.ResetTimer()
	for range b.N {
		s := &stage{rc: rc, on: true, byCustomer: map[uint64]*sums{}}
		for _, r := range recs {
			if err := s.Process(context.Background(), schemas.RawItems, r, out); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
