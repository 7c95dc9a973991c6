package segments

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"retain/calendar"

	"retain/schemas"
	"retain/stages/internal/chunked"
	"retain/stages/internal/history"
)

// nights keeps, per customer in customer order, what it takes to know the
// customer's R, F and M on each night of the lookback: the state at the
// lookback's first night (base) and the purchase days after it with the
// totals they bring (entries). Customers without orders in the lookback
// hold no entries, which keeps memory near one row per customer.
type nights struct {
	runDay, firstNight int32 // firstNight = runDay − lookback
	// idHash is each customer's id hashed, enough to check that
	// customer_periods lines up with customer_summary at 8 bytes a
	// customer instead of a copy of every id.
	idHash []uint64
	seed   maphash.Seed
	base   []state
	entOff []int32 // entries of customer i: entOff[i]:entOff[i+1]
	ent    []state
	// building holds the four slices while visit fills them, a customer
	// at a time; join hands them over.
	building struct {
		idHash chunked.Slice[uint64]
		base   chunked.Slice[state]
		entOff chunked.Slice[int32]
		ent    chunked.Slice[state]
	}
}

// state is a customer as of one night: the last purchase day (R, later is
// better, which orders customers like fewer days since it), orders (F) and
// revenue in cents (M).
type state struct {
	last   int32
	orders float64
	cents  float64
}

func newNights(runDay int32, lookback int) *nights {
	n := &nights{runDay: runDay, firstNight: runDay - int32(lookback), seed: maphash.MakeSeed()}
	n.building.entOff.Append(0)
	return n
}

// join ends the visits: the slices visit built are the ones the nights
// are read from. The readers below call it, so it may run more than once;
// every visit comes before the first.
func (n *nights) join() {
	b := &n.building
	if b.entOff.Len() == 0 {
		return
	}
	n.idHash, n.base, n.entOff, n.ent = b.idHash.Join(), b.base.Join(), b.entOff.Join(), b.ent.Join()
}

func date(day int32) string { return calendar.Date(day).Format(time.DateOnly) }

func cents(v float64) float64 { return math.Round(v * 100) }

// visit records one customer of customer_periods. Totals are summed cell
// by cell, in time order, as a run for that night sums its days. The grid
// (stages/internal/periods) ends a cell on the lookback's first night and
// makes every later day a cell of its own, so the base is the cells up to
// that night (history.Cells.Upto, the one definition of "as of a night")
// and each later cell is one purchase day: one entry, dated its day.
func (n *nights) visit(c *history.Cells) error {
	bu := &n.building
	bu.idHash.Append(maphash.String(n.seed, c.ID))
	k := c.Upto(n.firstNight)
	var orders, revenue float64
	for i := 0; i < k; i++ {
		orders += float64(c.Orders[i])
		revenue += c.Revenue[i]
	}
	b := state{last: -1}
	if k > 0 {
		b = state{last: c.Last[k-1], orders: orders, cents: cents(revenue)}
	}
	bu.base.Append(b)
	for i := max(k-1, 0); i < len(c.First); i++ {
		// A cell across the lookback's first night, or of several of its
		// nights, would date totals to the wrong night.
		if c.Last[i] > n.firstNight && c.First[i] != c.Last[i] {
			return fmt.Errorf("%s: customer %q has a cell from %s to %s, across nights segments replays one by one (the lookback from %s)",
				schemas.CustomerPeriods.Name, c.ID, date(c.First[i]), date(c.Last[i]), date(n.firstNight))
		}
		if i < k {
			continue
		}
		orders += float64(c.Orders[i])
		revenue += c.Revenue[i]
		bu.ent.Append(state{last: c.Last[i], orders: orders, cents: cents(revenue)})
	}
	bu.entOff.Append(int32(bu.ent.Len()))
	return nil
}

// thresholds are one night's four order statistics per dimension: a value
// scores 1 + the number of them it is strictly better than.
type thresholds struct {
	n   int
	thr [3][4]float64
	// same: the night's thresholds are the next (later) night's, so a
	// customer whose state did not change between them keeps its scores.
	same bool
}

func (t *thresholds) score(dim int, v float64) int {
	if t.n <= 1 {
		return 1
	}
	s := 1
	for _, x := range t.thr[dim] {
		if v > x {
			s++
		}
	}
	return s
}

