// Package affinity is the stage that counts which products are bought in
// the same order — support, confidence and lift per pair — for bundles and
// cross-sell, in memory bounded by the number of products and a cap on
// distinct pairs rather than by orders or items.
package affinity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/handover"
	"retain/stages/internal/ids"
	"retain/stages/internal/input"
	"retain/stages/internal/itemline"
	"retain/stages/internal/quarantine"
	"retain/stages/margin/marginconfig"
)

// Register adds the affinity stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "affinity",
		Doc:     "product_affinity: pairs of SKUs bought together in used orders, with support, confidence and lift.",
		Inputs:  []string{schemas.RawItems},
		Outputs: []string{schemas.ProductAffinity.Name, schemas.Quarantine.Name},
		Needs:   []string{handover.UsedOrders.String()},
		New:     New,
	}, Section, night.InputSection, marginconfig.Section)
}

// New builds the stage for a run.
func New(_ context.Context, rc *night.Context) (engine.Stage, error) {
	cfg := *Section.Of(rc.Job)
	return &stage{rc: rc, cfg: cfg, items: night.InputOf(rc.Job).OrderItems != nil, costs: marginconfig.Of(rc.Job).ItemCosts, products: newProductIndex(), pairs: newPairTable(),
		open: make([]openBasket, cfg.OpenOrders), openAt: newOpenIndex(), last: -1}, nil
}

// Item-row outcomes in the manifest's item_accounting.
const (
	// ReasonMissingOrderID quarantines an item without an order id.
	ReasonMissingOrderID = "missing_order_id"
	// ReasonMissingSKU quarantines an item without a SKU.
	ReasonMissingSKU = "missing_sku"
	// ReasonInvalidUTF8 quarantines an item whose order_id or SKU is not
	// valid UTF-8, as validation does for orders: product_affinity must
	// stay readable.
	ReasonInvalidUTF8 = "invalid_utf8"
	// ReasonInvalidUnitCost quarantines an item whose unit_cost is there
	// but negative or not a finite number, with margin.item_costs on; it
	// is judged here, where every item row is accounted for, and the
	// margin stage leaves such rows out.
	ReasonInvalidUnitCost = itemline.ReasonInvalidUnitCost
	// ExcludedOrderNotUsed: the item's order is unknown, quarantined,
	// excluded by status or after the run date.
	ExcludedOrderNotUsed = "order_not_used"
	// ExcludedNotAdjacent: items of an order already counted, more than
	// affinity.open_orders orders after its earlier items.
	ExcludedNotAdjacent = "order_items_not_adjacent"
)

// borrow takes validation's set of used orders, once; the engine drops it
// when this stage has finished.
func (s *stage) borrow(out engine.Emitter) error {
	if s.used != nil {
		return nil
	}
	u, err := handover.UsedOrders.Need(out)
	s.used = u
	return err
}

type stage struct {
	cfg Config
	// items says whether the job reads order items at all.
	items bool
	// costs is margin.item_costs: only a job that reads unit_cost judges
	// it, so a column the job ignores cannot take lines from the pairs.
	costs bool
	// used are validation's used orders, which items are matched against.
	used handover.OrderLookup
	engine.BaseStage
	rc *night.Context
	// products: SKU → id, name and orders per id.
	products productIndex
	names    []string
	orders   []int64
	baskets  int64
	pairs    *pairTable
	// floor bounds the true count of every pair not in pairs: the most a
	// pruned pair could have had.
	floor int64
	// open holds the baskets still collecting items, oldest first, in a
	// ring of affinity.open_orders slots, found by order fingerprint.
	open   []openBasket
	openAt openIndex
	head   int
	nOpen  int
	last   int32 // slot of the latest item's order, -1 before any
	queued basketQueue
	// held are rejected rows without a source position, emitted sorted
	// at Finish.
	held *quarantine.Builder
	// counter counts the accepted rows; every field above from products
	// on is its goroutine's until Finish has waited for it.
	counter counter
	// lastOrder is the order id of the latest accepted item, once
	// accepted is set: the checks' copy, as open belongs to the counter.
	lastOrder []byte
	accepted  bool
}

