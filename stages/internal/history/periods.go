// Package history regroups the customer_periods table into one purchase
// history per customer, for stages that reason about a customer's days in
// order. It relies on the table's documented order (customer_id, then
// first_date) and holds one customer at a time.
package history

import (
	"fmt"
	"sort"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/schemas"
	"retain/stages/internal/exactsum"
)

// Cells is one customer's rows of customer_periods, in time order: the
// customer's history cut at the night's grid (stages/internal/periods).
// Cell 0 is the first purchase day alone. Its slices are reused for the
// next customer: copy what must outlive the callback.
type Cells struct {
	ID      string
	Country string // "" when unknown
	// First and Last are each cell's first and last purchase day, Days
	// the distinct purchase days it holds.
	First, Last []int32
	Days        []int64
	Orders      []int64
	Revenue     []float64
	// Refunded is what each cell's orders had refunded: Revenue − Refunded
	// is the cell's net value. RunDateRefunded and PeriodDayLaterRefunded
	// are its parts dated on the run date and after the same day of the
	// previous kpis.period: a run for the night before, or for that day,
	// on the same input does not see them.
	Refunded               []float64
	RunDateRefunded        []float64
	PeriodDayLaterRefunded []float64
	// Residuals are the four money columns' residuals, in the order
	// Revenue, Refunded, RunDateRefunded, PeriodDayLaterRefunded: each
	// value plus its residual is the cell's exact sum (0 when exact).
	Residuals [4][]float64
}

// Upto is how many of the customer's cells fall on or before day d: the
// customer as a run for night d saw them, since that run excludes every
// later row. d must be a night the grid cuts after (periods.For lists
// them), so no cell holds days on both sides. Every stage that reports a
// previous night reads its state through here, so the nights agree across
// stages.
//
// Amounts posted after d that change a day on or before d (a refund dated
// later than its order) belong to the later night: NetUpto leaves them out.
func (c *Cells) Upto(d int32) int {
	return UptoDay(c.First, d)
}

// PurchaseDays is the number of distinct purchase days in the first k
// cells.
func (c *Cells) PurchaseDays(k int) int64 {
	var n int64
	for _, d := range c.Days[:k] {
		n += d
	}
	return n
}

// PeriodWalker collects customer_periods batches and calls Visit once per
// customer.
type PeriodWalker struct {
	Visit func(*Cells) error
	cur   Cells
	open  bool
}

// Add consumes one customer_periods batch.
func (w *PeriodWalker) Add(rec arrow.Record) error {
	ids := rec.Column(0).(*array.String)
	country := rec.Column(1).(*array.String)
	first := rec.Column(2).(*array.Date32).Date32Values()
	last := rec.Column(3).(*array.Date32).Date32Values()
	days := rec.Column(4).(*array.Int64).Int64Values()
	orders := rec.Column(5).(*array.Int64).Int64Values()
	revenue := rec.Column(6).(*array.Float64).Float64Values()
	refunded := rec.Column(7).(*array.Float64).Float64Values()
	runDate := rec.Column(8).(*array.Float64).Float64Values()
	later := rec.Column(9).(*array.Float64).Float64Values()
	var resid [4]*array.Float64
	for i := range resid {
		resid[i] = rec.Column(10 + i).(*array.Float64)
	}
	for i := 0; i < len(first); {
		id := ids.Value(i)
		if !w.open || id != w.cur.ID {
			if w.open {
				if id < w.cur.ID {
					return fmt.Errorf("%s is not sorted by customer_id: %q after %q", schemas.CustomerPeriods.Name, id, w.cur.ID)
				}
				if err := w.Visit(&w.cur); err != nil {
					return err
				}
			}
			c := &w.cur
			*c = Cells{ID: string([]byte(id)), First: c.First[:0], Last: c.Last[:0], Days: c.Days[:0], Orders: c.Orders[:0], Revenue: c.Revenue[:0],
				Refunded: c.Refunded[:0], RunDateRefunded: c.RunDateRefunded[:0], PeriodDayLaterRefunded: c.PeriodDayLaterRefunded[:0], Residuals: c.Residuals}
			for i := range c.Residuals {
				c.Residuals[i] = c.Residuals[i][:0]
			}
			if country.IsValid(i) {
				c.Country = country.Value(i)
			}
			w.open = true
		}
		end := i + 1
		for end < len(first) && ids.Value(end) == id {
			end++
		}
		for j := i; j < end; j++ {
			f, l := int32(first[j]), int32(last[j])
			if n := len(w.cur.Last); l < f || (n > 0 && f <= w.cur.Last[n-1]) {
				return fmt.Errorf("%s is not sorted by first_date, or has overlapping cells, for customer %q", schemas.CustomerPeriods.Name, id)
			}
			w.cur.First = append(w.cur.First, f)
			w.cur.Last = append(w.cur.Last, l)
		}
		w.cur.Days = append(w.cur.Days, days[i:end]...)
		w.cur.Orders = append(w.cur.Orders, orders[i:end]...)
		w.cur.Revenue = append(w.cur.Revenue, revenue[i:end]...)
		w.cur.Refunded = append(w.cur.Refunded, refunded[i:end]...)
		w.cur.RunDateRefunded = append(w.cur.RunDateRefunded, runDate[i:end]...)
		w.cur.PeriodDayLaterRefunded = append(w.cur.PeriodDayLaterRefunded, later[i:end]...)
		for r, col := range resid {
			if col.NullN() == 0 {
				w.cur.Residuals[r] = append(w.cur.Residuals[r], col.Float64Values()[i:end]...)
				continue
			}
			for j := i; j < end; j++ {
				v := 0.0
				if col.IsValid(j) {
					v = col.Value(j)
				}
				w.cur.Residuals[r] = append(w.cur.Residuals[r], v)
			}
		}
		i = end
	}
	return nil
}

