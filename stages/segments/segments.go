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
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/actions/actionsconfig"
	"retain/stages/clv/clvconfig"
	"retain/stages/internal/history"
	"retain/stages/internal/localday"
)

// Other is the segment of a customer that matches no rule.
const Other = "Other"

// Register adds the segments stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "segments",
		Doc:     "RFM scores, rfm_segment and historical CLV per customer (customer_segments) with the previous night's segment, segment_summary and segment_transitions.",
		Inputs:  []string{schemas.CustomerSummary.Name, schemas.CustomerPredictions.Name, schemas.CustomerActions.Name, schemas.CustomerActivity.Name},
		Outputs: []string{schemas.CustomerSegments.Name, schemas.SegmentSummary.Name, schemas.SegmentTransitions.Name},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			s := &stage{rc: rc, nights: newNights(localday.RunDate(rc), Section.Of(rc.Job).SinceLookbackDays), changeTracking: Section.Of(rc.Job).ChangeTracking}
			s.walk.Visit = s.nights.visit
			return s, nil
		},
	}, Section, actionsconfig.Section, clvconfig.Section)
}

// joined are the per-customer tables merged into customer_segments; each
// comes in customer_summary's customer order.
var joined = []schemas.Table{schemas.CustomerPredictions, schemas.CustomerActions}

// stage keeps the customer_summary batches (one row per customer, so memory
// follows customers) because quintiles need every customer before any score.
type stage struct {
	engine.BaseStage
	rc   *night.Context
	recs []arrow.Record
	// joined holds the joined tables' batches column by column (table, then
	// column, then batch), so that each column's batches can be let go as
	// soon as they are concatenated: holding whole batches would keep every
	// column's batches alive beside the copies until the last column is
	// done.
	joined map[string][][]arrow.Array
	walk   history.Walker
	nights *nights
	// changeTracking is segments.change_tracking: without it the activity
	// is not walked and no earlier night is scored.
	changeTracking bool
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	if table == schemas.CustomerActivity.Name {
		if !s.changeTracking {
			return nil
		}
		return s.walk.Add(rec)
	}
	rec.Retain()
	if table == schemas.CustomerSummary.Name {
		s.recs = append(s.recs, rec)
		return nil
	}
	defer rec.Release()
	if s.joined == nil {
		s.joined = map[string][][]arrow.Array{}
	}
	chunks := s.joined[table]
	if chunks == nil {
		chunks = make([][]arrow.Array, rec.NumCols())
		s.joined[table] = chunks
	}
	for k, col := range rec.Columns() {
		col.Retain()
		chunks[k] = append(chunks[k], col)
	}
	return nil
}

func (s *stage) Close(context.Context) error {
	for _, r := range s.recs {
		if r != nil {
			r.Release()
		}
	}
	for _, chunks := range s.joined {
		for _, parts := range chunks {
			for _, p := range parts {
				p.Release()
			}
		}
	}
	s.recs, s.joined = nil, nil
	return nil
}

// joinColumns concatenates a joined table's batches into one array per
// column after customer_id, checked to line up with customer_summary. The
// batches of each column are released once it is concatenated.
func (s *stage) joinColumns(t schemas.Table, ids []string) ([]arrow.Array, error) {
	chunks := s.joined[t.Name]
	cols := make([]arrow.Array, len(t.Columns))
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for k, c := range t.Columns {
		if len(chunks) == 0 {
			cols[k] = array.MakeArrayOfNull(s.rc.Mem, c.Type, 0)
			continue
		}
		parts := chunks[k]
		if len(parts) == 1 {
			// One batch is the column already: it changes hands uncopied.
			cols[k], chunks[k] = parts[0], nil
			continue
		}
		joinedCol, err := array.Concatenate(parts, s.rc.Mem)
		if err != nil {
			release()
			return nil, err
		}
		for _, p := range parts {
			p.Release()
		}
		cols[k], chunks[k] = joinedCol, nil
	}
	got := cols[0].(*array.String)
	if got.Len() != len(ids) {
		release()
		return nil, fmt.Errorf("%s has %d rows for %d customers", t.Name, got.Len(), len(ids))
	}
	for i, id := range ids {
		if got.Value(i) != id {
			release()
			return nil, fmt.Errorf("%s does not line up with %s at row %d", t.Name, schemas.CustomerSummary.Name, i)
		}
	}
	cols[0].Release()
	return cols[1:], nil
}

