package customersummary

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/schemas"
)

// purchaseDay is one calendar day on which a customer ordered.
type purchaseDay struct {
	day     int32 // days since 1970-01-01 in the job's zone
	orders  int32
	revenue float64
}

// customers is the per-customer state, one slot per customer in parallel
// slices: no per-order data is kept. Besides a handful of numbers per
// customer, the only growing part is the sorted list of distinct purchase
// days (16 bytes a day), which BTYD frequency and the activity table need
// when input is not sorted by time.
type customers struct {
	index   map[string]int32
	ids     []string
	firstTS []int64
	lastTS  []int64
	orders  []int64
	revenue []float64
	days    [][]purchaseDay
	// country and channel of the latest order; interned, since a shop has
	// few distinct values and a million customers share them.
	country  []string
	channel  []string
	interned map[string]string
	refunds  refundState
}

func newCustomers() *customers {
	return &customers{index: make(map[string]int32, 1<<16), interned: map[string]string{}}
}

func (c *customers) len() int { return len(c.ids) }

func (c *customers) intern(s string, valid bool) string {
	if !valid {
		return ""
	}
	if v, ok := c.interned[s]; ok {
		return v
	}
	v := string([]byte(s))
	c.interned[v] = v
	return v
}

// order is one used order as the stage reads it, or, from a warehouse that
// folded them, all used orders of a customer on one day.
type order struct {
	customer string
	// ts and lastTS are the first and last order time; equal for one order.
	ts, lastTS int64
	day        int32
	orders     int32
	amount     float64
	country    string
	channel    string
	hasCtry    bool
	hasChan    bool
}

// add folds an order (or a customer's day of orders) into its customer's
// state.
func (c *customers) add(o order) {
	k, found := c.index[o.customer]
	if !found {
		k = int32(len(c.ids))
		// The id's bytes belong to an Arrow buffer that is released after
		// the batch; the map key must own its copy.
		id := string([]byte(o.customer))
		c.index[id] = k
		c.ids = append(c.ids, id)
		c.firstTS = append(c.firstTS, o.ts)
		c.lastTS = append(c.lastTS, o.lastTS)
		c.orders = append(c.orders, int64(o.orders))
		c.revenue = append(c.revenue, o.amount)
		c.days = append(c.days, []purchaseDay{{day: o.day, orders: o.orders, revenue: o.amount}})
		c.country = append(c.country, c.intern(o.country, o.hasCtry))
		c.channel = append(c.channel, c.intern(o.channel, o.hasChan))
		return
	}
	c.orders[k] += int64(o.orders)
	c.revenue[k] += o.amount
	c.firstTS[k] = min(c.firstTS[k], o.ts)
	// The latest order names the customer's country and channel; on a tie
	// the later row wins, as input order is fixed.
	if o.lastTS >= c.lastTS[k] {
		c.lastTS[k] = o.lastTS
		c.country[k] = c.intern(o.country, o.hasCtry)
		c.channel[k] = c.intern(o.channel, o.hasChan)
	}
	d := c.days[k]
	last := &d[len(d)-1]
	switch {
	case o.day == last.day:
		last.orders += o.orders
		last.revenue += o.amount
	case o.day > last.day:
		c.days[k] = append(d, purchaseDay{day: o.day, orders: o.orders, revenue: o.amount})
	default:
		i, seen := slices.BinarySearchFunc(d, o.day, func(p purchaseDay, day int32) int { return int(p.day - day) })
		if seen {
			d[i].orders += o.orders
			d[i].revenue += o.amount
		} else {
			c.days[k] = slices.Insert(d, i, purchaseDay{day: o.day, orders: o.orders, revenue: o.amount})
		}
	}
}

// pendingRefund is a refunds row, kept until every order is folded: the
// engine gives no order among input tables, and a refund is netted on its
// order's purchase day, which must exist by then.
type pendingRefund struct {
	customer string
	day      int32
	amount   float64
	runDate  float64
	// periodLater is the part of amount refunded after the same day of
	// the previous kpis.period.
	periodLater float64
}

// dayRefund is what a customer's orders of one day had refunded.
type dayRefund struct {
	customer int32
	day      int32
	orders   int64
	amount   float64
	// runDate is the part of amount refunded on the run date,
	// periodLater the part refunded after the same day of the previous
	// kpis.period.
	runDate, periodLater float64
}

