// Package segments is the stage that scores every customer on recency,
// frequency and monetary value, names their segment, and sums segments
// overall and by country and channel.
package segments

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/job"
	"retain/pipeline"
	"retain/schemas"
)

// Other is the segment of a customer that matches no rule.
const Other = "Other"

// Register adds the segments stage.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Spec{
		Name:    "segments",
		Doc:     "RFM scores, rfm_segment and historical CLV per customer (customer_segments), and segment_summary.",
		Inputs:  []string{schemas.CustomerSummary.Name, schemas.CustomerPredictions.Name},
		Outputs: []string{schemas.CustomerSegments.Name, schemas.SegmentSummary.Name},
		New: func(rc *pipeline.RunContext) (pipeline.Stage, error) {
			return &stage{rc: rc}, nil
		},
	})
}

// stage keeps the customer_summary batches (one row per customer, so memory
// follows customers) because quintiles need every customer before any score.
type stage struct {
	pipeline.BaseStage
	rc    *pipeline.RunContext
	recs  []arrow.Record
	preds []arrow.Record
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ pipeline.Emitter) error {
	rec.Retain()
	if table == schemas.CustomerPredictions.Name {
		s.preds = append(s.preds, rec)
	} else {
		s.recs = append(s.recs, rec)
	}
	return nil
}

func (s *stage) Close() error {
	for _, r := range append(s.recs, s.preds...) {
		r.Release()
	}
	s.recs, s.preds = nil, nil
	return nil
}

// predictionColumns joins the prediction batches into one array per
// column, checked to be in customer_summary's customer order.
func (s *stage) predictionColumns() ([]arrow.Array, error) {
	n := len(schemas.CustomerPredictions.Columns)
	cols := make([]arrow.Array, n)
	for k := 0; k < n; k++ {
		parts := make([]arrow.Array, len(s.preds))
		for i, r := range s.preds {
			parts[i] = r.Column(k)
		}
		if len(parts) == 0 {
			cols[k] = array.MakeArrayOfNull(s.rc.Mem, schemas.CustomerPredictions.Columns[k].Type, 0)
			continue
		}
		c, err := array.Concatenate(parts, s.rc.Mem)
		if err != nil {
			return nil, err
		}
		cols[k] = c
	}
	ids := cols[0].(*array.String)
	base := 0
	cs := schemas.CustomerSummary
	for _, rec := range s.recs {
		sum := rec.Column(cs.MustIndex("customer_id")).(*array.String)
		for i := 0; i < sum.Len(); i++ {
			if base+i >= ids.Len() || ids.Value(base+i) != sum.Value(i) {
				for _, c := range cols {
					c.Release()
				}
				return nil, fmt.Errorf("%s does not line up with %s at row %d", schemas.CustomerPredictions.Name, cs.Name, base+i)
			}
		}
		base += sum.Len()
	}
	if base != ids.Len() {
		return nil, fmt.Errorf("%d predictions for %d customers", ids.Len(), base)
	}
	return cols, nil
}

// columns are the per-customer figures scoring needs, in row order.
type columns struct {
	daysSince []float64
	orders    []float64
	revenue   []float64
}

func (s *stage) gather() columns {
	var c columns
	cs := schemas.CustomerSummary
	for _, rec := range s.recs {
		tenure := rec.Column(cs.MustIndex("tenure_days")).(*array.Int64).Int64Values()
		recency := rec.Column(cs.MustIndex("recency_days")).(*array.Int64).Int64Values()
		orders := rec.Column(cs.MustIndex("order_count")).(*array.Int64).Int64Values()
		revenue := rec.Column(cs.MustIndex("total_revenue")).(*array.Float64).Float64Values()
		for i := range tenure {
			c.daysSince = append(c.daysSince, float64(tenure[i]-recency[i]))
			c.orders = append(c.orders, float64(orders[i]))
			c.revenue = append(c.revenue, revenue[i])
		}
	}
	return c
}

func (s *stage) Finish(ctx context.Context, out pipeline.Emitter) error {
	c := s.gather()
	r := quintileScores(c.daysSince, false)
	f := quintileScores(c.orders, true)
	// Money is scored in cents: sums of the same amounts in another order
	// differ in the last bits, and such customers must still tie.
	cents := make([]float64, len(c.revenue))
	for i, v := range c.revenue {
		cents[i] = math.Round(v * 100)
	}
	m := quintileScores(cents, true)
	rules := s.rc.Job.Segments.Rules
	cac := s.rc.Job.Segments.CAC
	agg := newSummary(rules)

	preds, err := s.predictionColumns()
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range preds {
			c.Release()
		}
	}()
	schema := schemas.LookupForSegments(s.rc.Job.Layout()).Schema()
	cs := schemas.CustomerSummary
	scoreCols := len(schema.Fields()) - len(cs.Columns) - (len(preds) - 1)
	base := 0
	for _, rec := range s.recs {
		n := int(rec.NumRows())
		extra := array.NewRecordBuilder(s.rc.Mem, arrow.NewSchema(schema.Fields()[len(cs.Columns):len(cs.Columns)+scoreCols], nil))
		days := extra.Field(0).(*array.Int64Builder)
		rs, fs, ms := extra.Field(1).(*array.Int64Builder), extra.Field(2).(*array.Int64Builder), extra.Field(3).(*array.Int64Builder)
		cell, seg := extra.Field(4).(*array.StringBuilder), extra.Field(5).(*array.StringBuilder)
		hclv, repeat := extra.Field(6).(*array.Float64Builder), extra.Field(7).(*array.BooleanBuilder)
		freq := rec.Column(cs.MustIndex("frequency")).(*array.Int64).Int64Values()
		country := rec.Column(cs.MustIndex("country")).(*array.String)
		channel := rec.Column(cs.MustIndex("channel")).(*array.String)
		for i := 0; i < n; i++ {
			k := base + i
			name := segmentOf(rules, int(r[k]), int(f[k]), int(m[k]))
			clv := c.revenue[k] - cac
			days.Append(int64(c.daysSince[k]))
			rs.Append(int64(r[k]))
			fs.Append(int64(f[k]))
			ms.Append(int64(m[k]))
			cell.Append(strconv.Itoa(int(r[k])*100 + int(f[k])*10 + int(m[k])))
			seg.Append(name)
			hclv.Append(clv)
			repeat.Append(freq[i] > 0)
			agg.add(name, valueOr(country, i), valueOr(channel, i), c.orders[k], c.revenue[k], clv, c.daysSince[k])
		}
		added := extra.NewRecord()
		extra.Release()
		cols := append(append([]arrow.Array(nil), rec.Columns()...), added.Columns()...)
		var slices []arrow.Array
		for _, p := range preds[1:] {
			sl := array.NewSlice(p, int64(base), int64(base+n))
			slices = append(slices, sl)
			cols = append(cols, sl)
		}
		outRec := array.NewRecord(schema, cols, int64(n))
		added.Release()
		for _, sl := range slices {
			sl.Release()
		}
		err := out.Emit(ctx, schemas.CustomerSegments.Name, outRec)
		outRec.Release()
		if err != nil {
			return err
		}
		base += n
	}
	sum := agg.record(s.rc)
	defer sum.Release()
	return out.Emit(ctx, schemas.SegmentSummary.Name, sum)
}

func segmentOf(rules []job.SegmentRule, r, f, m int) string {
	for _, rule := range rules {
		if rule.Matches(r, f, m) {
			return rule.Name
		}
	}
	return Other
}

func valueOr(a *array.String, i int) string {
	if a.IsNull(i) || a.Value(i) == "" {
		return "unknown"
	}
	return a.Value(i)
}
