// Package kpis is the stage that computes retention KPIs per calendar
// period: customers at start and end, new, reactivated and churned customers,
// retention and churn rates, and order economics, overall and per country.
package kpis

import (
	"context"
	"math"
	"slices"
	"strings"
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
		Inputs:  []string{schemas.CustomerPeriods.Name},
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
			return newStage(rc, unit, int32(cfg.ChurnDays), cfg.RetentionSpend, localday.RunDate(rc)), nil
		},
	}, Section)
}

const total = "all"

func newStage(rc *night.Context, unit calendar.Unit, churn int32, spend map[string]float64, runDay int32) *stage {
	s := &stage{rc: rc, unit: unit, churn: churn, spend: spend, runDay: runDay, dims: map[string]*dimension{}}
	s.walk.Visit = s.visit
	return s
}

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
	// cells[i] is period base+i (calendar.Unit.Index): every grid cell
	// looks its period up twice, and a slice is cheaper to ask than a map.
	cells []*cell
	base  int
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
	walk   history.PeriodWalker
	// all is dims[total], which every customer adds to.
	all *dimension
	// scratch is top20Share's radix sort buffer, kept across cells.
	scratch []uint32
}

func (s *stage) Process(_ context.Context, _ string, rec arrow.Record, _ engine.Emitter) error {
	return s.walk.Add(rec)
}

func (s *stage) cellsFor(c *history.Cells) [2]*dimension {
	country := c.Country
	if country == "" {
		country = "unknown"
	}
	if s.all == nil {
		s.all = &dimension{first: c.First[0]}
		s.dims[total] = s.all
	}
	d := s.dims[country]
	if d == nil {
		d = &dimension{first: c.First[0]}
		s.dims[strings.Clone(country)] = d // the batch's memory otherwise
	}
	out := [2]*dimension{s.all, d}
	for _, d := range out {
		d.first = min(d.first, c.First[0])
	}
	return out
}

// at is period idx's cell, made on first use.
func (d *dimension) at(idx int) *cell {
	i := idx - d.base
	if i < 0 || i >= len(d.cells) {
		d.grow(idx)
		i = idx - d.base
	}
	c := d.cells[i]
	if c == nil {
		c = &cell{}
		d.cells[i] = c
	}
	return c
}

// grow widens cells to hold period idx.
func (d *dimension) grow(idx int) {
	if len(d.cells) == 0 {
		d.base, d.cells = idx, make([]*cell, 1, 16)
		return
	}
	if idx >= d.base+len(d.cells) {
		d.cells = append(d.cells, make([]*cell, idx-d.base-len(d.cells)+1)...)
		return
	}
	cells := make([]*cell, d.base+len(d.cells)-idx, d.base+cap(d.cells)-idx)
	copy(cells[d.base-idx:], d.cells)
	d.base, d.cells = idx, cells
}

// get is period idx's cell, nil when no customer touched it.
func (d *dimension) get(idx int) *cell {
	if i := idx - d.base; i >= 0 && i < len(d.cells) {
		return d.cells[i]
	}
	return nil
}