// columns are the per-customer figures scoring needs, in row order.
type columns struct {
	ids       []string
	daysSince []float64
	orders    []float64
	revenue   []float64
	net       []float64
	recency   []float64
	frequency []float64
}

func (s *stage) gather() columns {
	// Sized up front: grown by appending, each slice would hold up to a
	// quarter more than the customers while every other is alive too.
	var rows int64
	for _, rec := range s.recs {
		rows += rec.NumRows()
	}
	c := columns{ids: make([]string, 0, rows), daysSince: make([]float64, 0, rows), orders: make([]float64, 0, rows),
		revenue: make([]float64, 0, rows), net: make([]float64, 0, rows), recency: make([]float64, 0, rows), frequency: make([]float64, 0, rows)}
	cs := schemas.CustomerSummary
	for _, rec := range s.recs {
		ids := rec.Column(cs.MustIndex("customer_id")).(*array.String)
		tenure := rec.Column(cs.MustIndex("tenure_days")).(*array.Int64).Int64Values()
		recency := rec.Column(cs.MustIndex("recency_days")).(*array.Int64).Int64Values()
		orders := rec.Column(cs.MustIndex("order_count")).(*array.Int64).Int64Values()
		revenue := rec.Column(cs.MustIndex("total_revenue")).(*array.Float64).Float64Values()
		net := rec.Column(cs.MustIndex("net_revenue")).(*array.Float64).Float64Values()
		freq := rec.Column(cs.MustIndex("frequency")).(*array.Int64).Int64Values()
		for i := range tenure {
			c.ids = append(c.ids, ids.Value(i))
			c.daysSince = append(c.daysSince, float64(tenure[i]-recency[i]))
			c.orders = append(c.orders, float64(orders[i]))
			c.revenue = append(c.revenue, revenue[i])
			c.net = append(c.net, net[i])
			c.recency = append(c.recency, float64(recency[i]))
			c.frequency = append(c.frequency, float64(freq[i]))
		}
	}
	return c
}

