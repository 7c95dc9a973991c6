package segments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"retain/stages/internal/history"
	"retain/stages/internal/periods"
)

// randomShop is n customers with purchase days up to runDay, drawn from few
// values so that recency, orders and revenue tie often. About a third
// stopped buying before the lookback, so nothing moves them from night to
// night but the thresholds.
func randomShop(rng *rand.Rand, n int, runDay, lookback int32) []dayHistory {
	var out []dayHistory
	for i := 0; i < n; i++ {
		c := dayHistory{ID: string(rune('A'+i/26)) + string(rune('a'+i%26))}
		last := runDay
		if rng.IntN(3) == 0 {
			last = runDay - lookback - 1 - int32(rng.IntN(60))
		}
		first := last - int32(rng.IntN(120))
		for d := first; d <= last; d++ {
			if d == first || rng.IntN(25) == 0 {
				c.Days = append(c.Days, d)
				c.Orders = append(c.Orders, int64(1+rng.IntN(2)))
				c.Revenue = append(c.Revenue, float64(10*(1+rng.IntN(4))))
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b dayHistory) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

// asOf is customer c's days since the last order, orders and cents as of
// night d, scored from scratch; false before the first order.
func asOf(c dayHistory, d int32) (since, orders, cts float64, ok bool) {
	k := history.UptoDay(c.Days, d)
	if k == 0 {
		return 0, 0, 0, false
	}
	var rev float64
	for i := 0; i < k; i++ {
		orders += float64(c.Orders[i])
		rev += c.Revenue[i]
	}
	return float64(d - c.Days[k-1]), orders, cents(rev), true
}

// TestNightScoresMatchScratch: the scores from each night's four order
// statistics (the rank tree walked back night by night) are the scores
// quintileScores gives over the customers of that night, computed from
// scratch, for every customer and night of the lookback, and the previous
// segment and segment_since_date follow from those nights.
func TestNightScoresMatchScratch(t *testing.T) {
	const runDay, lookback = 20000, 40
	// Cut as customer_summary cuts customer_periods, so the lookback's
	// nights are checked against histories read cell by cell.
	g, err := periods.For(decodeJob(t, fmt.Sprintf("segments: {since_lookback_days: %d}\n", lookback)), runDay)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		shop := randomShop(rng, 60+int(seed)*37, runDay, lookback)
		n := newNights(runDay, lookback)
		var c columns
		var cts []float64
		for _, cu := range shop {
			if err := n.visit(cellsOf(&g, &cu)); err != nil {
				t.Fatal(err)
			}
			since, orders, m, _ := asOf(cu, runDay)
			c.ids = append(c.ids, cu.ID)
			c.daysSince = append(c.daysSince, since)
			c.orders = append(c.orders, orders)
			cts = append(cts, m)
		}
		now := make([]state, len(shop))
		for i := range now {
			now[i] = state{last: runDay - int32(c.daysSince[i]), orders: c.orders[i], cents: cts[i]}
		}
		thr := n.nightThresholds(now)
		segs := make([][]string, lookback) // by night, k = run day − 1 − night
		for k := range thr {
			d := int32(runDay - 1 - k)
			var idx []int
			var since, orders, m []float64
			for i, cu := range shop {
				if s, o, v, ok := asOf(cu, d); ok {
					idx = append(idx, i)
					since, orders, m = append(since, s), append(orders, o), append(m, v)
				}
			}
			if thr[k].n != len(idx) {
				t.Fatalf("seed %d night −%d: %d customers, want %d", seed, k+1, thr[k].n, len(idx))
			}
			r, f, mm := quintileScores(since, false), quintileScores(orders, true), quintileScores(m, true)
			segs[k] = make([]string, len(shop))
			for x, i := range idx {
				last := float64(d) - since[x]
				got := [3]int{thr[k].score(0, last), thr[k].score(1, orders[x]), thr[k].score(2, m[x])}
				want := [3]int{int(r[x]), int(f[x]), int(mm[x])}
				if got != want {
					t.Fatalf("seed %d night −%d customer %s: scores %v, from scratch %v", seed, k+1, shop[i].ID, got, want)
				}
				segs[k][i] = segmentOf(DefaultRules, want[0], want[1], want[2])
			}
		}
		r, f, mm := quintileScores(c.daysSince, false), quintileScores(c.orders, true), quintileScores(cts, true)
		tonight := make([]string, len(shop))
		for i := range tonight {
			tonight[i] = segmentOf(DefaultRules, int(r[i]), int(f[i]), int(mm[i]))
		}
		past, err := n.segmentHistory(DefaultRules, c, cts, tonight)
		if err != nil {
			t.Fatal(err)
		}
		// Some customers must take the shortcut for steady states, or the
		// comparison below does not test it.
		steady := 0
		if bands, ok := thresholdBands(thr); ok {
			for i := range shop {
				if n.entOff[i+1] == n.entOff[i] && bands.holds(now[i]) {
					steady++
				}
			}
		}
		if steady == 0 {
			t.Errorf("seed %d: no customer is steady over the lookback", seed)
		}
		for i := range shop {
			if past.previous[i] != segs[0][i] {
				t.Fatalf("seed %d %s: previous %q, want %q", seed, shop[i].ID, past.previous[i], segs[0][i])
			}
			want, capped := int32(runDay), false
			for k := 0; k < lookback && segs[k][i] == tonight[i]; k++ {
				want, capped = int32(runDay-1-k), k == lookback-1
			}
			if past.since[i] != want || past.capped[i] != capped {
				t.Fatalf("seed %d %s: since %d capped %v, want %d %v", seed, shop[i].ID, past.since[i], past.capped[i], want, capped)
			}
		}
	}
}

// TestRankTreeForms: the dense form (integers over a narrow span) and the
// sorted one hold the same values and give every value the same rank and
// membership, so the nights' thresholds cannot depend on which is used.
func TestRankTreeForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name      string
		gen       func() float64
		wantDense bool
	}{
		{"days", func() float64 { return float64(19000 + rng.IntN(1100)) }, true},
		{"order counts", func() float64 { return float64(1 + rng.IntN(8)) }, true},
		{"signed cents", func() float64 { return float64(rng.IntN(20001) - 10000) }, true},
		{"sparse cents", func() float64 { return float64(rng.Int64N(1 << 40)) }, false},
		{"fractions", func() float64 { return float64(rng.IntN(100)) / 8 }, false},
		{"negative zero", func() float64 {
			if rng.IntN(10) == 0 {
				return math.Copysign(0, -1)
			}
			return float64(rng.IntN(50))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := make([]float64, 3000)
			for i := range vals {
				vals[i] = tt.gen()
			}
			sorted := slices.Compact(slices.Sorted(slices.Values(vals)))
			tree := newRankTree(slices.Clone(vals), vals)
			if dense := tree.words != nil; dense != tt.wantDense {
				t.Fatalf("dense form %v, want %v", dense, tt.wantDense)
			}
			if !slices.Equal(tree.vals, sorted) {
				t.Fatalf("values differ from the sorted distinct ones")
			}
			probes := append(slices.Clone(vals), sorted[0]-1, sorted[len(sorted)-1]+1, sorted[0]+0.5, 1e300)
			for _, v := range probes {
				i, ok := tree.rank(v)
				wi, wok := slices.BinarySearch(sorted, v)
				if i != wi || ok != wok {
					t.Fatalf("rank(%v) = %d, %v; want %d, %v", v, i, ok, wi, wok)
				}
			}
			for k := int32(1); k <= int32(len(vals)); k += 97 {
				if got, want := tree.kth(k), slices.Sorted(slices.Values(vals))[k-1]; got != want {
					t.Fatalf("kth(%d) = %v, want %v", k, got, want)
				}
			}
		})
	}
}
