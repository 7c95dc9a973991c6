// Package customersummary is the stage that folds used orders, in one
// streaming pass, into one row per customer with the BTYD model inputs.
package customersummary

import (
	"context"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/localday"
)

// BatchRows is the number of customers per emitted batch.
const BatchRows = 64 * 1024

// Register adds the customer_summary stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "customer_summary",
		Doc:     "One row per customer: first/last order, orders, revenue, and BTYD frequency, recency, T and monetary value in days.",
		Inputs:  []string{schemas.Orders.Name, schemas.OrderDays.Name, schemas.Refunds.Name},
		Outputs: []string{schemas.CustomerSummary.Name, schemas.CustomerActivity.Name},
		// Product affinity holds validation's order-id set (one entry per
		// order, the largest state of a run) until it has matched every item;
		// finishing it first frees that set before the per-customer stages
		// build theirs.
		After: []string{"affinity"},
		// Folding its input needs no emitter, so the runner may run its
		// Process calls beside the stages that feed it.
		Background: true,
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			return &stage{rc: rc, state: newCustomers(), runDay: localday.RunDate(rc)}, nil
		},
	})
}

type stage struct {
	engine.BaseStage
	rc     *night.Context
	state  *customers
	runDay int32
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	switch table {
	case schemas.OrderDays.Name:
		s.processDays(rec)
		return nil
	case schemas.Refunds.Name:
		s.state.addRefunds(rec)
		return nil
	}
	col := func(name string) arrow.Array { return rec.Column(schemas.Orders.MustIndex(name)) }
	ids := col("customer_id").(*array.String)
	ts := col("order_ts").(*array.Timestamp).TimestampValues()
	amounts := col("amount").(*array.Float64).Float64Values()
	country := col("country").(*array.String)
	channel := col("channel").(*array.String)
	loc := s.rc.Job.Location()
	for i := range ts {
		us := int64(ts[i])
		s.state.add(order{
			customer: ids.Value(i), ts: us, lastTS: us, day: localday.Of(us, loc), orders: 1, amount: amounts[i],
			country: country.Value(i), hasCtry: country.IsValid(i),
			channel: channel.Value(i), hasChan: channel.IsValid(i),
		})
	}
	return nil
}

// processDays folds a batch of order_days rows, which a warehouse computed
// with the same rules as Process.
func (s *stage) processDays(rec arrow.Record) {
	col := func(name string) arrow.Array { return rec.Column(schemas.OrderDays.MustIndex(name)) }
	ids := col("customer_id").(*array.String)
	days := col("activity_date").(*array.Date32).Date32Values()
	orders := col("orders").(*array.Int64).Int64Values()
	revenue := col("revenue").(*array.Float64).Float64Values()
	first := col("first_order_at").(*array.Timestamp).TimestampValues()
	last := col("last_order_at").(*array.Timestamp).TimestampValues()
	country := col("country").(*array.String)
	channel := col("channel").(*array.String)
	for i := range days {
		s.state.add(order{
			customer: ids.Value(i), ts: int64(first[i]), lastTS: int64(last[i]), day: int32(days[i]),
			orders: int32(orders[i]), amount: revenue[i],
			country: country.Value(i), hasCtry: country.IsValid(i),
			channel: channel.Value(i), hasChan: channel.IsValid(i),
		})
	}
}

// Finish emits customers sorted by customer_id, so reruns write identical
// files, then their daily activity in the same order.
func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	c := s.state
	if err := c.settleRefunds(); err != nil {
		return err
	}
	order := make([]int32, c.len())
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(c.ids[a], c.ids[b]) })
	if err := s.emitSummary(ctx, order, out); err != nil {
		return err
	}
	if err := s.emitActivity(ctx, order, out); err != nil {
		return err
	}
	// Later stages finish with this state no longer needed.
	s.state = nil
	return nil
}

func appendText(b *array.StringBuilder, v string) {
	if v == "" {
		b.AppendNull()
	} else {
		b.Append(v)
	}
}