// rankTree counts values by rank (a Fenwick tree over the sorted distinct
// values of one dimension), so each night's order statistics are a few
// descents instead of a sort.
type rankTree struct {
	vals []float64
	bit  []int32
	logN int
	// The dense form, when every value is an integer within a span not
	// much wider than their number, as last days, order counts and cents
	// are: a bitmap of the values over [lo, lo+64·len(words)) and the set
	// bits before each word, so a value's rank is a popcount, not a
	// binary search, and the sorted values come from the bitmap, not a
	// sort.
	lo     int64
	words  []uint64
	before []int32
}

// newRankTree makes the tree over vals (which it may sort) and counts the
// values of initial once each, building the sums in one pass rather than
// by one update per value.
func newRankTree(vals []float64, initial []float64) *rankTree {
	t := &rankTree{}
	if !t.dense(vals) {
		slices.Sort(vals)
		t.vals = slices.Compact(vals)
	}
	t.bit = make([]int32, len(t.vals)+1)
	for 1<<(t.logN+1) <= len(t.vals) {
		t.logN++
	}
	for _, v := range initial {
		i, _ := t.rank(v)
		t.bit[i+1]++
	}
	for i := 1; i < len(t.bit); i++ {
		if j := i + i&-i; j < len(t.bit) {
			t.bit[j] += t.bit[i]
		}
	}
	return t
}

// dense sets t's values in the dense form and reports whether vals allow
// it: integers (no −0, which the bitmap could not tell from 0) of at most
// 2^53 in magnitude, over a span of at most 16 per value.
func (t *rankTree) dense(vals []float64) bool {
	if len(vals) == 0 {
		return false
	}
	const exact = 1 << 53
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		if v != math.Trunc(v) || v < -exact || v > exact || v == 0 && math.Signbit(v) {
			return false
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	span := int64(hi) - int64(lo) + 1
	if span > 16*int64(len(vals))+4096 {
		return false
	}
	t.lo = int64(lo)
	t.words = make([]uint64, (span+63)/64)
	for _, v := range vals {
		x := int64(v) - t.lo
		t.words[x>>6] |= 1 << (x & 63)
	}
	t.before = make([]int32, len(t.words))
	n := int32(0)
	for w, word := range t.words {
		t.before[w] = n
		n += int32(bits.OnesCount64(word))
	}
	t.vals = make([]float64, 0, n)
	for w, word := range t.words {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			t.vals = append(t.vals, float64(t.lo+int64(w)<<6+int64(b)))
			word &= word - 1
		}
	}
	return true
}

// rank is v's index in the sorted values, and whether v is one of them.
func (t *rankTree) rank(v float64) (int, bool) {
	if t.words == nil {
		return slices.BinarySearch(t.vals, v)
	}
	if v != math.Trunc(v) || v < float64(t.lo) || v >= float64(t.lo)+float64(64*len(t.words)) {
		i, _ := slices.BinarySearch(t.vals, v)
		return i, false
	}
	x := int64(v) - t.lo
	word := t.words[x>>6]
	below := word & (1<<(x&63) - 1)
	return int(t.before[x>>6]) + bits.OnesCount64(below), word>>(x&63)&1 == 1
}

func (t *rankTree) add(v float64, d int32) {
	i, ok := t.rank(v)
	if !ok {
		panic(fmt.Sprintf("segments: value %v not in the rank tree", v))
	}
	for i++; i < len(t.bit); i += i & -i {
		t.bit[i] += d
	}
}

// kth is the k-th smallest value counted, k from 1.
func (t *rankTree) kth(k int32) float64 {
	pos := 0
	for step := 1 << t.logN; step > 0; step >>= 1 {
		if next := pos + step; next < len(t.bit) && t.bit[next] < k {
			pos = next
			k -= t.bit[next]
		}
	}
	return t.vals[pos]
}

func (s state) dim(d int) float64 {
	switch d {
	case 0:
		return float64(s.last)
	case 1:
		return s.orders
	}
	return s.cents
}

// at is customer i's state on night d (firstNight ≤ d < runDay), false when
// the customer had not ordered by then; j is the customer's number of
// entries on or before d, which callers walking back nights keep.
func (n *nights) at(i int, j int32, now state) (state, bool) {
	lo, hi := n.entOff[i], n.entOff[i+1]
	switch {
	case lo+j == hi:
		return now, true
	case j > 0:
		return n.ent[lo+j-1], true
	case n.base[i].last >= 0:
		return n.base[i], true
	}
	return state{}, false
}

