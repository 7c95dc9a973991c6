package customersummary

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/schemas"
	"retain/stages/internal/chunked"
	"retain/stages/internal/exactsum"
)

// purchaseDay is one calendar day on which a customer ordered.
type purchaseDay struct {
	day     int32 // days since 1970-01-01 in the job's zone
	orders  int32
	revenue dayRevenue
}

// dayRevenue is a day's exact revenue (exactsum) in 8 bytes: the sum itself
// while it is a float64, which it is for every day of one order and for
// most others, or else, NaN-boxed, the index of its exactsum.Sum in
// customers.spill. Amounts are never NaN, so the two cannot be confused.
type dayRevenue uint64

const spillTag = 0x7ff8_0000_0000_0000 // a quiet NaN; the low 51 bits index spill

// customer is one customer's slot. It holds no pointer, nor does any other
// part of the state that grows with customers or days, so the collector
// has nothing of it to scan: the id is a range of customers.idBytes, the
// purchase days a run of customers.pool, and country and channel indexes
// into customers.names.
type customer struct {
	firstTS, lastTS int64
	orders          int64
	idOff           int64
	idLen           uint32
	// days is the pool's run at dayOff, dayLen long, sorted by day; the
	// run's capacity is dayLen rounded up to a run size (see runSize).
	dayOff, dayLen   uint32
	country, channel uint32 // of the latest order; 0 is null
}

// customers is the per-customer state: no per-order data is kept. Besides
// a handful of numbers per customer (the 56-byte slot, the id's bytes and
// 11 to 21 bytes of index), the only growing part is the sorted list of
// distinct purchase days, 16 bytes a day (and 24 more for a day whose
// exact revenue is not a float64), which BTYD frequency and the activity
// table need when input is not sorted by time. A customer's revenue is the
// exact sum of its days', taken when it is written.
type customers struct {
	// slots are updated in place as orders fold in, so they stay in
	// chunks rather than move at every doubling.
	slots   chunked.Slice[customer]
	idBytes []byte
	index   idIndex
	pool    dayPool
	spill   []exactsum.Sum
	// names interns countries and channels: a shop has few distinct
	// values and a million customers share them. names[0] is null.
	names     []string
	nameIndex map[string]uint32
	refunds   refundState
	// spans are the cells of order_cells that hold more than one purchase
	// day, keyed by spanKey of the customer and the cell's first day, whose
	// purchase day stands for the whole cell; nil until a warehouse sends
	// one, so a fold of orders never looks here.
	spans map[uint64]span
	// err is the first inconsistency add found in what a warehouse sent.
	err  error
	sink uint64 // keeps prefetch's reads from being optimised away
	// run is the worker's orders of a batch on their way to addAll.
	run []order
}

// newCustomers is an empty state whose index hashes ids with seed.
func newCustomers(seed maphash.Seed) *customers {
	c := &customers{names: []string{""}, nameIndex: map[string]uint32{}}
	c.index.seed = seed
	c.index.init(1 << 16)
	return c
}

func (c *customers) len() int { return c.slots.Len() }

// bytes is what the state's arrays hold, capacity included, but for the
// names and refunds, which do not grow with customers.
func (c *customers) bytes() int {
	return c.slots.Cap()*int(unsafe.Sizeof(customer{})) + cap(c.idBytes) + cap(c.index.entries)*8 +
		c.pool.len()*int(unsafe.Sizeof(purchaseDay{})) + cap(c.spill)*int(unsafe.Sizeof(exactsum.Sum{}))
}

// id is customer slot k's id. It points into idBytes, which must not grow
// while the string is in use: Finish reads ids once every order is folded.
func (c *customers) id(k int32) string {
	s := c.slots.At(int(k))
	if s.idLen == 0 {
		return ""
	}
	return unsafe.String(&c.idBytes[s.idOff], s.idLen)
}

// days is customer slot k's purchase days, valid until the next add.
func (c *customers) days(k int32) []purchaseDay {
	s := c.slots.At(int(k))
	return c.pool.run(s.dayOff, s.dayLen)
}

func (c *customers) country(k int32) string { return c.names[c.slots.At(int(k)).country] }
func (c *customers) channel(k int32) string { return c.names[c.slots.At(int(k)).channel] }