func (s *stage) emitSummary(ctx context.Context, order []int32, out engine.Emitter) error {
	c := s.state
	b := array.NewRecordBuilder(s.rc.Mem, schemas.CustomerSummary.Schema())
	defer b.Release()
	col := func(name string) array.Builder { return b.Field(schemas.CustomerSummary.MustIndex(name)) }
	snapshot := col("snapshot_date").(*array.Date32Builder)
	id := col("customer_id").(*array.StringBuilder)
	first := col("first_order_at").(*array.TimestampBuilder)
	last := col("last_order_at").(*array.TimestampBuilder)
	orders := col("order_count").(*array.Int64Builder)
	revenue := col("total_revenue").(*array.Float64Builder)
	aov := col("avg_order_value").(*array.Float64Builder)
	refunded := col("refunded_revenue").(*array.Float64Builder)
	net := col("net_revenue").(*array.Float64Builder)
	rate := col("refund_rate").(*array.Float64Builder)
	refundedOrders := col("refunded_orders").(*array.Int64Builder)
	freq := col("frequency").(*array.Int64Builder)
	recency := col("recency_days").(*array.Int64Builder)
	tenure := col("tenure_days").(*array.Int64Builder)
	repeat := col("repeat_avg_value").(*array.Float64Builder)
	country := col("country").(*array.StringBuilder)
	channel := col("channel").(*array.StringBuilder)

	for start := 0; start < len(order); start += BatchRows {
		for _, k := range order[start:min(start+BatchRows, len(order))] {
			days := c.days[k]
			f := int64(len(days) - 1)
			snapshot.Append(s.rc.SnapshotDate)
			id.Append(c.ids[k])
			first.Append(arrow.Timestamp(c.firstTS[k]))
			last.Append(arrow.Timestamp(c.lastTS[k]))
			orders.Append(c.orders[k])
			revenue.Append(c.revenue[k])
			aov.Append(c.revenue[k] / float64(c.orders[k]))
			r := c.refundsOf(k)
			refunded.Append(r.amount)
			net.Append(c.revenue[k] - r.amount)
			if c.revenue[k] != 0 {
				rate.Append(r.amount / c.revenue[k])
			} else {
				rate.AppendNull()
			}
			refundedOrders.Append(r.orders)
			freq.Append(f)
			recency.Append(int64(days[len(days)-1].day - days[0].day))
			tenure.Append(int64(s.runDay - days[0].day))
			if f > 0 {
				// Monetary value leaves out the first purchase day, and
				// is net of refunds: what the customer's repeat days were
				// worth.
				repeat.Append((c.revenue[k] - r.amount - (days[0].revenue - c.refundedOn(k, days[0].day))) / float64(f))
			} else {
				repeat.AppendNull()
			}
			appendText(country, c.country[k])
			appendText(channel, c.channel[k])
		}
		if err := emitBuilt(ctx, out, schemas.CustomerSummary.Name, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *stage) emitActivity(ctx context.Context, order []int32, out engine.Emitter) error {
	c := s.state
	b := array.NewRecordBuilder(s.rc.Mem, schemas.CustomerActivity.Schema())
	defer b.Release()
	id := b.Field(0).(*array.StringBuilder)
	country := b.Field(1).(*array.StringBuilder)
	date := b.Field(2).(*array.Date32Builder)
	orders := b.Field(3).(*array.Int64Builder)
	revenue := b.Field(4).(*array.Float64Builder)
	refunded := b.Field(5).(*array.Float64Builder)
	runDateRefunded := b.Field(6).(*array.Float64Builder)
	periodLater := b.Field(7).(*array.Float64Builder)
	rows := 0
	for _, k := range order {
		for _, d := range c.days[k] {
			r := c.dayRefund(k, d.day)
			refunded.Append(r.amount)
			runDateRefunded.Append(r.runDate)
			periodLater.Append(r.periodLater)
			id.Append(c.ids[k])
			appendText(country, c.country[k])
			date.Append(arrow.Date32(d.day))
			orders.Append(int64(d.orders))
			revenue.Append(d.revenue)
			rows++
		}
		if rows >= BatchRows {
			if err := emitBuilt(ctx, out, schemas.CustomerActivity.Name, b); err != nil {
				return err
			}
			rows = 0
		}
	}
	if rows > 0 {
		return emitBuilt(ctx, out, schemas.CustomerActivity.Name, b)
	}
	return nil
}

func emitBuilt(ctx context.Context, out engine.Emitter, table string, b *array.RecordBuilder) error {
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, table, rec)
}