func (s *stage) Process(ctx context.Context, table string, rec arrow.Record, out engine.Emitter) error {
	if err := s.borrow(out); err != nil {
		return err
	}
	j, err := s.take()
	if err != nil {
		return err
	}
	if kind := input.AggregateOf(rec); kind != "" {
		j.kind = kind
		s.counter.send(j, rec)
		return nil
	}
	cols := map[string]arrow.Array{}
	for i, f := range rec.Schema().Fields() {
		cols[f.Name] = rec.Column(i)
	}
	orderCol, skuCol := cols["order_id"], cols["sku"]
	cost := itemline.Of(cols["unit_cost"])
	var rejected []rejectedItem
	var trimmedOrder, trimmedSKU int64
	orders, skus := textOf(orderCol), textOf(skuCol)
	for i := 0; i < int(rec.NumRows()); i++ {
		var order, sku string
		if !orderCol.IsNull(i) {
			order = ids.Trim(orders(i), &trimmedOrder)
		}
		if !skuCol.IsNull(i) {
			sku = ids.Trim(skus(i), &trimmedSKU)
		}
		// Most items are of the order of the item accepted before them,
		// whose id was valid then.
		same := s.accepted && order == string(s.lastOrder)
		switch {
		case order == "":
			rejected = append(rejected, rejectedItem{i, ReasonMissingOrderID})
			continue
		case sku == "":
			rejected = append(rejected, rejectedItem{i, ReasonMissingSKU})
			continue
		case !same && !utf8.ValidString(order) || !utf8.ValidString(sku):
			rejected = append(rejected, rejectedItem{i, ReasonInvalidUTF8})
			continue
		case s.costs && itemline.BadCost(cost, i):
			rejected = append(rejected, rejectedItem{i, ReasonInvalidUnitCost})
			continue
		}
		if !same {
			s.lastOrder, s.accepted = append(s.lastOrder[:0], order...), true
		}
		j.orders, j.skus = append(j.orders, order), append(j.skus, sku)
	}
	j.trimmedOrder, j.trimmedSKU = trimmedOrder, trimmedSKU
	s.counter.send(j, rec)
	if len(rejected) > 0 {
		return s.quarantine(ctx, rec, cols, rejected, out)
	}
	return nil
}

// textOf reads row i of a text column as a string: straight from a String
// column's buffers, which is what every source gives, or through ValueStr.
func textOf(col arrow.Array) func(i int) string {
	if c, ok := col.(*array.String); ok {
		return c.Value
	}
	return col.ValueStr
}

// ErrAggregate is wrapped when a batch of counts made in the warehouse
// does not have the columns its kind promises.
var ErrAggregate = errors.New("item counts from the warehouse")

// aggregate adds counts the warehouse made from items that never crossed
// the network (see input.ItemCounts): the fate of those item rows, the
// used orders they form, per product and per pair, so the table built at
// Finish is the one those items would give here. A pair's count goes in
// whole, as if its orders had come one by one before any pruning.
func (s *stage) aggregate(kind string, rec arrow.Record) error {
	ints := map[string]*array.Int64{}
	texts := map[string]*array.String{}
	for i, f := range rec.Schema().Fields() {
		switch c := rec.Column(i).(type) {
		case *array.Int64:
			ints[f.Name] = c
		case *array.String:
			texts[f.Name] = c
		}
	}
	need := func(intCols, textCols []string) error {
		for _, n := range intCols {
			if ints[n] == nil || ints[n].NullN() > 0 {
				return fmt.Errorf("%w: %s needs an INT64 column %s without nulls", ErrAggregate, kind, n)
			}
		}
		for _, n := range textCols {
			if texts[n] == nil || texts[n].NullN() > 0 {
				return fmt.Errorf("%w: %s needs a STRING column %s without nulls", ErrAggregate, kind, n)
			}
		}
		return nil
	}
	items := s.rc.Items
	switch kind {
	case input.ItemCounts:
		if err := need([]string{"folded", "used", "trimmed_order_id", "trimmed_sku", "baskets"}, nil); err != nil {
			return err
		}
		for i := range int(rec.NumRows()) {
			used := ints["used"].Value(i)
			items.Used += used
			ids.AddCount(items.Excluded, ExcludedOrderNotUsed, ints["folded"].Value(i)-used)
			ids.AddCount(items.Trimmed, "order_id", ints["trimmed_order_id"].Value(i))
			ids.AddCount(items.Trimmed, "sku", ints["trimmed_sku"].Value(i))
			s.baskets += ints["baskets"].Value(i)
		}
	case input.ItemProducts:
		if err := need([]string{"orders"}, []string{"sku"}); err != nil {
			return err
		}
		for i := range int(rec.NumRows()) {
			s.orders[s.product(texts["sku"].Value(i))] += ints["orders"].Value(i)
		}
	case input.ItemPairs:
		if err := need([]string{"pair_orders"}, []string{"sku_a", "sku_b"}); err != nil {
			return err
		}
		for i := range int(rec.NumRows()) {
			a, b := s.product(texts["sku_a"].Value(i)), s.product(texts["sku_b"].Value(i))
			if a == b {
				return fmt.Errorf("%w: pair of %q with itself", ErrAggregate, texts["sku_a"].Value(i))
			}
			if a > b {
				a, b = b, a
			}
			s.pairs.addN(uint64(a)<<32|uint64(uint32(b)), ints["pair_orders"].Value(i), s.floor)
			if s.pairs.n > s.cfg.MaxPairs {
				s.prune()
			}
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrAggregate, kind)
	}
	return nil
}

