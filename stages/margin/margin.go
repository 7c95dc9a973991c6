// Package margin is the stage that turns the cost of the goods in order
// items (unit_cost) into a margin rate per customer, customer_margins, which
// clv joins to give predicted_clv_margin per customer. It holds one entry
// per customer with a costed line; what it must know of each order (used or
// not, whose, at what exchange rate) it asks validation's order-id set,
// rather than building a second one of the same size.
package margin

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/handover"
	"retain/stages/internal/ids"
	"retain/stages/internal/itemline"
	"retain/stages/margin/marginconfig"
)

// Register adds the margin stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "margin",
		Doc:     "customer_margins: the cost of the goods per customer from input.order_items' unit_cost (margin.item_costs), for predicted_clv_margin.",
		Inputs:  []string{schemas.RawItems},
		Outputs: []string{schemas.CustomerMargins.Name},
		Needs:   []string{handover.OrderCustomers.String()},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			on := night.InputOf(rc.Job).OrderItems != nil && marginconfig.Of(rc.Job).ItemCosts
			return &stage{rc: rc, on: on, byCustomer: map[uint64]*sums{}}, nil
		},
	}, marginconfig.Section, night.InputSection)
}

// sums are one customer's costed lines, in the reporting currency.
type sums struct {
	lines       int64
	value, cost float64
}

// line is a costed line waiting for its order's lookup.
type line struct {
	value, cost float64
}

type stage struct {
	engine.BaseStage
	rc *night.Context
	// on: margin.item_costs with order items; otherwise validation keeps
	// nothing to look up and the table is empty.
	on     bool
	orders handover.CustomerLookup
	// byCustomer holds the sums by customer fingerprint.
	byCustomer map[uint64]*sums
	// the batch's costed lines, their order ids and what the lookup found
	ids   []string
	lines []line
	got   []handover.OrderCustomer
	// uncosted counts the lines left out of the rates for want of a cost,
	// a quantity above 0 or a price; affinity still uses them.
	uncosted int64
}

func (s *stage) Process(_ context.Context, _ string, rec arrow.Record, out engine.Emitter) error {
	if !s.on {
		return nil
	}
	if s.orders == nil {
		o, err := handover.OrderCustomers.Need(out)
		if err != nil {
			return err
		}
		s.orders = o
	}
	cols := map[string]arrow.Array{}
	for i, f := range rec.Schema().Fields() {
		cols[f.Name] = rec.Column(i)
	}
	orderCol, skuCol := cols["order_id"], cols["sku"]
	if orderCol == nil || skuCol == nil {
		return nil // the reader requires both; nothing to cost without
	}
	quantity, price, cost := itemline.Of(cols["quantity"]), itemline.Of(cols["unit_price"]), itemline.Of(cols["unit_cost"])
	s.ids, s.lines = s.ids[:0], s.lines[:0]
	var trimmed int64 // affinity counts them
	for i := 0; i < int(rec.NumRows()); i++ {
		// A row product affinity quarantines (no order id or SKU, bytes
		// that are not UTF-8, a bad unit_cost) is left out here too, so
		// each row has one fate.
		if orderCol.IsNull(i) || skuCol.IsNull(i) {
			continue
		}
		order := ids.Trim(orderCol.ValueStr(i), &trimmed)
		sku := ids.Trim(skuCol.ValueStr(i), &trimmed)
		if order == "" || sku == "" || !utf8.ValidString(order) || !utf8.ValidString(sku) {
			continue
		}
		c, cst := cost(i)
		if itemline.IsBadCost(c, cst) {
			continue
		}
		q, qst := quantity(i)
		p, pst := price(i)
		if cst != itemline.OK || qst != itemline.OK || pst != itemline.OK || !(q > 0) || p < 0 {
			s.uncosted++ // not costed: it says nothing of the margin
			continue
		}
		s.ids = append(s.ids, order)
		s.lines = append(s.lines, line{value: q * p, cost: q * c})
	}
	if len(s.ids) == 0 {
		return nil
	}
	s.got = slices.Grow(s.got[:0], len(s.ids))[:len(s.ids)]
	s.orders.Customers(s.ids, s.got)
	for k, o := range s.got {
		if !o.Used {
			continue // affinity counts the row as order_not_used
		}
		sm := s.byCustomer[o.Customer]
		if sm == nil {
			sm = &sums{}
			s.byCustomer[o.Customer] = sm
		}
		// Within an order the lines share a currency; its rate puts
		// orders in different currencies on one scale, so each weighs
		// with its value in the reporting currency.
		l := s.lines[k]
		sm.lines++
		sm.value += l.value * o.Rate
		sm.cost += l.cost * o.Rate
	}
	clear(s.ids) // they point into this batch's buffers
	return nil
}

// Finish emits one row per customer with a costed line, by customer_key, so
// a rerun writes the same rows whatever the map's order.
func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	s.orders = nil
	if s.uncosted > 0 {
		s.rc.Log.Info().Str("stage", "margin").Int64("lines", s.uncosted).Int("customers", len(s.byCustomer)).
			Msg("item lines without a known unit_cost, a quantity above 0 or a unit_price are left out of margin_rate")
	}
	t := schemas.CustomerMargins
	b := array.NewRecordBuilder(s.rc.Mem, t.Schema())
	defer b.Release()
	keys := slices.SortedFunc(maps.Keys(s.byCustomer), cmp.Compare[uint64])
	key := b.Field(t.MustIndex("customer_key")).(*array.Int64Builder)
	lines := b.Field(t.MustIndex("costed_lines")).(*array.Int64Builder)
	value := b.Field(t.MustIndex("item_value")).(*array.Float64Builder)
	cost := b.Field(t.MustIndex("item_cost")).(*array.Float64Builder)
	rate := b.Field(t.MustIndex("margin_rate")).(*array.Float64Builder)
	for _, k := range keys {
		sm := s.byCustomer[k]
		key.Append(int64(k)) // a fingerprint has 62 bits
		lines.Append(sm.lines)
		value.Append(sm.value)
		cost.Append(sm.cost)
		// Goods given away (no value) have no share of a sale to speak
		// of, and sums beyond float64 no finite one.
		if r := 1 - sm.cost/sm.value; sm.value > 0 && !math.IsNaN(r) && !math.IsInf(r, 0) {
			rate.Append(r)
		} else {
			rate.AppendNull()
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, t.Name, rec)
}
