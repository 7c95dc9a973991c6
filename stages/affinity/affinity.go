// Package affinity is the stage that counts which products are bought in
// the same order — support, confidence and lift per pair — for bundles and
// cross-sell, in memory bounded by the number of products and a cap on
// distinct pairs rather than by orders or items.
package affinity

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/pipeline"
	"retain/schemas"
	"retain/stages/extract"
	"retain/stages/internal/fingerprint"
)

// Register adds the affinity stage.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Spec{
		Name:    "affinity",
		Doc:     "product_affinity: pairs of SKUs bought together in used orders, with support, confidence and lift.",
		Inputs:  []string{schemas.Orders.Name, extract.RawItems},
		Outputs: []string{schemas.ProductAffinity.Name},
		New: func(rc *pipeline.RunContext) (pipeline.Stage, error) {
			return &stage{rc: rc, used: fingerprint.NewSet(), closed: fingerprint.NewSet(), sku: map[string]int32{}, pairs: map[uint64]int64{}}, nil
		},
	})
}

type stage struct {
	pipeline.BaseStage
	rc *pipeline.RunContext
	// used holds fingerprints of used orders, only while items are expected.
	used *fingerprint.Set
	// products: SKU → id, orders per product.
	sku      map[string]int32
	names    []string
	orders   []int64
	baskets  int64
	pairs    map[uint64]int64
	dropped  int64 // largest count ever pruned: the undercount bound
	current  string
	basket   []int32
	closed   *fingerprint.Set
	split    int64
	skipped  int64
	hasItems bool
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ pipeline.Emitter) error {
	if s.rc.Job.Input.OrderItems == nil {
		return nil
	}
	if table == schemas.Orders.Name {
		ids := rec.Column(schemas.Orders.MustIndex("order_id")).(*array.String)
		for i := 0; i < ids.Len(); i++ {
			s.used.Add(ids.Value(i))
		}
		return nil
	}
	s.hasItems = true
	var orderCol, skuCol arrow.Array
	for i, f := range rec.Schema().Fields() {
		switch f.Name {
		case "order_id":
			orderCol = rec.Column(i)
		case "sku":
			skuCol = rec.Column(i)
		}
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		if orderCol.IsNull(i) || skuCol.IsNull(i) {
			s.skipped++
			continue
		}
		order, sku := orderCol.ValueStr(i), skuCol.ValueStr(i)
		if order != s.current {
			s.closeBasket()
			s.current = strings.Clone(order)
		}
		s.basket = append(s.basket, s.product(sku))
	}
	return nil
}

func (s *stage) product(sku string) int32 {
	id, ok := s.sku[sku]
	if !ok {
		id = int32(len(s.names))
		name := strings.Clone(sku)
		s.sku[name] = id
		s.names = append(s.names, name)
		s.orders = append(s.orders, 0)
	}
	return id
}

// closeBasket counts the finished order's distinct products and pairs.
func (s *stage) closeBasket() {
	if s.current == "" {
		return
	}
	basket := s.basket
	s.basket = s.basket[:0]
	if !s.used.Has(s.current) {
		return // items of orders that were quarantined or excluded
	}
	if !s.closed.Add(s.current) {
		// A later, non-adjacent part of an order already counted: counting
		// it as another basket would count its products twice.
		s.split++
		return
	}
	slices.Sort(basket)
	basket = slices.Compact(basket)
	s.baskets++
	for i, a := range basket {
		s.orders[a]++
		for _, b := range basket[i+1:] {
			s.pairs[uint64(a)<<32|uint64(uint32(b))]++
		}
	}
	if len(s.pairs) > s.rc.Job.Affinity.MaxPairs {
		s.prune()
	}
}

// prune drops the rarest pairs until the map is half full; a dropped pair
// that reappears restarts from zero, so counts may be short by at most the
// largest count ever dropped, which max_undercount reports.
func (s *stage) prune() {
	limit := s.rc.Job.Affinity.MaxPairs / 2
	counts := make([]int64, 0, len(s.pairs))
	for _, c := range s.pairs {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	cut := counts[len(counts)-limit]
	for k, c := range s.pairs {
		if c < cut || (c == cut && len(s.pairs) > limit) {
			delete(s.pairs, k)
			s.dropped = max(s.dropped, c)
		}
	}
}

type pair struct {
	a, b  int32
	count int64
	lift  float64
}

func (s *stage) Finish(ctx context.Context, out pipeline.Emitter) error {
	s.closeBasket()
	s.used, s.closed = nil, nil
	if s.split > 0 {
		s.rc.Log.Warn().Str("stage", "affinity").Int64("orders", s.split).
			Msg("items of some orders were not adjacent in the input; only each order's first run of items was counted")
	}
	if s.skipped > 0 {
		s.rc.Log.Warn().Str("stage", "affinity").Int64("items", s.skipped).Msg("items without order_id or sku were left out of product_affinity")
	}
	cfg := s.rc.Job.Affinity
	n := float64(s.baskets)
	var kept []pair
	for k, c := range s.pairs {
		if c < int64(cfg.MinPairOrders) {
			continue
		}
		a, b := int32(k>>32), int32(uint32(k))
		kept = append(kept, pair{a, b, c, float64(c) * n / (float64(s.orders[a]) * float64(s.orders[b]))})
	}
	// Top K per product: rank each product's pairs, keep a pair that ranks
	// within K for either side.
	better := func(x, y pair) int {
		if c := cmp.Compare(y.count, x.count); c != 0 {
			return c
		}
		if c := cmp.Compare(y.lift, x.lift); c != 0 {
			return c
		}
		return cmp.Compare(s.names[x.a]+"\x00"+s.names[x.b], s.names[y.a]+"\x00"+s.names[y.b])
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
	b := array.NewRecordBuilder(s.rc.Mem, schemas.ProductAffinity.Schema())
	defer b.Release()
	for _, p := range final {
		a, c := p.a, p.b
		if s.names[a] > s.names[c] {
			a, c = c, a
		}
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
		b.Field(10).(*array.Int64Builder).Append(s.dropped)
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.ProductAffinity.Name, rec)
}