type rejectedItem struct {
	row    int
	reason string
}

// quarantine emits the batch's rejected item rows with their reason, file
// and row number, values as read. Rows without a position in their source
// (a warehouse table's, which arrive over parallel streams in no fixed
// order) are held and emitted sorted by their values at Finish, so a rerun
// writes them in the same order; rows of files go out at once, in file
// order.
func (s *stage) quarantine(ctx context.Context, rec arrow.Record, cols map[string]arrow.Array, rejected []rejectedItem, out engine.Emitter) error {
	file, firstRow := input.SourceOf(rec)
	if firstRow == input.NoRow {
		if s.held == nil {
			s.held = quarantine.NewBuilder(s.rc.Mem, s.rc.SnapshotDate)
		}
		for _, r := range rejected {
			s.rc.Items.Quarantined[r.reason]++
			s.held.Add(r.reason, schemas.OrderItems.Name, file, quarantine.NoRow, cols, r.row)
		}
		s.held.Hold()
		return nil
	}
	q := quarantine.NewBuilder(s.rc.Mem, s.rc.SnapshotDate)
	defer q.Release()
	for _, r := range rejected {
		s.rc.Items.Quarantined[r.reason]++
		q.Add(r.reason, schemas.OrderItems.Name, file, firstRow+int64(r.row), cols, r.row)
	}
	return q.Emit(ctx, out)
}

// Close stops the counter and releases quarantine rows still held after
// a failed run; the counter's error went back through Process or Finish.
func (s *stage) Close(context.Context) error {
	_ = s.counter.wait()
	if s.held != nil {
		s.held.Release()
		s.held = nil
	}
	return nil
}

// openBasket is an order whose items are still being collected; its
// buffers are reused by the slot's next order.
type openBasket struct {
	key   uint64
	order []byte
	items []int32
}

// openBasket returns the slot collecting order's items, opening one — and
// closing the oldest open order when all slots are taken — if needed.
// Exports sorted by order need one slot; items of concurrent orders
// interleaved within affinity.open_orders orders still come together.
func (s *stage) openBasket(order string) int32 {
	key := fingerprint.Key(order)
	if slot, ok := s.openAt.get(key); ok {
		s.last = slot
		return slot
	}
	if s.nOpen == len(s.open) {
		s.closeOldest()
	}
	slot := int32((s.head + s.nOpen) % len(s.open))
	s.nOpen++
	b := &s.open[slot]
	b.key, b.order, b.items = key, append(b.order[:0], order...), b.items[:0]
	s.openAt.put(key, slot)
	s.last = slot
	return slot
}

// closeOldest queues the oldest open basket as its distinct products;
// baskets are looked up and counted a batch at a time (see flush).
func (s *stage) closeOldest() {
	b := &s.open[s.head]
	q := &s.queued
	q.orders = append(q.orders, b.order...)
	q.orderEnds = append(q.orderEnds, len(q.orders))
	q.itemRows = append(q.itemRows, int64(len(b.items)))
	slices.Sort(b.items)
	q.items = append(q.items, slices.Compact(b.items)...)
	q.itemEnds = append(q.itemEnds, len(q.items))
	s.openAt.remove(b.key)
	if s.last == int32(s.head) {
		s.last = -1
	}
	s.head = (s.head + 1) % len(s.open)
	s.nOpen--
	if len(q.orderEnds) == flushBaskets {
		s.flush()
	}
}

// flushBaskets is how many baskets are looked up together: enough to keep
// many memory reads in flight in the order-id table, few enough that what
// they bring in stays in cache until used.
const flushBaskets = 256

// basketQueue holds finished baskets, flattened, until flush: each one's
// order id, distinct products (sorted) and item rows as read.
type basketQueue struct {
	orders    []byte
	orderEnds []int
	items     []int32
	itemEnds  []int
	itemRows  []int64
	keys      []uint64 // pair slots to touch
	pairs     []uint64 // one basket's pairs
	ids       []string
	used      []bool
	claimed   []bool
}