// Flush visits the last customer.
func (w *PeriodWalker) Flush() error {
	if !w.open {
		return nil
	}
	w.open = false
	return w.Visit(&w.cur)
}

// NetUpto appends to dst the net value of each of the first k cells as the
// night before the run date saw them, and returns it: revenue less the
// refunds made by then. Refunds dated on the run date took their money off
// on the run date, not on the order's day, so that night does not see
// them. Only the run date, the night before and the same day of the
// previous kpis.period (NetUptoPeriodDay) are known apart; no other night
// is.
func (c *Cells) NetUpto(dst []float64, k int) []float64 {
	for i := range k {
		dst = append(dst, c.Revenue[i]-(c.Refunded[i]-c.RunDateRefunded[i]))
	}
	return dst
}

// NetUptoPeriodDay is NetUpto for the same day of the previous
// kpis.period: the refunds dated after that day are left out. Upto of that
// day gives k.
func (c *Cells) NetUptoPeriodDay(dst []float64, k int) []float64 {
	for i := range k {
		dst = append(dst, c.Revenue[i]-(c.Refunded[i]-c.PeriodDayLaterRefunded[i]))
	}
	return dst
}

// UptoDay is Upto on a bare slice of days in time order.
func UptoDay(days []int32, d int32) int {
	if n := len(days); n == 0 || days[n-1] <= d {
		return n
	}
	return sort.Search(len(days), func(i int) bool { return days[i] > d })
}

// exact is cell i's exact sum of money column m (0 Revenue, 1 Refunded,
// 2 RunDateRefunded, 3 PeriodDayLaterRefunded).
func (c *Cells) exact(m, i int) exactsum.Sum {
	v := [...][]float64{c.Revenue, c.Refunded, c.RunDateRefunded, c.PeriodDayLaterRefunded}[m][i]
	return exactsum.OfPair(v, c.Residuals[m][i])
}

// NetSums appends to dst the exact net value (revenue less refunds) of
// each of the first k cells, as the run date sees them. Summed, they give
// the same bits whichever grid cut the days: a previous night's run, with
// other cells, sums the same orders.
func (c *Cells) NetSums(dst []exactsum.Sum, k int) []exactsum.Sum { return c.netSums(dst, k, -1) }

// NetUptoSums is NetUpto, exact: NetSums as the night before the run date
// saw them.
func (c *Cells) NetUptoSums(dst []exactsum.Sum, k int) []exactsum.Sum { return c.netSums(dst, k, 2) }

// NetUptoPeriodDaySums is NetUptoPeriodDay, exact.
func (c *Cells) NetUptoPeriodDaySums(dst []exactsum.Sum, k int) []exactsum.Sum {
	return c.netSums(dst, k, 3)
}

// netSums is revenue less refunds, with the refunds of money column unseen
// (those a night before the run date does not see yet, see exact) given
// back; none when unseen is -1.
func (c *Cells) netSums(dst []exactsum.Sum, k, unseen int) []exactsum.Sum {
	for i := range k {
		s := c.exact(0, i)
		s.Merge(c.exact(1, i).Neg())
		if unseen >= 0 {
			s.Merge(c.exact(unseen, i))
		}
		dst = append(dst, s)
	}
	return dst
}
