// Package customersummary is the stage that folds used orders, in one
// streaming pass, into one row per customer with the BTYD model inputs.
package customersummary

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/pipeline"
	"retain/schemas"
)

// BatchRows is the number of customers per emitted batch.
const BatchRows = 64 * 1024

// Register adds the customer_summary stage.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Spec{
		Name:    "customer_summary",
		Doc:     "One row per customer: first/last order, orders, revenue, and BTYD frequency, recency, T and monetary value in days.",
		Inputs:  []string{schemas.Orders.Name},
		Outputs: []string{schemas.CustomerSummary.Name},
		New: func(rc *pipeline.RunContext) (pipeline.Stage, error) {
			return &stage{rc: rc, state: newCustomers(), runDay: localDay(rc.RunDate.UnixMicro(), rc.Job.Location())}, nil
		},
	})
}

type stage struct {
	pipeline.BaseStage
	rc     *pipeline.RunContext
	state  *customers
	runDay int32
}

const microsPerDay = 86400 * 1e6

// localDay is the calendar day (days since 1970-01-01) of an instant in loc;
// purchase periods are local days, so two orders on one local evening are
// one period even when they straddle midnight UTC.
func localDay(us int64, loc *time.Location) int32 {
	if loc == time.UTC {
		d := us / microsPerDay
		if us%microsPerDay < 0 {
			d--
		}
		return int32(d)
	}
	y, m, d := time.UnixMicro(us).In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func (s *stage) Process(_ context.Context, _ string, rec arrow.Record, _ pipeline.Emitter) error {
	ids := rec.Column(schemas.Orders.MustIndex("customer_id")).(*array.String)
	ts := rec.Column(schemas.Orders.MustIndex("order_ts")).(*array.Timestamp).TimestampValues()
	amounts := rec.Column(schemas.Orders.MustIndex("amount")).(*array.Float64).Float64Values()
	loc := s.rc.Job.Location()
	for i := range ts {
		s.state.add(ids.Value(i), int64(ts[i]), localDay(int64(ts[i]), loc), amounts[i])
	}
	return nil
}

// Finish emits customers sorted by customer_id, so reruns write identical files.
func (s *stage) Finish(ctx context.Context, out pipeline.Emitter) error {
	c := s.state
	order := make([]int32, c.len())
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(c.ids[a], c.ids[b]) })

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
	freq := col("frequency").(*array.Int64Builder)
	recency := col("recency_days").(*array.Int64Builder)
	tenure := col("tenure_days").(*array.Int64Builder)
	repeat := col("repeat_avg_value").(*array.Float64Builder)

	for start := 0; start < len(order); start += BatchRows {
		end := min(start+BatchRows, len(order))
		for _, k := range order[start:end] {
			days := c.days[k]
			f := int64(len(days) - 1)
			snapshot.Append(s.rc.SnapshotDate)
			id.Append(c.ids[k])
			first.Append(arrow.Timestamp(c.firstTS[k]))
			last.Append(arrow.Timestamp(c.lastTS[k]))
			orders.Append(c.orders[k])
			revenue.Append(c.revenue[k])
			aov.Append(c.revenue[k] / float64(c.orders[k]))
			freq.Append(f)
			recency.Append(int64(days[len(days)-1] - days[0]))
			tenure.Append(int64(s.runDay - days[0]))
			if f > 0 {
				repeat.Append((c.revenue[k] - c.firstDayValue[k]) / float64(f))
			} else {
				repeat.AppendNull()
			}
		}
		rec := b.NewRecord()
		err := out.Emit(ctx, schemas.CustomerSummary.Name, rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}