// flush looks up the queued baskets' orders in one batch, then counts the
// distinct products and pairs of each used one, in arrival order.
func (s *stage) flush() {
	q := &s.queued
	if len(q.orderEnds) == 0 {
		return
	}
	all := string(q.orders) // one allocation; the ids below are views into it
	q.ids = q.ids[:0]
	from := 0
	for _, end := range q.orderEnds {
		q.ids = append(q.ids, all[from:end])
		from = end
	}
	n := len(q.ids)
	q.used, q.claimed = slices.Grow(q.used[:0], n)[:n], slices.Grow(q.claimed[:0], n)[:n]
	s.used.Claim(q.ids, q.used, q.claimed)
	items := s.rc.Items
	from, touched := 0, 0
	for b, end := range q.itemEnds {
		if b == touched {
			touched = s.touchPairs(b, from)
		}
		basket := q.items[from:end]
		from = end
		switch {
		case !q.used[b]:
			items.Excluded[ExcludedOrderNotUsed] += q.itemRows[b]
			continue
		case q.claimed[b]:
			// Counting a later part of an order as another basket would
			// count its products twice.
			items.Excluded[ExcludedNotAdjacent] += q.itemRows[b]
			continue
		}
		items.Used += q.itemRows[b]
		s.count(basket)
	}
	q.orders, q.orderEnds, q.items, q.itemEnds, q.itemRows = q.orders[:0], q.orderEnds[:0], q.items[:0], q.itemEnds[:0], q.itemRows[:0]
}

// appendPairKeys appends the key of every pair in a basket of distinct,
// sorted products: a<<32 | b with a < b.
func appendPairKeys(dst []uint64, basket []int32) []uint64 {
	for i, a := range basket {
		for _, b := range basket[i+1:] {
			dst = append(dst, uint64(a)<<32|uint64(uint32(b)))
		}
	}
	return dst
}

// count adds one used basket's products and pairs.
func (s *stage) count(basket []int32) {
	s.baskets++
	for _, a := range basket {
		s.orders[a]++
	}
	s.queued.pairs = appendPairKeys(s.queued.pairs[:0], basket)
	for _, k := range s.queued.pairs {
		s.pairs.add(k, s.floor)
	}
	if s.pairs.n > s.cfg.MaxPairs {
		s.prune()
	}
}

// touchKeys is about how many pair slots are touched at a time: enough to
// overlap many memory reads, few enough to stay in cache until counted.
const touchKeys = 2048

// touchPairs touches the slots of the pairs that the queued used baskets
// from basket first (whose items start at from) will count, up to about
// touchKeys of them, and returns the basket after the last one touched.
func (s *stage) touchPairs(first, from int) int {
	q := &s.queued
	q.keys = q.keys[:0]
	b := first
	for ; b < len(q.itemEnds) && len(q.keys) < touchKeys; b++ {
		end := q.itemEnds[b]
		basket := q.items[from:end]
		from = end
		if q.used[b] && !q.claimed[b] {
			q.keys = appendPairKeys(q.keys, basket)
		}
	}
	s.pairs.touch(q.keys)
	return b
}

// prune drops the rarest pairs until at most half of affinity.max_pairs
// remain, a lossy count in the manner of Space-Saving: a dropped pair could
// have had at most count + base orders, which raises floor, and a pair that
// (re)enters later takes floor as its base, so every count keeps a true
// upper bound. Frequent pairs are never dropped and stay exact.
//
// Every pair at or below a cut count goes, so no tie needs breaking and a
// rerun drops the same pairs; the cut comes from a histogram of counts, one
// pass instead of a sort of millions of pairs.
func (s *stage) prune() {
	const buckets = 256
	var hist [buckets + 1]int
	s.pairs.each(func(_ uint64, pc pairCount) { hist[min(pc.count, buckets)]++ })
	need := s.pairs.n - s.cfg.MaxPairs/2
	cut, dropped := int64(0), 0
	for c := 1; c <= buckets && dropped < need; c++ {
		cut, dropped = int64(c), dropped+hist[c]
	}
	if dropped < need {
		// Over half the pairs seen more than 256 times: a huge catalogue
		// slice of very frequent pairs. Drop by count, then key.
		s.pruneSorted(need)
		return
	}
	s.pairs.keep(func(_ uint64, pc pairCount) bool {
		if pc.count <= cut {
			s.floor = max(s.floor, pc.count+pc.base)
			return false
		}
		return true
	})
}