func (c *customers) intern(s string, valid bool) uint32 {
	if !valid || s == "" {
		return 0
	}
	if v, ok := c.nameIndex[s]; ok {
		return v
	}
	v := uint32(len(c.names))
	c.names = append(c.names, strings.Clone(s))
	c.nameIndex[c.names[v]] = v
	return v
}

// reintern is intern(s, valid) for a customer whose value is names[cur]:
// most orders name the country (and often the channel) of the one before,
// which a string compare confirms without the map lookup.
func (c *customers) reintern(cur uint32, s string, valid bool) uint32 {
	if valid && cur != 0 && c.names[cur] == s {
		return cur
	}
	return c.intern(s, valid)
}

// order is one used order as the stage reads it, or, from a warehouse that
// folded them, all used orders of a customer on one day.
type order struct {
	customer string
	hash     uint64 // of customer, with the index's seed
	// ts and lastTS are the first and last order time; equal for one order.
	ts, lastTS int64
	day        int32
	orders     int32
	amount     exactsum.Sum
	country    string
	channel    string
	hasCtry    bool
	hasChan    bool
}

// span is a cell of order_cells over several purchase days.
type span struct{ last, days int32 }

func spanKey(k, day int32) uint64 { return uint64(uint32(k))<<32 | uint64(uint32(day)) }

// ErrMixedCells is wrapped when a customer's folded cells and its orders
// overlap: the warehouse folds every used order of a customer or none, so
// a day both hold would be counted twice, or a cell's days would be
// unknown.
var ErrMixedCells = errors.New("a customer's folded cells overlap its other orders")

// addCell folds a cell of order_cells, o's day being its first purchase
// day, last its last and days the distinct purchase days it holds.
func (c *customers) addCell(o order, last, days int32) {
	multi := days > 1 || last != o.day
	if multi && c.spans == nil {
		c.spans = map[uint64]span{}
	}
	k, i, merged := c.add(o)
	if merged {
		c.fail(fmt.Errorf("%w: customer %q, day %d", ErrMixedCells, o.customer, o.day))
		return
	}
	if multi {
		c.spans[spanKey(k, o.day)] = span{last: last, days: days}
		if d := c.days(k); i+1 < len(d) && d[i+1].day <= last {
			c.fail(fmt.Errorf("%w: customer %q, day %d", ErrMixedCells, o.customer, d[i+1].day))
		}
	}
}

func (c *customers) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// checkSpans fails the state when the purchase day at i of customer k lies
// inside a folded cell: the one before it, or its own when merged says the
// day was one already.
func (c *customers) checkSpans(k int32, i int, merged bool) {
	d := c.days(k)
	if _, ok := c.spans[spanKey(k, d[i].day)]; ok && merged {
		c.fail(fmt.Errorf("%w: customer %q, day %d", ErrMixedCells, c.id(k), d[i].day))
		return
	}
	if i == 0 {
		return
	}
	if sp, ok := c.spans[spanKey(k, d[i-1].day)]; ok && sp.last >= d[i].day {
		c.fail(fmt.Errorf("%w: customer %q, day %d", ErrMixedCells, c.id(k), d[i].day))
	}
}

// lastDay is customer slot k's last purchase day.
func (c *customers) lastDay(k int32) int32 {
	d := c.days(k)
	return c.spanOf(k, d[len(d)-1].day).last
}

// spanOf is the last day and purchase-day count of customer slot k's
// entry for day: the day alone unless it starts a folded cell.
func (c *customers) spanOf(k, day int32) span {
	if c.spans != nil {
		if sp, ok := c.spans[spanKey(k, day)]; ok {
			return sp
		}
	}
	return span{last: day, days: 1}
}

// purchaseDays is customer slot k's distinct purchase days.
func (c *customers) purchaseDays(k int32) int64 {
	d := c.days(k)
	n := int64(len(d))
	if c.spans != nil {
		for _, p := range d {
			n += int64(c.spanOf(k, p.day).days) - 1
		}
	}
	return n
}