func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
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
	rules := Section.Of(s.rc.Job).Rules
	cac := Section.Of(s.rc.Job).CAC
	agg := newSummary(rules)

	var extraCols []arrow.Array
	defer func() {
		for _, col := range extraCols {
			col.Release()
		}
	}()
	carried := map[string]*array.Float64{}
	for _, t := range joined {
		cols, err := s.joinColumns(t, c.ids)
		if err != nil {
			return err
		}
		for k, col := range cols {
			if name := t.Columns[k+1].Name; carriedColumns[name] {
				carried[name] = col.(*array.Float64)
				defer col.Release()
				continue
			}
			extraCols = append(extraCols, col)
		}
	}
	if err := s.walk.Flush(); err != nil {
		return err
	}
	names := make([]string, len(c.ids))
	for k := range names {
		names[k] = segmentOf(rules, int(r[k]), int(f[k]), int(m[k]))
	}
	past := untracked(len(names), s.nights.runDay)
	if s.changeTracking {
		var err error
		if past, err = s.nights.segmentHistory(rules, c, cents, names); err != nil {
			return err
		}
	}
	moves := newTransitions(rules)
	pNoPurchase := extraCols[schemas.CustomerPredictions.MustIndex("p_no_purchase")-1].(*array.Float64)
	risk := churnRisk(actionsconfig.Of(s.rc.Job).ChurnRisk, c, pNoPurchase)
	top := topSpenders(cents, actionsconfig.Of(s.rc.Job).TopSpenderPercent)

	schema := schemas.LookupForSegments(clvconfig.Layout(s.rc.Job)).Schema()
	cs := schemas.CustomerSummary
	scoreFields := schema.Fields()[len(cs.Columns) : len(cs.Columns)+9]
	tailAt := schema.FieldIndices("churn_risk")[0]
	changeFields := schema.Fields()[tailAt+2:]
	base := 0
	for b, rec := range s.recs {
		n := int(rec.NumRows())
		extra := array.NewRecordBuilder(s.rc.Mem, arrow.NewSchema(scoreFields, nil))
		days := extra.Field(0).(*array.Int64Builder)
		rs, fs, ms := extra.Field(1).(*array.Int64Builder), extra.Field(2).(*array.Int64Builder), extra.Field(3).(*array.Int64Builder)
		cell, seg := extra.Field(4).(*array.StringBuilder), extra.Field(5).(*array.StringBuilder)
		hclv, netCLV, repeat := extra.Field(6).(*array.Float64Builder), extra.Field(7).(*array.Float64Builder), extra.Field(8).(*array.BooleanBuilder)
		tail := array.NewRecordBuilder(s.rc.Mem, arrow.NewSchema(schema.Fields()[tailAt:tailAt+2], nil))
		change := array.NewRecordBuilder(s.rc.Mem, arrow.NewSchema(changeFields, nil))
		riskB, topB := tail.Field(0).(*array.StringBuilder), tail.Field(1).(*array.BooleanBuilder)
		country := rec.Column(cs.MustIndex("country")).(*array.String)
		channel := rec.Column(cs.MustIndex("channel")).(*array.String)
		for i := 0; i < n; i++ {
			k := base + i
			name := names[k]
			clv := c.revenue[k] - cac
			days.Append(int64(c.daysSince[k]))
			rs.Append(int64(r[k]))
			fs.Append(int64(f[k]))
			ms.Append(int64(m[k]))
			cell.Append(strconv.Itoa(int(r[k])*100 + int(f[k])*10 + int(m[k])))
			seg.Append(name)
			hclv.Append(clv)
			// Defined as historical_clv is, on net revenue.
			netCLV.Append(c.net[k] - cac)
			repeat.Append(c.frequency[k] > 0)
			riskB.Append(risk[k])
			topB.Append(top[k])
			agg.add(name, valueOr(country, i), valueOr(channel, i), c.orders[k], c.revenue[k], c.net[k], clv, c.daysSince[k])
			appendChanges(change, k, past, carried, extraCols)
			if s.changeTracking {
				moves.add(past.previous[k], name, valueOr(country, i), valueOr(channel, i), c.revenue[k], carried, extraCols, k)
			}
		}
		scores, tailRec, changeRec := extra.NewRecord(), tail.NewRecord(), change.NewRecord()
		extra.Release()
		tail.Release()
		change.Release()
		cols := append(append([]arrow.Array(nil), rec.Columns()...), scores.Columns()...)
		var slices []arrow.Array
		for _, col := range extraCols {
			sl := array.NewSlice(col, int64(base), int64(base+n))
			slices = append(slices, sl)
			cols = append(cols, sl)
		}
		cols = append(append(cols, tailRec.Columns()...), changeRec.Columns()...)
		outRec := array.NewRecord(schema, cols, int64(n))
		scores.Release()
		tailRec.Release()
		changeRec.Release()
		for _, sl := range slices {
			sl.Release()
		}
		err := out.Emit(ctx, schemas.CustomerSegments.Name, outRec)
		outRec.Release()
		if err != nil {
			return err
		}
		// Its rows are emitted: the batch goes now rather than when the
		// stage closes, so the writer's row group does not fill up beside
		// every customer_summary batch. Its ids point into it.
		clear(c.ids[base : base+n])
		rec.Release()
		s.recs[b] = nil
		base += n
	}
	sum := agg.record(s.rc)
	defer sum.Release()
	if err := out.Emit(ctx, schemas.SegmentSummary.Name, sum); err != nil {
		return err
	}
	tr := moves.record(s.rc)
	defer tr.Release()
	return out.Emit(ctx, schemas.SegmentTransitions.Name, tr)
}

func segmentOf(rules []Rule, r, f, m int) string {
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