// nightThresholds walks the nights from runDay − 1 back to firstNight and
// returns each night's thresholds (index runDay − 1 − d). Tonight's states
// come from customer_summary so that a customer without orders after a
// night has exactly tonight's values there; recency is last-day based, in
// which a customer's value does not move from night to night.
func (n *nights) nightThresholds(now []state) []thresholds {
	n.join()
	count := int(n.runDay - n.firstNight)
	out := make([]thresholds, count)
	// Events by day, counting-sorted: the customers with an entry on day
	// firstNight + 1 + k, with its index; stepping from that night to the
	// one before replaces the state the entry starts by the state before it.
	type event struct{ i, j int32 }
	dayOff := make([]int32, count+1)
	for _, e := range n.ent {
		dayOff[e.last-n.firstNight]++
	}
	for k := 1; k <= count; k++ {
		dayOff[k] += dayOff[k-1]
	}
	events := make([]event, len(n.ent))
	fill := slices.Clone(dayOff[:count])
	for i := range now {
		lo := n.entOff[i]
		for j := lo; j < n.entOff[i+1]; j++ {
			k := n.ent[j].last - n.firstNight - 1
			events[fill[k]] = event{int32(i), j - lo}
			fill[k]++
		}
	}
	// Customers counted per night: one fewer for each whose first purchase
	// day is the night after.
	total := int32(len(now))
	for k := 0; k < count; k++ {
		day := n.runDay - 1 - int32(k) - n.firstNight
		for _, e := range events[dayOff[day]:dayOff[day+1]] {
			if _, ok := n.at(int(e.i), e.j, now[e.i]); !ok {
				total--
			}
		}
		out[k].n = int(total)
	}
	// The three dimensions' trees are independent, each walked back over
	// every night on a goroutine of its own.
	var wg sync.WaitGroup
	for dim := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			initial := make([]float64, len(now))
			vals := make([]float64, 0, 2*len(now)+len(n.ent))
			for i := range now {
				initial[i] = now[i].dim(dim)
				vals = append(vals, now[i].dim(dim))
				if n.base[i].last >= 0 && n.entOff[i+1] > n.entOff[i] {
					vals = append(vals, n.base[i].dim(dim))
				}
			}
			for i := range now {
				for _, e := range n.ent[n.entOff[i]:max(n.entOff[i], n.entOff[i+1]-1)] {
					vals = append(vals, e.dim(dim))
				}
			}
			tree := newRankTree(vals, initial)
			for k := 0; k < count; k++ {
				// Leave night d+1 for night d: undo the entries dated d+1.
				day := n.runDay - 1 - int32(k) - n.firstNight
				for _, e := range events[dayOff[day]:dayOff[day+1]] {
					from, _ := n.at(int(e.i), e.j+1, now[e.i])
					tree.add(from.dim(dim), -1)
					if to, ok := n.at(int(e.i), e.j, now[e.i]); ok {
						tree.add(to.dim(dim), 1)
					}
				}
				if t := &out[k]; t.n >= 2 {
					for s := 2; s <= 5; s++ {
						w := (int32(s-1)*(int32(t.n)-1) + 4) / 5
						t.thr[dim][s-2] = tree.kth(w)
					}
				}
			}
		}()
	}
	wg.Wait()
	for k := 1; k < count; k++ {
		out[k].same = out[k].n == out[k-1].n && out[k].thr == out[k-1].thr
	}
	return out
}

// pastSegments are, per customer, the previous night's segment and the
// current run in tonight's segment.
type pastSegments struct {
	previous []string // "" for a customer new tonight
	since    []int32
	capped   []bool
}

// untracked are the past segments without change tracking: no previous
// segment, and a run that starts tonight, capped, since no earlier night
// was looked at.
func untracked(n int, runDay int32) pastSegments {
	out := pastSegments{previous: make([]string, n), since: make([]int32, n), capped: make([]bool, n)}
	for i := range n {
		out.since[i], out.capped[i] = runDay, true
	}
	return out
}

