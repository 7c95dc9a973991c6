package customersummary

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"
	"unsafe"

	"retain/stages/internal/exactsum"
)

// BenchmarkFold folds a gen-shaped night into the per-customer state: 1M
// customers with ids like C00000001, 5M orders in time order over two
// years, each from a customer drawn at random, amounts in cents, a few
// countries and channels. It reports ns per order and the GC's share of
// the CPU time the fold took (runtime/metrics, GC CPU over all CPU).
func BenchmarkFold(b *testing.B) {
	const customers, orders = 1_000_000, 5_000_000
	// Ids in one buffer, as an Arrow column holds them; the fold copies
	// what it keeps.
	buf := make([]byte, 0, customers*9)
	for c := range customers {
		buf = fmt.Appendf(buf, "C%08d", c+1)
	}
	countries := []string{"US", "DE", "FR", "GB", "JP", "SE"}
	channels := []string{"web", "app", "store"}
	b.ReportAllocs()
	b.ResetTimer()
	var gc0, all0 float64
	for range b.N {
		b.StopTimer()
		runtime.GC()
		r := rand.New(rand.NewPCG(1, 2))
		gc0, all0 = gcCPU()
		b.StartTimer()
		c := newCustomers()
		const start = int64(1_700_000_000) * 1_000_000 // microseconds
		const span = int64(730 * 86400 * 1_000_000)
		for i := range orders {
			k := r.IntN(customers)
			id := unsafe.String(&buf[k*9], 9)
			ts := start + span*int64(i)/orders
			c.add(order{
				customer: id, ts: ts, lastTS: ts, day: int32(ts / 86_400_000_000), orders: 1,
				amount:  exactsum.Of(float64(r.IntN(20000)) / 100),
				country: countries[k%len(countries)], hasCtry: k%17 != 0,
				channel: channels[r.IntN(len(channels))], hasChan: true,
			})
		}
		b.StopTimer()
		gc1, all1 := gcCPU()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/orders, "ns/order")
		b.ReportMetric(100*(gc1-gc0)/(all1-all0), "gc%")
		runtime.KeepAlive(c)
		b.StartTimer()
	}
}

func gcCPU() (gc, all float64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64()
}
