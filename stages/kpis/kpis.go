// Package kpis is the stage that computes retention KPIs per calendar
// period: customers at start and end, new, reactivated and churned customers,
// retention and churn rates, and order economics, overall and per country.
package kpis

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/history"
	"retain/stages/internal/localday"
)

// Register adds the kpis stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "kpis",
		Doc:     "retention_kpis: per period S, E, N, retention and churn, orders, revenue, AOV, frequency, repeat rate, revenue concentration, retention cost.",
		Inputs:  []string{schemas.CustomerActivity.Name},
		Outputs: []string{schemas.RetentionKPIs.Name},
		// Folding its input needs no emitter, so the runner may run its
		// Process calls beside the stages that feed it.
		Background: true,
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			cfg := Section.Of(rc.Job)
			unit, err := calendar.ParseUnit(cfg.Period)
			if err != nil {
				return nil, err
			}
			s := &stage{rc: rc, unit: unit, churn: int32(cfg.ChurnDays), spend: cfg.RetentionSpend, runDay: localday.RunDate(rc), dims: map[string]*dimension{}}
			s.walk.Visit = s.visit
			return s, nil
		},
	}, Section)
}

const total = "all"

// cell is one dimension value's figures for one period.
type cell struct {
	newC, reactivated, churned int64
	active, repeaters, orders  int64
	revenue, net               float64
	// revenues of the period's active customers, for top20_revenue_share:
	// one value per customer and period, the only part that grows with
	// customers; float32 halves it and only orders customers and sums the
	// top fifth, where 7 significant digits are plenty.
	revenues []float32
}

type dimension struct {
	first int32 // earliest first-order day, where the rows start
	cells map[int]*cell
}

type stage struct {
	// spend is kpis.retention_spend, by period start date.
	spend map[string]float64
	engine.BaseStage
	rc     *night.Context
	unit   calendar.Unit
	churn  int32
	runDay int32
	dims   map[string]*dimension
	walk   history.Walker
}

func (s *stage) Process(_ context.Context, _ string, rec arrow.Record, _ engine.Emitter) error {
	return s.walk.Add(rec)
}

func (s *stage) cellsFor(c *history.Customer) [2]*dimension {
	country := c.Country
	if country == "" {
		country = "unknown"
	}
	var out [2]*dimension
	for i, name := range [2]string{total, country} {
		d := s.dims[name]
		if d == nil {
			d = &dimension{first: c.Days[0], cells: map[int]*cell{}}
			s.dims[name] = d
		}
		d.first = min(d.first, c.Days[0])
		out[i] = d
	}
	return out
}

func (d *dimension) at(idx int) *cell {
	c := d.cells[idx]
	if c == nil {
		c = &cell{}
		d.cells[idx] = c
	}
	return c
}

func (s *stage) visit(c *history.Customer) error {
	dims := s.cellsFor(c)
	// Order economics per period: days are sorted, so a period's days are adjacent.
	for i := 0; i < len(c.Days); {
		idx := s.unit.Index(c.Days[i])
		var orders int64
		var revenue, refunded float64
		for ; i < len(c.Days) && s.unit.Index(c.Days[i]) == idx; i++ {
			orders += c.Orders[i]
			revenue += c.Revenue[i]
			refunded += c.Refunded[i]
		}
		for _, d := range dims {
			x := d.at(idx)
			x.active++
			x.orders += orders
			x.revenue += revenue
			x.net += revenue - refunded
			if orders >= 2 {
				x.repeaters++
			}
			x.revenues = append(x.revenues, float32(revenue))
		}
	}
	// Customer spans: each order keeps the customer for churn days; a
	// span ends (churn) on the first day churn days after its last order.
	start, end, first := c.Days[0], c.Days[0]+s.churn, true
	span := func() {
		for _, d := range dims {
			x := d.at(s.unit.Index(start))
			if first {
				x.newC++
			} else {
				x.reactivated++
			}
			if end <= s.runDay {
				d.at(s.unit.Index(end)).churned++
			}
		}
		first = false
	}
	for _, day := range c.Days[1:] {
		if day < end {
			end = day + s.churn
			continue
		}
		span()
		start, end = day, day+s.churn
	}
	span()
	return nil
}

func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	if err := s.walk.Flush(); err != nil {
		return err
	}
	names := make([]string, 0, len(s.dims))
	for k := range s.dims {
		if k != total {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if _, ok := s.dims[total]; ok {
		names = append([]string{total}, names...)
	}
	b := array.NewRecordBuilder(s.rc.Mem, schemas.RetentionKPIs.Schema())
	defer b.Release()
	for _, name := range names {
		s.rows(b, name, s.dims[name])
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.RetentionKPIs.Name, rec)
}

func (s *stage) rows(b *array.RecordBuilder, name string, d *dimension) {
	dimension := "country"
	if name == total {
		dimension = "total"
	}
	f64 := func(i int) *array.Float64Builder { return b.Field(i).(*array.Float64Builder) }
	i64 := func(i int) *array.Int64Builder { return b.Field(i).(*array.Int64Builder) }
	optional := func(i int, v float64, ok bool) {
		if ok {
			f64(i).Append(v)
		} else {
			f64(i).AppendNull()
		}
	}
	var customers int64
	for start := s.unit.Start(d.first); start <= s.runDay; start = s.unit.Next(start) {
		c := d.cells[s.unit.Index(start)]
		if c == nil {
			c = &cell{}
		}
		startCount := customers
		customers += c.newC + c.reactivated - c.churned
		end := min(s.unit.Next(start)-1, s.runDay)
		b.Field(0).(*array.Date32Builder).Append(s.rc.SnapshotDate)
		b.Field(1).(*array.StringBuilder).Append(dimension)
		b.Field(2).(*array.StringBuilder).Append(name)
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32(start))
		b.Field(4).(*array.Date32Builder).Append(arrow.Date32(end))
		i64(5).Append(startCount)
		i64(6).Append(customers)
		i64(7).Append(c.newC)
		i64(8).Append(c.reactivated)
		i64(9).Append(c.churned)
		S := float64(startCount)
		optional(10, float64(customers-c.newC)/S, startCount > 0)
		optional(11, float64(c.churned)/S, startCount > 0)
		i64(12).Append(c.active)
		i64(13).Append(c.orders)
		f64(14).Append(c.revenue)
		optional(15, c.revenue/float64(c.orders), c.orders > 0)
		optional(16, float64(c.orders)/float64(c.active), c.active > 0)
		optional(17, float64(c.repeaters)/float64(c.active), c.active > 0)
		share, ok := top20Share(c.revenues, c.revenue)
		optional(18, share, ok)
		spend, given := s.spend[calendar.Date(start).Format(time.DateOnly)]
		given = given && name == total
		optional(19, spend, given)
		optional(20, spend/float64(c.active), given && c.active > 0)
		f64(21).Append(c.net)
	}
}

// top20Share is the revenue share of the top ceil(20%) customers.
func top20Share(revenues []float32, total float64) (float64, bool) {
	if len(revenues) == 0 || total == 0 {
		return 0, false
	}
	slices.SortFunc(revenues, func(a, b float32) int { return -cmpFloat(a, b) })
	k := int(math.Ceil(0.2 * float64(len(revenues))))
	var top, all float64
	for i, v := range revenues {
		if i < k {
			top += float64(v)
		}
		all += float64(v)
	}
	// Both sums from the same float32 values, so the share is exact to
	// their precision rather than mixing rounded and unrounded money.
	return top / all, true
}

func cmpFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