// segmentHistory computes, per customer, the previous night's segment and
// the first night of the current run in tonight's segment.
func (n *nights) segmentHistory(rules []Rule, c columns, cents []float64, segment []string) (pastSegments, error) {
	n.join()
	if len(n.idHash) != len(c.ids) {
		return pastSegments{}, fmt.Errorf("%s has %d customers, %s %d", schemas.CustomerPeriods.Name, len(n.idHash), schemas.CustomerSummary.Name, len(c.ids))
	}
	now := make([]state, len(c.ids))
	for i := range now {
		if n.idHash[i] != maphash.String(n.seed, c.ids[i]) {
			return pastSegments{}, fmt.Errorf("%s does not line up with %s at customer %d", schemas.CustomerPeriods.Name, schemas.CustomerSummary.Name, i)
		}
		// Tonight's state comes from customer_summary, whose scores these
		// nights must agree with; recency as the last purchase day.
		now[i] = state{last: n.runDay - int32(c.daysSince[i]), orders: c.orders[i], cents: cents[i]}
	}
	thr := n.nightThresholds(now)
	out := pastSegments{previous: make([]string, len(now)), since: make([]int32, len(now)), capped: make([]bool, len(now))}
	// Customers are walked back independently; two halves run side by side.
	var wg sync.WaitGroup
	half := len(now) / 2
	for _, r := range [][2]int{{0, half}, {half, len(now)}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.walkBack(rules, thr, now, segment, out, r[0], r[1])
		}()
	}
	wg.Wait()
	return out, nil
}

// bands are, per dimension and threshold, the least and greatest value the
// threshold takes over the lookback's nights.
type bands struct{ lo, hi [3][4]float64 }

// thresholdBands spans thr; steady is false when some night has too few
// customers to score by thresholds at all, or there are no nights.
func thresholdBands(thr []thresholds) (b bands, steady bool) {
	if len(thr) == 0 {
		return b, false
	}
	b.lo, b.hi = thr[0].thr, thr[0].thr
	for _, t := range thr {
		if t.n <= 1 {
			return b, false
		}
		for d := range 3 {
			for s := range 4 {
				b.lo[d][s], b.hi[d][s] = min(b.lo[d][s], t.thr[d][s]), max(b.hi[d][s], t.thr[d][s])
			}
		}
	}
	return b, true
}

// holds reports whether st lies on the same side of each threshold on
// every night (score counts the thresholds a value is strictly above).
func (b *bands) holds(st state) bool {
	for d := range 3 {
		v := st.dim(d)
		for s := range 4 {
			if v <= b.hi[d][s] && v > b.lo[d][s] {
				return false
			}
		}
	}
	return true
}

// walkBack fills out for customers lo to hi: the previous night's segment
// and how far back the current run in tonight's segment goes.
func (n *nights) walkBack(rules []Rule, thr []thresholds, now []state, segment []string, out pastSegments, lo, hi int) {
	band, steady := thresholdBands(thr)
	for i := lo; i < hi; i++ {
		out.since[i] = n.runDay
		j := n.entOff[i+1] - n.entOff[i]
		if j == 0 && steady && band.holds(now[i]) {
			// The state is tonight's on every night, and no night's
			// threshold falls between it and any other night's: each
			// night scores it as the first night of the lookback does.
			t := &thr[0]
			name := segmentOf(rules, t.score(0, now[i].dim(0)), t.score(1, now[i].dim(1)), t.score(2, now[i].dim(2)))
			out.previous[i] = name
			if name == segment[i] {
				out.since[i], out.capped[i] = n.runDay-int32(len(thr)), true
			}
			continue
		}
		var lastScores [3]int
		lastName := ""
		for k := range thr {
			d := n.runDay - 1 - int32(k)
			moved := false
			for j > 0 && n.ent[n.entOff[i]+j-1].last > d {
				j--
				moved = true
			}
			if k > 0 && !moved && thr[k].same {
				// Same state, same thresholds: same segment as the night after.
				out.since[i] = d
				if k == len(thr)-1 {
					out.capped[i] = true
				}
				continue
			}
			st, ok := n.at(i, j, now[i])
			if !ok {
				break
			}
			scores := [3]int{thr[k].score(0, st.dim(0)), thr[k].score(1, st.dim(1)), thr[k].score(2, st.dim(2))}
			name := lastName
			if k == 0 || scores != lastScores {
				name = segmentOf(rules, scores[0], scores[1], scores[2])
				lastScores, lastName = scores, name
			}
			if k == 0 {
				out.previous[i] = name
			}
			if name != segment[i] {
				break
			}
			out.since[i] = d
			if k == len(thr)-1 {
				out.capped[i] = true
			}
		}
	}
}
