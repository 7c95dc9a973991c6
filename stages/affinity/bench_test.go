package affinity

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/night"
	"retain/schemas"
)

// BenchmarkWideCatalogue is the bounded-memory case: a catalogue of 100k
// products and orders of 50 items (1,225 pairs each), far more distinct pairs
// than max_pairs holds. It reports the pairs held, the heap in use after
// the run and the time per item.
func BenchmarkWideCatalogue(b *testing.B) {
	const orders, perOrder, products = 20_000, 50, 100_000
	rng := rand.New(rand.NewPCG(1, 1))
	schema := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "sku", Type: arrow.BinaryTypes.String}}, nil)
	var recs []arrow.Record
	used := usedSet{}
	ib := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for o := 0; o < orders; o++ {
		id := fmt.Sprintf("O%d", o)
		used[id] = false
		for k := 0; k < perOrder; k++ {
			ib.Field(0).(*array.StringBuilder).Append(id)
			// Half the items from a popular 1% of the catalogue.
			p := rng.IntN(products)
			if k%2 == 0 {
				p = rng.IntN(products / 100)
			}
			ib.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("SKU%06d", p))
		}
		if (o+1)%1000 == 0 {
			recs = append(recs, ib.NewRecord())
		}
	}
	ib.Release()
	runItems(b, recs, used, func(s *stage, out *collect) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(s.pairs.n), "pairs-held")
		b.ReportMetric(float64(s.floor), "max-undercount")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(out.rec.NumRows()), "rows")
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*orders*perOrder), "ns/item")
}

// BenchmarkShopItems is the shape a generated shop exports: orders of one
// to three items, each item's SKU drawn from a Zipf-like law over 5,000
// products, items grouped by order as the export writes them. It reports
// the time per item, the catalogue and the orders' lookups included.
func BenchmarkShopItems(b *testing.B) {
	const orders, products = 200_000, 5000
	rng := rand.New(rand.NewPCG(2, 2))
	schema := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "sku", Type: arrow.BinaryTypes.String}}, nil)
	var recs []arrow.Record
	used := usedSet{}
	ib := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	items := 0
	for o := 0; o < orders; o++ {
		id := fmt.Sprintf("O%09d", o)
		used[id] = false
		for range 1 + rng.IntN(3) {
			ib.Field(0).(*array.StringBuilder).Append(id)
			p := int(math.Floor(math.Pow(products, rng.Float64()))) - 1
			ib.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("SKU%05d", p))
			items++
		}
		if (o+1)%20_000 == 0 {
			recs = append(recs, ib.NewRecord())
		}
	}
	ib.Release()
	runItems(b, recs, used, nil)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}

// runItems times b.N runs of the stage over recs, each from a fresh stage
// with every order of used unclaimed; after is called on each finished run
// before its output is released.
func runItems(b *testing.B, recs []arrow.Record, used usedSet, after func(*stage, *collect)) {
	b.Helper()
	j, err := config.Decode([]byte("name: b\ninput: {orders: {path: o.csv}, order_items: {path: i.csv}}\n"), b.TempDir(), []config.Section{night.InputSection, Section})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, _ := night.New(j, "b", "2026-11-22", memory.DefaultAllocator, zerolog.Nop())
		for k := range used {
			used[k] = false
		}
		st, _ := New(context.Background(), rc)
		s := st.(*stage)
		s.used = used
		for _, rec := range recs {
			if err := s.Process(context.Background(), schemas.RawItems, rec, nil); err != nil {
				b.Fatal(err)
			}
		}
		var out collect
		if err := s.Finish(context.Background(), &out); err != nil {
			b.Fatal(err)
		}
		if after != nil {
			after(s, &out)
		}
		out.rec.Release()
	}
}
