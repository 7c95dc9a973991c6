package customersummary

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
	"unsafe"

	"retain/stages/internal/exactsum"
)

// BenchmarkFold folds a gen-shaped night into the per-customer state: 1M
// customers with ids like C00000001, 5M orders in time order over two
// years, each from a customer drawn at random, amounts in cents, a few
// countries and channels. It reports ns per order and the GC's share of
// the CPU time the fold took (runtime/metrics, GC CPU over all CPU), with
// one worker and with two, adding orders one by one (add) and in runs read
// ahead for (addAll, as the stage does). Generating the orders is in the time, on the
// goroutine that feeds the workers, as reading them is in a run.
func BenchmarkFold(b *testing.B) {
	const nCustomers, orders = 1_000_000, 5_000_000
	// Ids in one buffer, as an Arrow column holds them; the fold copies
	// what it keeps.
	buf := make([]byte, 0, nCustomers*9)
	for c := range nCustomers {
		buf = fmt.Appendf(buf, "C%08d", c+1)
	}
	countries := []string{"US", "DE", "FR", "GB", "JP", "SE"}
	channels := []string{"web", "app", "store"}
	for _, w := range []int{1, 2} {
		for _, ahead := range []bool{false, true} {
			b.Run(fmt.Sprintf("workers=%d/readahead=%v", w, ahead), func(b *testing.B) {
				defer SetWorkers(w)()
				b.ReportAllocs()
				for range b.N {
					b.StopTimer()
					runtime.GC()
					r := rand.New(rand.NewPCG(1, 2))
					seed := maphash.MakeSeed()
					gc0, all0 := gcCPU()
					start := time.Now()
					b.StartTimer()
					// As the stage does: every worker sees every batch and
					// folds its own customers' orders.
					parts := make([]*customers, w)
					queues := make([]chan []order, w)
					var wg sync.WaitGroup
					for p := range w {
						parts[p], queues[p] = newCustomers(seed), make(chan []order, 2)
						wg.Add(1)
						go func() {
							defer wg.Done()
							c := parts[p]
							for batch := range queues[p] {
								run := c.run[:0]
								for _, o := range batch {
									switch {
									case owner(o.hash) != p:
									case !ahead:
										c.add(o)
									default:
										if run = append(run, o); len(run) == prefetchRows {
											c.addAll(run)
											run = run[:0]
										}
									}
								}
								c.addAll(run)
								c.run = run[:0]
							}
						}()
					}
					const t0 = int64(1_700_000_000) * 1_000_000 // microseconds
					const span = int64(730 * 86400 * 1_000_000)
					const batchRows = 64 * 1024
					for i := 0; i < orders; i += batchRows {
						batch := make([]order, 0, batchRows)
						for j := i; j < min(i+batchRows, orders); j++ {
							k := r.IntN(nCustomers)
							id := unsafe.String(&buf[k*9], 9)
							ts := t0 + span*int64(j)/orders
							batch = append(batch, order{
								customer: id, hash: maphash.String(seed, id), ts: ts, lastTS: ts, day: int32(ts / 86_400_000_000), orders: 1,
								amount:  exactsum.Of(float64(r.IntN(20000)) / 100),
								country: countries[k%len(countries)], hasCtry: k%17 != 0,
								channel: channels[r.IntN(len(channels))], hasChan: true,
							})
						}
						for _, q := range queues {
							q <- batch
						}
					}
					for _, q := range queues {
						close(q)
					}
					wg.Wait()
					b.StopTimer()
					gc1, all1 := gcCPU()
					b.ReportMetric(float64(time.Since(start).Nanoseconds())/orders, "ns/order")
					b.ReportMetric(100*(gc1-gc0)/(all1-all0), "gc%")
					runtime.KeepAlive(parts)
					b.StartTimer()
				}
			})
		}
	}
}

func gcCPU() (gc, all float64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64()
}