// add folds an order (or a customer's cell of orders) into its customer's
// state, and says where: the customer's slot, the index of the order's
// purchase day, and whether that day was one already.
func (c *customers) add(o order) (k int32, i int, merged bool) {
	k, found := c.lookup(o.customer, o.hash)
	if !found {
		c.slots.Append(customer{
			firstTS: o.ts, lastTS: o.lastTS, orders: int64(o.orders),
			idOff: int64(len(c.idBytes)), idLen: uint32(len(o.customer)),
			country: c.intern(o.country, o.hasCtry), channel: c.intern(o.channel, o.hasChan),
		})
		// The id's bytes belong to an Arrow buffer that is released after
		// the batch; the arena keeps a copy.
		c.idBytes = append(c.idBytes, o.customer...)
		s := c.slots.At(int(k))
		s.dayOff = c.pool.alloc(0)
		s.dayLen = 1
		c.pool.run(s.dayOff, 1)[0] = c.newDay(o)
		return k, 0, false
	}
	s := c.slots.At(int(k))
	s.orders += int64(o.orders)
	s.firstTS = min(s.firstTS, o.ts)
	if c.latest(s, o) {
		s.lastTS = o.lastTS
		s.country = c.reintern(s.country, o.country, o.hasCtry)
		s.channel = c.reintern(s.channel, o.channel, o.hasChan)
	}
	d := c.days(k)
	switch last := &d[len(d)-1]; {
	case o.day == last.day:
		c.addToDay(last, o)
		i, merged = len(d)-1, true
	case o.day > last.day:
		c.insertDay(s, len(d), c.newDay(o))
		i = len(d)
	default:
		var seen bool
		i, seen = slices.BinarySearchFunc(d, o.day, func(p purchaseDay, day int32) int { return cmp.Compare(p.day, day) })
		if seen {
			c.addToDay(&d[i], o)
			merged = true
		} else {
			c.insertDay(s, i, c.newDay(o))
		}
	}
	if c.spans != nil {
		c.checkSpans(k, i, merged)
	}
	return k, i, merged
}

// prefetchRows is how many orders addAll reads ahead for at a time.
const prefetchRows = 128

// addAll is add for each of os in turn. A state of a million customers
// lives far outside the CPU caches, and add waits out a memory round trip
// for each of the index entry, the slot, the id and the last purchase day,
// one after the other; reading each of them ahead for a run of orders, in
// tight loops of independent reads, keeps dozens in flight, so add finds
// them cached.
func (c *customers) addAll(os []order) {
	for len(os) > 0 {
		n := min(len(os), prefetchRows)
		c.prefetch(os[:n])
		for i := range os[:n] {
			c.add(os[i])
		}
		os = os[n:]
	}
}

// prefetch reads what add of each of os (at most prefetchRows) will read:
// the home entries first, then the slots of the customers they name, then
// those customers' ids and last days. It changes nothing; a customer
// whose entry is not at home is left to add.
func (c *customers) prefetch(os []order) {
	var ks [prefetchRows]int32
	x := &c.index
	var sink uint64
	for i := range os {
		sink ^= x.entries[os[i].hash&x.mask]
	}
	for i := range os {
		ks[i] = -1
		if e := x.entries[os[i].hash&x.mask]; e != 0 && e&^lowHalf == os[i].hash&^lowHalf {
			ks[i] = int32(e&lowHalf) - 1
			sink ^= uint64(c.slots.At(int(ks[i])).idLen)
		}
	}
	for i := range os {
		if k := ks[i]; k >= 0 {
			s := c.slots.At(int(k))
			if s.idLen > 0 {
				sink ^= uint64(c.idBytes[s.idOff])
			}
			sink ^= uint64(c.pool.run(s.dayOff, s.dayLen)[s.dayLen-1].day)
		}
	}
	c.sink ^= sink
}

// insertDay puts day at position i of slot s's days, moving them to the
// next run size when theirs is full.
func (c *customers) insertDay(s *customer, i int, day purchaseDay) {
	n := s.dayLen
	if class := runClass(n); runSize(class) == n { // the run is full
		off := c.pool.alloc(class + 1)
		copy(c.pool.run(off, n), c.pool.run(s.dayOff, n))
		c.pool.release(s.dayOff, class)
		s.dayOff = off
	}
	d := c.pool.run(s.dayOff, n+1)
	copy(d[i+1:], d[i:n])
	d[i] = day
	s.dayLen = n + 1
}

// latest reports whether o names slot s's country and channel rather than
// the orders before it: the greatest order time, then the
// greatest country, then the greatest channel, null lowest (null is
// interned as "", below every other value). So the same orders in any
// order name the same ones.
func (c *customers) latest(s *customer, o order) bool {
	if o.lastTS != s.lastTS {
		return o.lastTS > s.lastTS
	}
	ctry, ch := "", ""
	if o.hasCtry {
		ctry = o.country
	}
	if o.hasChan {
		ch = o.channel
	}
	if r := strings.Compare(ctry, c.names[s.country]); r != 0 {
		return r > 0
	}
	return ch > c.names[s.channel]
}