// pruneSorted drops exactly need pairs, the lowest by (count, key).
func (s *stage) pruneSorted(need int) {
	type entry struct {
		key   uint64
		count int64
	}
	all := make([]entry, 0, s.pairs.n)
	s.pairs.each(func(k uint64, pc pairCount) { all = append(all, entry{k, pc.count}) })
	slices.SortFunc(all, func(x, y entry) int {
		if c := cmp.Compare(x.count, y.count); c != 0 {
			return c
		}
		return cmp.Compare(x.key, y.key)
	})
	last := all[need-1]
	s.pairs.keep(func(k uint64, pc pairCount) bool {
		if pc.count < last.count || (pc.count == last.count && k <= last.key) {
			s.floor = max(s.floor, pc.count+pc.base)
			return false
		}
		return true
	})
}

// pair is a kept pair, a and b in name order.
type pair struct {
	a, b        int32
	count, base int64
	lift        float64
}

func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	if !s.items {
		return s.emit(ctx, out, nil)
	}
	if err := s.counter.wait(); err != nil {
		return err
	}
	for s.nOpen > 0 {
		s.closeOldest()
	}
	if err := s.borrow(out); err != nil {
		return err
	}
	s.flush()
	s.used = nil
	if s.held != nil {
		if err := s.held.EmitSorted(ctx, out); err != nil {
			return err
		}
	}
	if n := s.rc.Items.Excluded[ExcludedNotAdjacent]; n > 0 {
		s.rc.Log.Warn().Str("stage", "affinity").Int64("items", n).
			Msg("items of some orders came more than affinity.open_orders orders after their earlier items, when the order was already counted; they were left out (raise open_orders, or sort the export by order_id)")
	}
	if n := s.rc.Items.TotalQuarantined(); n > 0 {
		s.rc.Log.Warn().Str("stage", "affinity").Int64("items", n).Msg("items without a usable order_id, sku or unit_cost are in the quarantine table")
	}
	cfg := s.cfg
	n := float64(s.baskets)
	var kept []pair
	s.pairs.each(func(k uint64, pc pairCount) {
		if pc.count < int64(cfg.MinPairOrders) {
			return
		}
		// Rows show a pair in name order, and ties in the ranking below
		// break on names, not on internal ids.
		a, b := int32(k>>32), int32(uint32(k))
		if s.names[a] > s.names[b] {
			a, b = b, a
		}
		lift := float64(pc.count) * n / (float64(s.orders[a]) * float64(s.orders[b]))
		kept = append(kept, pair{a, b, pc.count, pc.base, lift})
	})
	// Top K per product: rank each product's pairs, keep a pair that ranks
	// within K for either side.
	better := func(x, y pair) int {
		if c := cmp.Compare(y.count, x.count); c != 0 {
			return c
		}
		if c := cmp.Compare(y.lift, x.lift); c != 0 {
			return c
		}
		if c := cmp.Compare(s.names[x.a], s.names[y.a]); c != 0 {
			return c
		}
		return cmp.Compare(s.names[x.b], s.names[y.b])
	}
	slices.SortFunc(kept, better)
	rank := make([]int32, len(s.names))
	var final []pair
	for _, p := range kept {
		ra, rb := rank[p.a], rank[p.b]
		rank[p.a]++
		rank[p.b]++
		if int(ra) < cfg.TopK || int(rb) < cfg.TopK {
			final = append(final, p)
		}
	}
	return s.emit(ctx, out, final)
}

// emit writes the kept pairs; a job without order items writes the table
// empty, so its schema is there for BI tools either way.
func (s *stage) emit(ctx context.Context, out engine.Emitter, final []pair) error {
	n := float64(s.baskets)
	b := array.NewRecordBuilder(s.rc.Mem, schemas.ProductAffinity.Schema())
	defer b.Release()
	for _, p := range final {
		a, c := p.a, p.b
		b.Field(0).(*array.Date32Builder).Append(s.rc.SnapshotDate)
		b.Field(1).(*array.StringBuilder).Append(s.names[a])
		b.Field(2).(*array.StringBuilder).Append(s.names[c])
		b.Field(3).(*array.Int64Builder).Append(p.count)
		b.Field(4).(*array.Int64Builder).Append(s.orders[a])
		b.Field(5).(*array.Int64Builder).Append(s.orders[c])
		b.Field(6).(*array.Float64Builder).Append(float64(p.count) / n)
		b.Field(7).(*array.Float64Builder).Append(float64(p.count) / float64(s.orders[a]))
		b.Field(8).(*array.Float64Builder).Append(float64(p.count) / float64(s.orders[c]))
		b.Field(9).(*array.Float64Builder).Append(p.lift)
		b.Field(10).(*array.Int64Builder).Append(p.base)
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.ProductAffinity.Name, rec)
}
