package customersummary

import (
	"slices"
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
