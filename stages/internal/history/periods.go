// Package history regroups the customer_periods table into one purchase
// history per customer, for stages that reason about a customer's days in
// order. It relies on the table's documented order (customer_id, then
// first_date) and holds one customer at a time.
package history

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/schemas"
	"retain/stages/internal/exactsum"
)

// Cells is one customer's rows of customer_periods, in time order: the
// customer's history cut at the night's grid (stages/internal/periods).
// Cell 0 is the first purchase day alone. Its slices and its ID and
// Country are the batch's own memory or buffers reused for the next
// customer: copy what must outlive the callback (strings.Clone for the
// ID).
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
// customer. A customer whose rows all lie inside one batch is visited with
// views of the batch's columns, a dozen slice headers, rather than copies:
// every stage that reads the table walks it, so copying each cell's
// columns for each was a copy of the table per stage. Only the last
// customer of a batch, who may go on in the next, is copied.
type PeriodWalker struct {
	Visit func(*Cells) error
	// cur is the customer carried over from the previous batch, in
	// buffers of the walker's own, when open.
	cur  Cells
	open bool
	// view is the customer visited in place.
	view Cells
	// dense holds a batch's residual columns that have nulls, as 0s.
	dense [4][]float64
	zeros []float64
}

// periodColumns are one customer_periods batch's columns.
type periodColumns struct {
	ids, country                      *array.String
	first, last                       []int32
	days, orders                      []int64
	revenue, refunded, runDate, later []float64
	resid                             [4][]float64
}

func (w *PeriodWalker) columns(rec arrow.Record) periodColumns {
	date := func(i int) []int32 {
		v := rec.Column(i).(*array.Date32).Date32Values()
		// arrow.Date32 is an int32: the same memory, typed as the Cells'.
		return unsafe.Slice((*int32)(unsafe.SliceData(v)), len(v))
	}
	c := periodColumns{
		ids:      rec.Column(0).(*array.String),
		country:  rec.Column(1).(*array.String),
		first:    date(2),
		last:     date(3),
		days:     rec.Column(4).(*array.Int64).Int64Values(),
		orders:   rec.Column(5).(*array.Int64).Int64Values(),
		revenue:  rec.Column(6).(*array.Float64).Float64Values(),
		refunded: rec.Column(7).(*array.Float64).Float64Values(),
		runDate:  rec.Column(8).(*array.Float64).Float64Values(),
		later:    rec.Column(9).(*array.Float64).Float64Values(),
	}
	n := int(rec.NumRows())
	for r := range c.resid {
		col := rec.Column(10 + r).(*array.Float64)
		switch col.NullN() {
		case 0:
			c.resid[r] = col.Float64Values()
		case n:
			// Most batches: every cell's sum is exact.
			if len(w.zeros) < n {
				w.zeros = make([]float64, n)
			}
			c.resid[r] = w.zeros[:n]
		default:
			d := slices.Grow(w.dense[r][:0], n)[:n]
			for j := range d {
				d[j] = 0
				if col.IsValid(j) {
					d[j] = col.Value(j)
				}
			}
			w.dense[r], c.resid[r] = d, d
		}
	}
	return c
}

// Add consumes one customer_periods batch.
func (w *PeriodWalker) Add(rec arrow.Record) error {
	c := w.columns(rec)
	n := len(c.first)
	for i := 0; i < n; {
		id := c.ids.Value(i)
		end := i + 1
		for end < n && c.ids.Value(end) == id {
			end++
		}
		if w.open && id == w.cur.ID {
			// The carried-over customer goes on.
			if err := appendRun(&w.cur, &c, i, end); err != nil {
				return err
			}
			i = end
			continue
		}
		if w.open {
			if id < w.cur.ID {
				return unsorted(id, w.cur.ID)
			}
			w.open = false
			if err := w.Visit(&w.cur); err != nil {
				return err
			}
		}
		country := ""
		if c.country.IsValid(i) {
			country = c.country.Value(i)
		}
		if end == n {
			// The batch's last customer may go on in the next one.
			cu := &w.cur
			// Copied: the batch is released before the customer's visit.
			*cu = Cells{ID: strings.Clone(id), Country: strings.Clone(country), First: cu.First[:0], Last: cu.Last[:0], Days: cu.Days[:0], Orders: cu.Orders[:0], Revenue: cu.Revenue[:0],
				Refunded: cu.Refunded[:0], RunDateRefunded: cu.RunDateRefunded[:0], PeriodDayLaterRefunded: cu.PeriodDayLaterRefunded[:0], Residuals: cu.Residuals}
			for r := range cu.Residuals {
				cu.Residuals[r] = cu.Residuals[r][:0]
			}
			if err := appendRun(cu, &c, i, end); err != nil {
				return err
			}
			w.open = true
			return nil
		}
		if err := checkRun(&c, i, end, noCell, id); err != nil {
			return err
		}
		// A customer is visited once the next is known to sort after it.
		if next := c.ids.Value(end); next < id {
			return unsorted(next, id)
		}
		v := &w.view
		*v = Cells{ID: id, Country: country, First: c.first[i:end], Last: c.last[i:end], Days: c.days[i:end], Orders: c.orders[i:end],
			Revenue: c.revenue[i:end], Refunded: c.refunded[i:end], RunDateRefunded: c.runDate[i:end], PeriodDayLaterRefunded: c.later[i:end]}
		for r := range v.Residuals {
			v.Residuals[r] = c.resid[r][i:end]
		}
		if err := w.Visit(v); err != nil {
			return err
		}
		i = end
	}
	return nil
}

func unsorted(id, after string) error {
	return fmt.Errorf("%s is not sorted by customer_id: %q after %q", schemas.CustomerPeriods.Name, id, after)
}

// noCell is checkRun's after when no cell comes before: below every day
// a Date32 holds, those before 1970 (negative) included.
const noCell = math.MinInt32

// checkRun checks that rows i to end of one customer are cells in time
// order that do not overlap, after a cell ending on day after (noCell for
// none).
func checkRun(c *periodColumns, i, end int, after int32, id string) error {
	for j := i; j < end; j++ {
		f, l := c.first[j], c.last[j]
		if l < f || f <= after {
			return fmt.Errorf("%s is not sorted by first_date, or has overlapping cells, for customer %q", schemas.CustomerPeriods.Name, id)
		}
		after = l
	}
	return nil
}

// appendRun copies rows i to end, of cu's customer, into cu's own buffers.
func appendRun(cu *Cells, c *periodColumns, i, end int) error {
	after := int32(noCell)
	if k := len(cu.Last); k > 0 {
		after = cu.Last[k-1]
	}
	if err := checkRun(c, i, end, after, cu.ID); err != nil {
		return err
	}
	cu.First = append(cu.First, c.first[i:end]...)
	cu.Last = append(cu.Last, c.last[i:end]...)
	cu.Days = append(cu.Days, c.days[i:end]...)
	cu.Orders = append(cu.Orders, c.orders[i:end]...)
	cu.Revenue = append(cu.Revenue, c.revenue[i:end]...)
	cu.Refunded = append(cu.Refunded, c.refunded[i:end]...)
	cu.RunDateRefunded = append(cu.RunDateRefunded, c.runDate[i:end]...)
	cu.PeriodDayLaterRefunded = append(cu.PeriodDayLaterRefunded, c.later[i:end]...)
	for r := range cu.Residuals {
		cu.Residuals[r] = append(cu.Residuals[r], c.resid[r][i:end]...)
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