func (c *customers) newDay(o order) purchaseDay {
	d := purchaseDay{day: o.day, orders: o.orders}
	c.setRevenue(&d, o.amount)
	return d
}

func (c *customers) addToDay(d *purchaseDay, o order) {
	d.orders += o.orders
	if d.revenue&spillTag == spillTag {
		c.spill[d.revenue&^spillTag].Merge(o.amount)
		return
	}
	s := c.revenueOf(*d)
	s.Merge(o.amount)
	c.setRevenue(d, s)
}

// setRevenue stores s as d's revenue: as a float64 when it is one exactly.
func (c *customers) setRevenue(d *purchaseDay, s exactsum.Sum) {
	if f := s.Float64(); exactsum.Of(f) == s {
		d.revenue = dayRevenue(math.Float64bits(f))
		return
	}
	d.revenue = dayRevenue(spillTag | uint64(len(c.spill)))
	c.spill = append(c.spill, s)
}

// revenueOf is d's exact revenue.
func (c *customers) revenueOf(d purchaseDay) exactsum.Sum {
	if d.revenue&spillTag == spillTag {
		return c.spill[d.revenue&^spillTag]
	}
	return exactsum.Of(math.Float64frombits(uint64(d.revenue)))
}

// revenueFloat is d's revenue as a float64, revenueOf(d).Float64(): a day
// kept as a float64 is that sum's value already.
func (c *customers) revenueFloat(d purchaseDay) float64 {
	if d.revenue&spillTag == spillTag {
		return c.spill[d.revenue&^spillTag].Float64()
	}
	return math.Float64frombits(uint64(d.revenue))
}

// totalOf is customer slot k's exact revenue over all days.
func (c *customers) totalOf(k int32) exactsum.Sum {
	var t exactsum.Sum
	for _, d := range c.days(k) {
		t.Merge(c.revenueOf(d))
	}
	return t
}

// idIndex finds customer slots by id: open addressing with linear probing
// over entries that are the id hash's high 32 bits and slot+1 (0 is
// empty), so a probe rarely reads an id that is not the one sought.
type idIndex struct {
	entries []uint64
	mask    uint64
	n       int
	seed    maphash.Seed
}

const lowHalf = 1<<32 - 1

func (x *idIndex) init(size int) {
	x.entries = make([]uint64, size)
	x.mask = uint64(size - 1)
	x.n = 0
}

// lookup is the slot of customer id, or, when it has none, the slot it
// gets when the caller appends it, which the index then already names.
func (c *customers) lookup(id string, h uint64) (int32, bool) {
	x := &c.index
	if (x.n+1)*4 >= len(x.entries)*3 {
		c.growIndex()
	}
	tag := h &^ lowHalf
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		e := x.entries[i]
		if e == 0 {
			k := int32(c.slots.Len())
			x.entries[i] = tag | uint64(k+1)
			x.n++
			return k, false
		}
		if e&^lowHalf == tag {
			if k := int32(e&lowHalf) - 1; c.id(k) == id {
				return k, true
			}
		}
	}
}

// find is the slot of customer id, without adding it.
func (c *customers) find(id string) (int32, bool) {
	x := &c.index
	h := maphash.String(x.seed, id)
	tag := h &^ lowHalf
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		e := x.entries[i]
		if e == 0 {
			return 0, false
		}
		if e&^lowHalf == tag {
			if k := int32(e&lowHalf) - 1; c.id(k) == id {
				return k, true
			}
		}
	}
}

// growIndex doubles the index, hashing every id again: the entries keep
// only the hash's high half.
func (c *customers) growIndex() {
	old := c.index.entries
	c.index.init(len(old) * 2)
	x := &c.index
	for _, e := range old {
		if e == 0 {
			continue
		}
		h := maphash.String(x.seed, c.id(int32(e&lowHalf)-1))
		for i := h & x.mask; ; i = (i + 1) & x.mask {
			if x.entries[i] == 0 {
				x.entries[i] = e
				break
			}
		}
		x.n++
	}
}

