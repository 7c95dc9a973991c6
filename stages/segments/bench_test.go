package segments

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"retain/stages/internal/history"
	"retain/stages/internal/periods"
)

// BenchmarkPreviousNights times the previous nights of customer_segments
// (previous_rfm_segment, segment_since_date) for a million customers whose
// first orders spread over three years, one purchase day in 60 on average,
// at the default lookback and at shorter ones:
//
//	go test -run '^$' -bench PreviousNights -benchtime 1x ./stages/segments/
func BenchmarkPreviousNights(b *testing.B) {
	const runDay, customers = 20000, 1_000_000
	rng := rand.New(rand.NewPCG(1, 2))
	var shop []dayHistory
	var c columns
	var cts []float64
	for i := 0; i < customers; i++ {
		cu := dayHistory{ID: fmt.Sprintf("C%08d", i)}
		for d := runDay - int32(rng.IntN(1100)); d <= runDay; d += 1 + int32(rng.ExpFloat64()*60) {
			cu.Days = append(cu.Days, d)
			cu.Orders = append(cu.Orders, 1)
			cu.Revenue = append(cu.Revenue, float64(5*(1+rng.IntN(40))))
		}
		since, orders, m, _ := asOf(cu, runDay)
		c.ids = append(c.ids, cu.ID)
		c.daysSince = append(c.daysSince, since)
		c.orders = append(c.orders, orders)
		cts = append(cts, m)
		shop = append(shop, cu)
	}
	r, f, m := quintileScores(c.daysSince, false), quintileScores(c.orders, true), quintileScores(cts, true)
	names := make([]string, customers)
	for i := range names {
		names[i] = segmentOf(DefaultRules, int(r[i]), int(f[i]), int(m[i]))
	}
	for _, lookback := range []int{90, 30, 7} {
		b.Run(fmt.Sprintf("lookback=%d", lookback), func(b *testing.B) {
			g, err := periods.For(decodeJob(b, fmt.Sprintf("segments: {since_lookback_days: %d}\n", lookback)), runDay)
			if err != nil {
				b.Fatal(err)
			}
			cells := make([]*history.Cells, len(shop))
			for k := range shop {
				cells[k] = cellsOf(&g, &shop[k])
			}
			b.ResetTimer()
			for range b.N {
				n := newNights(runDay, lookback)
				for _, c := range cells {
					if err := n.visit(c); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := n.segmentHistory(DefaultRules, c, cts, names); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuintileScores scores a million customers' recency, order
// counts and revenue in cents, by selection and, for comparison, by
// sorting.
func BenchmarkQuintileScores(b *testing.B) {
	const customers = 1_000_000
	rng := rand.New(rand.NewPCG(1, 3))
	since, orders, cts := make([]float64, customers), make([]float64, customers), make([]float64, customers)
	for i := range customers {
		since[i] = float64(rng.IntN(1100))
		orders[i] = float64(1 + int(rng.ExpFloat64()*3))
		cts[i] = float64(500 * (1 + rng.IntN(400)) * int(orders[i]))
	}
	for _, fn := range []struct {
		name  string
		score func([]float64, bool) []int8
	}{{"select", quintileScores}, {"sort", quintileScoresSorted}} {
		b.Run(fn.name, func(b *testing.B) {
			for range b.N {
				fn.score(since, false)
				fn.score(orders, true)
				fn.score(cts, true)
			}
		})
	}
}