func (s *stage) visit(c *history.Cells) error {
	dims := s.cellsFor(c)
	// Order economics per period: no cell spans two periods and cells are
	// in time order, so a period's cells are adjacent.
	for i := 0; i < len(c.First); {
		idx := s.unit.Index(c.First[i])
		var orders int64
		var revenue, refunded float64
		for ; i < len(c.First) && s.unit.Index(c.First[i]) == idx; i++ {
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
	// A cell is shorter than churn days, so no span ends inside one: a
	// span breaks only between cells and lasts to its last cell's end.
	start, end, first := c.First[0], c.Last[0]+s.churn, true
	span := func() {
		from, churned := s.unit.Index(start), end <= s.runDay
		to := 0
		if churned {
			to = s.unit.Index(end)
		}
		for _, d := range dims {
			x := d.at(from)
			if first {
				x.newC++
			} else {
				x.reactivated++
			}
			if churned {
				d.at(to).churned++
			}
		}
		first = false
	}
	for i := 1; i < len(c.First); i++ {
		if c.First[i] < end {
			end = c.Last[i] + s.churn
			continue
		}
		span()
		start, end = c.First[i], c.Last[i]+s.churn
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
		c := d.get(s.unit.Index(start))
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
		share, ok := s.top20Share(c.revenues, c.revenue)
		optional(18, share, ok)
		spend, given := s.spend[calendar.Date(start).Format(time.DateOnly)]
		given = given && name == total
		optional(19, spend, given)
		optional(20, spend/float64(c.active), given && c.active > 0)
		f64(21).Append(c.net)
	}
}

// top20Share is the revenue share of the top ceil(20%) customers. It is
// top20ShareSorted with a radix sort in place of a comparison sort, which
// was most of the stage's time on a large shop; the sums add the same
// values in the same (descending) order, so the share has the same bits.
func (s *stage) top20Share(revenues []float32, total float64) (float64, bool) {
	if len(revenues) == 0 || total == 0 {
		return 0, false
	}
	keys, ok := sortKeys(revenues, &s.scratch)
	if !ok {
		// A NaN has no place in the key order; the comparison sort
		// puts it where it always did.
		return top20ShareSorted(revenues, total)
	}
	k := int(math.Ceil(0.2 * float64(len(keys))))
	var top, all float64
	for i := range keys {
		v := float64(fromKey(keys[len(keys)-1-i]))
		if i < k {
			top += v
		}
		all += v
	}
	return top / all, true
}

// sortKeys returns the order keys (toKey) of revenues in ascending order,
// in *scratch, or false if a revenue is NaN. The keys order as the
// values do, except that -0 comes before +0; the sums starting at +0
// ignore where a zero of either sign falls.
func sortKeys(revenues []float32, scratch *[]uint32) ([]uint32, bool) {
	n := len(revenues)
	if cap(*scratch) < 2*n {
		*scratch = make([]uint32, 2*n)
	}
	a, b := (*scratch)[:n], (*scratch)[n:2*n]
	for i, v := range revenues {
		if v != v {
			return nil, false
		}
		a[i] = toKey(v)
	}
	if n < 256 {
		slices.Sort(a)
		return a, true
	}
	// LSD radix sort by 11, 11 and 10 bits; a digit every key shares
	// needs no pass.
	const bits = 11
	var counts [3][1 << bits]int
	for _, k := range a {
		counts[0][k&(1<<bits-1)]++
		counts[1][k>>bits&(1<<bits-1)]++
		counts[2][k>>(2*bits)]++
	}
	for p := range counts {
		shift := uint(p * bits)
		if counts[p][a[0]>>shift&(1<<bits-1)] == n {
			continue
		}
		var sum int
		for d, c := range counts[p] {
			counts[p][d] = sum
			sum += c
		}
		for _, k := range a {
			d := k >> shift & (1<<bits - 1)
			b[counts[p][d]] = k
			counts[p][d]++
		}
		a, b = b, a
	}
	return a, true
}

// toKey maps a float32 that is not NaN to a uint32 that orders as it
// does: negative values have every bit flipped, others the sign bit set.
func toKey(v float32) uint32 {
	u := math.Float32bits(v)
	if u>>31 != 0 {
		return ^u
	}
	return u | 1<<31
}

// fromKey inverts toKey.
func fromKey(k uint32) float32 {
	if k>>31 != 0 {
		return math.Float32frombits(k &^ (1 << 31))
	}
	return math.Float32frombits(^k)
}

// top20ShareSorted is top20Share by a comparison sort, which also places
// NaNs; it reorders revenues.
func top20ShareSorted(revenues []float32, total float64) (float64, bool) {
	if len(revenues) == 0 || total == 0 {
		return 0, false
	}
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