// dayPool holds every customer's purchase days in chunks of 1<<shift days
// each, in runs of 1, 2, 3, 4, 6, 8, 12, 16, … days (a power of two or
// three times one, see runSize): a customer whose run is full moves to the
// next size, and the old run is reused by the next customer that needs one
// of its size. Runs grow by 1.5× and 1.33× in turn, so they are on average
// some 85% full where runs of powers of two are some 70%; and the pool
// grows a chunk at a time, never by copying itself into an array 1.25
// times as long beside the old one. An offset is the chunk's index
// shifted left by shift, plus the run's place in it.
type dayPool struct {
	// chunks[i] starts at offset i<<shift. A run longer than a chunk
	// has an array of its own, named by as many entries as it spans,
	// each the rest of that array from where the entry starts.
	chunks [][]purchaseDay
	shift  uint
	// used is how much of the last chunk runs took.
	used uint32
	free [64][]uint32 // offsets of released runs, by runClass
}

// defaultChunkShift makes chunks of 65,536 days, 1 MiB.
const defaultChunkShift = 16

// runSize is how many days a run of class c holds: 1, 2, 3, 4, 6, 8, 12, …
func runSize(c uint) uint32 {
	switch {
	case c == 0:
		return 1
	case c%2 == 1:
		return 1 << ((c + 1) / 2)
	default:
		return 3 << (c/2 - 1)
	}
}

// runClass is the least class whose runs hold n days (n ≥ 1).
func runClass(n uint32) uint {
	if n <= 2 {
		return uint(n - 1)
	}
	b := uint(bits.Len32(n - 1)) // 1<<(b-1) < n <= 1<<b
	if uint64(n) <= 3<<(b-2) {
		return 2*b - 2
	}
	return 2*b - 1
}

// run is the n days at offset off.
func (p *dayPool) run(off, n uint32) []purchaseDay {
	mask := uint32(1)<<p.shift - 1
	at := off & mask
	return p.chunks[off>>p.shift][at : at+n : at+n]
}

// len is how many days the pool's chunks hold.
func (p *dayPool) len() int { return len(p.chunks) << p.shift }

// alloc is the offset of a run of class c.
func (p *dayPool) alloc(c uint) uint32 {
	if f := p.free[c]; len(f) > 0 {
		off := f[len(f)-1]
		p.free[c] = f[:len(f)-1]
		return off
	}
	if p.shift == 0 {
		p.shift = defaultChunkShift
	}
	size, chunk := runSize(c), uint32(1)<<p.shift
	if size > chunk {
		// An array of its own, spanning whole chunks' offsets.
		spans := (size + chunk - 1) / chunk
		big := make([]purchaseDay, spans*chunk)
		off := uint32(len(p.chunks)) << p.shift
		for j := range spans {
			p.chunks = append(p.chunks, big[j*chunk:])
		}
		// The next small run opens a chunk of its own.
		p.used = chunk
		return off
	}
	if len(p.chunks) == 0 || p.used+size > chunk {
		// What is left of the last chunk goes to the free runs of the
		// largest sizes that fit, so no day of it is lost.
		for len(p.chunks) > 0 && p.used < chunk {
			k := runClass(chunk - p.used + 1)
			for runSize(k) > chunk-p.used {
				k--
			}
			p.release(uint32(len(p.chunks)-1)<<p.shift|p.used, k)
			p.used += runSize(k)
		}
		p.chunks = append(p.chunks, make([]purchaseDay, chunk))
		p.used = 0
	}
	off := uint32(len(p.chunks)-1)<<p.shift | p.used
	p.used += size
	return off
}

func (p *dayPool) release(off uint32, c uint) { p.free[c] = append(p.free[c], off) }

// pendingRefund is a refunds row, kept until every order is folded: the
// engine gives no order among input tables, and a refund is netted on its
// order's purchase day, which must exist by then.
type pendingRefund struct {
	customer string
	day      int32
	amount   float64
	runDate  float64
	// periodLater is the part of amount refunded after the same day of
	// the previous kpis.period.
	periodLater float64
}

// dayRefund is what a customer's orders of one day had refunded.
type dayRefund struct {
	customer int32
	day      int32
	orders   int64
	amount   exactsum.Sum
	// runDate is the part of amount refunded on the run date,
	// periodLater the part refunded after the same day of the previous
	// kpis.period.
	runDate, periodLater exactsum.Sum
}

// refundTotals are a customer's refunds over all days.
type refundTotals struct {
	amount exactsum.Sum
	orders int64
}

