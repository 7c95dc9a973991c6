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
	"github.com/apache/arrow/go/v15/arrow/memory"
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
		Inputs:  []string{schemas.CustomerSummary.Name, schemas.CustomerPredictions.Name, schemas.CustomerActions.Name, schemas.CustomerPeriods.Name},
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
	walk   history.PeriodWalker
	nights *nights
	// changeTracking is segments.change_tracking: without it the customers'
	// periods are not walked and no earlier night is scored.
	changeTracking bool
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	if table == schemas.CustomerPeriods.Name {
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

// joinedColumn is a column of a joined table as the batches it came in,
// with the customer_summary row each ends at: a batch of customer_segments
// takes its rows from them, so the column is never copied whole into one
// array, and each batch goes once the rows it holds are emitted.
type joinedColumn struct {
	typ   arrow.DataType
	parts []arrow.Array // nil once released
	ends  []int64
}

// rows is rows [lo, hi) of the column, which the caller releases: a slice
// of one batch, or the pieces of the batches it spans copied together.
func (j *joinedColumn) rows(mem memory.Allocator, lo, hi int64) (arrow.Array, error) {
	var pieces []arrow.Array
	start := int64(0)
	for p, part := range j.parts {
		if end := j.ends[p]; part != nil && end > lo && start < hi {
			pieces = append(pieces, array.NewSlice(part, max(lo, start)-start, min(hi, end)-start))
		}
		start = j.ends[p]
	}
	switch len(pieces) {
	case 0:
		return array.MakeArrayOfNull(mem, j.typ, 0), nil
	case 1:
		return pieces[0], nil
	}
	defer func() {
		for _, p := range pieces {
			p.Release()
		}
	}()
	return array.Concatenate(pieces, mem)
}

// releaseThrough lets go of the batches that end at or before row hi.
func (j *joinedColumn) releaseThrough(hi int64) {
	for p, part := range j.parts {
		if part != nil && j.ends[p] <= hi {
			part.Release()
			j.parts[p] = nil
		}
	}
}

func (j *joinedColumn) release() { j.releaseThrough(math.MaxInt64) }

// joinColumns takes a joined table's batches, one joinedColumn per column
// after customer_id, checked to line up with customer_summary.
func (s *stage) joinColumns(t schemas.Table, ids []string) ([]joinedColumn, error) {
	chunks := s.joined[t.Name]
	cols := make([]joinedColumn, len(t.Columns))
	release := func() {
		for k := range cols {
			cols[k].release()
		}
	}
	for k, c := range t.Columns {
		cols[k].typ = c.Type
		if len(chunks) == 0 {
			continue
		}
		cols[k].parts, chunks[k] = chunks[k], nil
		var end int64
		for _, p := range cols[k].parts {
			end += int64(p.Len())
			cols[k].ends = append(cols[k].ends, end)
		}
	}
	var rows int
	for _, p := range cols[0].parts {
		rows += p.Len()
	}
	if rows != len(ids) {
		release()
		return nil, fmt.Errorf("%s has %d rows for %d customers", t.Name, rows, len(ids))
	}
	i := 0
	for _, p := range cols[0].parts {
		got := p.(*array.String)
		for r := range got.Len() {
			if got.Value(r) != ids[i] {
				release()
				return nil, fmt.Errorf("%s does not line up with %s at row %d", t.Name, schemas.CustomerSummary.Name, i)
			}
			i++
		}
	}
	cols[0].release()
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

	// The joined tables' columns in customer_segments' order, and the
	// previous night's, which go with the changes.
	var joinedCols []*joinedColumn
	carriedCols := map[string]*joinedColumn{}
	defer func() {
		for _, col := range joinedCols {
			col.release()
		}
		for _, col := range carriedCols {
			col.release()
		}
	}()
	for _, t := range joined {
		cols, err := s.joinColumns(t, c.ids)
		if err != nil {
			return err
		}
		for k := range cols {
			if name := t.Columns[k+1].Name; carriedColumns[name] {
				carriedCols[name] = &cols[k]
				continue
			}
			joinedCols = append(joinedCols, &cols[k])
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
	pNoPurchase, err := joinedCols[schemas.CustomerPredictions.MustIndex("p_no_purchase")-1].rows(s.rc.Mem, 0, int64(len(c.ids)))
	if err != nil {
		return err
	}
	risk := churnRisk(actionsconfig.Of(s.rc.Job).ChurnRisk, c, pNoPurchase.(*array.Float64))
	pNoPurchase.Release()
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
		// This batch's rows of the joined columns, released once the
		// output record holds them.
		extraCols := make([]arrow.Array, 0, len(joinedCols))
		carried := map[string]*array.Float64{}
		releaseBatch := func() {
			for _, col := range extraCols {
				col.Release()
			}
			for _, col := range carried {
				col.Release()
			}
		}
		for _, col := range joinedCols {
			a, err := col.rows(s.rc.Mem, int64(base), int64(base+n))
			if err != nil {
				releaseBatch()
				return err
			}
			extraCols = append(extraCols, a)
		}
		for name, col := range carriedCols {
			a, err := col.rows(s.rc.Mem, int64(base), int64(base+n))
			if err != nil {
				releaseBatch()
				return err
			}
			carried[name] = a.(*array.Float64)
		}
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
			appendChanges(change, k, i, past, carried, extraCols)
			if s.changeTracking {
				moves.add(past.previous[k], name, valueOr(country, i), valueOr(channel, i), c.revenue[k], carried, extraCols, i)
			}
		}
		scores, tailRec, changeRec := extra.NewRecord(), tail.NewRecord(), change.NewRecord()
		extra.Release()
		tail.Release()
		change.Release()
		cols := append(append([]arrow.Array(nil), rec.Columns()...), scores.Columns()...)
		cols = append(cols, extraCols...)
		cols = append(append(cols, tailRec.Columns()...), changeRec.Columns()...)
		outRec := array.NewRecord(schema, cols, int64(n))
		scores.Release()
		tailRec.Release()
		changeRec.Release()
		releaseBatch()
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
		for _, col := range joinedCols {
			col.releaseThrough(int64(base + n))
		}
		for _, col := range carriedCols {
			col.releaseThrough(int64(base + n))
		}
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