// refundTotals are a customer's refunds over all days.
type refundTotals struct {
	amount float64
	orders int64
}

// refundState holds refunds apart from the purchase days, which stay 16
// bytes each: few customers have refunds, and every one of them would pay
// for a field in each of their days.
type refundState struct {
	pending []pendingRefund
	days    []dayRefund        // sorted by customer slot and day
	ranges  map[int32][2]int32 // a customer slot's entries in days
}

func (c *customers) addRefunds(rec arrow.Record) {
	col := func(name string) arrow.Array { return rec.Column(schemas.Refunds.MustIndex(name)) }
	ids := col("customer_id").(*array.String)
	days := col("order_date").(*array.Date32).Date32Values()
	amounts := col("refunded_amount").(*array.Float64).Float64Values()
	runDate := col("run_date_refunded_amount").(*array.Float64).Float64Values()
	later := col("period_day_later_refunded_amount").(*array.Float64).Float64Values()
	for i := range days {
		c.refunds.pending = append(c.refunds.pending, pendingRefund{customer: strings.Clone(ids.Value(i)), day: int32(days[i]), amount: amounts[i], runDate: runDate[i], periodLater: later[i]})
	}
}

// ErrRefundOfUnknownDay is wrapped when a refund names a customer or day
// without a used order, which validation rules out.
var ErrRefundOfUnknownDay = errors.New("refund of a day without used orders")

// settleRefunds files the pending refunds under their customers and days.
func (c *customers) settleRefunds() error {
	r := &c.refunds
	for _, p := range r.pending {
		k, found := c.index[p.customer]
		if !found {
			return fmt.Errorf("%w: customer %q has no used order", ErrRefundOfUnknownDay, p.customer)
		}
		if _, seen := slices.BinarySearchFunc(c.days[k], p.day, func(d purchaseDay, day int32) int { return cmp.Compare(d.day, day) }); !seen {
			return fmt.Errorf("%w: customer %q has no used order on day %d", ErrRefundOfUnknownDay, p.customer, p.day)
		}
		r.days = append(r.days, dayRefund{customer: k, day: p.day, orders: 1, amount: p.amount, runDate: p.runDate, periodLater: p.periodLater})
	}
	r.pending = nil
	slices.SortFunc(r.days, func(a, b dayRefund) int {
		if c := cmp.Compare(a.customer, b.customer); c != 0 {
			return c
		}
		if c := cmp.Compare(a.day, b.day); c != 0 {
			return c
		}
		// Summed in one order whatever the input's, so reruns agree to
		// the last bit.
		if c := cmp.Compare(a.amount, b.amount); c != 0 {
			return c
		}
		if c := cmp.Compare(a.runDate, b.runDate); c != 0 {
			return c
		}
		return cmp.Compare(a.periodLater, b.periodLater)
	})
	merged := r.days[:0]
	for _, d := range r.days {
		if n := len(merged); n > 0 && merged[n-1].customer == d.customer && merged[n-1].day == d.day {
			merged[n-1].orders += d.orders
			merged[n-1].amount += d.amount
			merged[n-1].runDate += d.runDate
			merged[n-1].periodLater += d.periodLater
			continue
		}
		merged = append(merged, d)
	}
	r.days = merged
	r.ranges = map[int32][2]int32{}
	for i := 0; i < len(merged); {
		j := i
		for j < len(merged) && merged[j].customer == merged[i].customer {
			j++
		}
		r.ranges[merged[i].customer] = [2]int32{int32(i), int32(j)}
		i = j
	}
	return nil
}

// refundsOf is customer slot k's refunds over all days.
func (c *customers) refundsOf(k int32) refundTotals {
	var t refundTotals
	rg, ok := c.refunds.ranges[k]
	if !ok {
		return t
	}
	for _, d := range c.refunds.days[rg[0]:rg[1]] {
		t.amount += d.amount
		t.orders += d.orders
	}
	return t
}

// refundedOn is what customer slot k had refunded of its orders of day.
func (c *customers) refundedOn(k, day int32) float64 { return c.dayRefund(k, day).amount }

// dayRefund is customer slot k's refunds of its orders of day.
func (c *customers) dayRefund(k, day int32) dayRefund {
	rg, ok := c.refunds.ranges[k]
	if !ok {
		return dayRefund{}
	}
	for _, d := range c.refunds.days[rg[0]:rg[1]] {
		if d.day == day {
			return d
		}
	}
	return dayRefund{}
}