// refundState holds refunds apart from the purchase days, which stay 16
// bytes each: few customers have refunds, and every one of them would pay
// for a field in each of their days.
type refundState struct {
	pending []pendingRefund
	days    []dayRefund        // sorted by customer slot and day
	ranges  map[int32][2]int32 // a customer slot's entries in days
}

func (s *stage) addRefunds(rec arrow.Record) {
	col := func(name string) arrow.Array { return rec.Column(schemas.Refunds.MustIndex(name)) }
	ids := col("customer_id").(*array.String)
	days := col("order_date").(*array.Date32).Date32Values()
	amounts := col("refunded_amount").(*array.Float64).Float64Values()
	runDate := col("run_date_refunded_amount").(*array.Float64).Float64Values()
	later := col("period_day_later_refunded_amount").(*array.Float64).Float64Values()
	for i := range days {
		s.refunds = append(s.refunds, pendingRefund{customer: strings.Clone(ids.Value(i)), day: int32(days[i]), amount: amounts[i], runDate: runDate[i], periodLater: later[i]})
	}
}

// ErrRefundOfUnknownDay is wrapped when a refund names a customer or day
// without a used order, which validation rules out.
var ErrRefundOfUnknownDay = errors.New("refund of a day without used orders")

// settleRefunds files the pending refunds under their customers and days.
func (c *customers) settleRefunds() error {
	r := &c.refunds
	for _, p := range r.pending {
		k, found := c.find(p.customer)
		if !found {
			return fmt.Errorf("%w: customer %q has no used order", ErrRefundOfUnknownDay, p.customer)
		}
		// The day is an entry's, or inside a folded cell that starts
		// before it.
		days := c.days(k)
		i, seen := slices.BinarySearchFunc(days, p.day, func(d purchaseDay, day int32) int { return cmp.Compare(d.day, day) })
		if !seen && (i == 0 || c.spanOf(k, days[i-1].day).last < p.day) {
			return fmt.Errorf("%w: customer %q has no used order on day %d", ErrRefundOfUnknownDay, p.customer, p.day)
		}
		r.days = append(r.days, dayRefund{customer: k, day: p.day, orders: 1, amount: exactsum.Of(p.amount), runDate: exactsum.Of(p.runDate), periodLater: exactsum.Of(p.periodLater)})
	}
	r.pending = nil
	slices.SortFunc(r.days, func(a, b dayRefund) int {
		if c := cmp.Compare(a.customer, b.customer); c != 0 {
			return c
		}
		return cmp.Compare(a.day, b.day)
	})
	merged := r.days[:0]
	for _, d := range r.days {
		if n := len(merged); n > 0 && merged[n-1].customer == d.customer && merged[n-1].day == d.day {
			merged[n-1].orders += d.orders
			merged[n-1].amount.Merge(d.amount)
			merged[n-1].runDate.Merge(d.runDate)
			merged[n-1].periodLater.Merge(d.periodLater)
			continue
		}
		merged = append(merged, d)
	}
	r.days = merged
	r.ranges = map[int32][2]int32{}
	for i := 0; i < len(merged); {
		j := i
		for j < len(merged) && merged[j].customer == merged[i].customer {
			j++
		}
		r.ranges[merged[i].customer] = [2]int32{int32(i), int32(j)}
		i = j
	}
	return nil
}

// refundsOf is customer slot k's refunds over all days.
func (c *customers) refundsOf(k int32) refundTotals {
	var t refundTotals
	rg, ok := c.refunds.ranges[k]
	if !ok {
		return t
	}
	for _, d := range c.refunds.days[rg[0]:rg[1]] {
		t.amount.Merge(d.amount)
		t.orders += d.orders
	}
	return t
}

// refundDays is customer slot k's refunded days, sorted by day.
func (c *customers) refundDays(k int32) []dayRefund {
	rg, ok := c.refunds.ranges[k]
	if !ok {
		return nil
	}
	return c.refunds.days[rg[0]:rg[1]]
}

// dayRefund is customer slot k's refunds of its orders of day.
func (c *customers) dayRefund(k, day int32) dayRefund {
	rg, ok := c.refunds.ranges[k]
	if !ok {
		return dayRefund{}
	}
	for _, d := range c.refunds.days[rg[0]:rg[1]] {
		if d.day == day {
			return d
		}
	}
	return dayRefund{}
}
