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

// order is one used order as the stage reads it.
type order struct {
	customer string
	ts       int64
	day      int32
	amount   float64
	country  string
	channel  string
	hasCtry  bool
	hasChan  bool
}

// add folds one order into its customer's state.
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
		c.lastTS = append(c.lastTS, o.ts)
		c.orders = append(c.orders, 1)
		c.revenue = append(c.revenue, o.amount)
		c.days = append(c.days, []purchaseDay{{day: o.day, orders: 1, revenue: o.amount}})
		c.country = append(c.country, c.intern(o.country, o.hasCtry))
		c.channel = append(c.channel, c.intern(o.channel, o.hasChan))
		return
	}
	c.orders[k]++
	c.revenue[k] += o.amount
	c.firstTS[k] = min(c.firstTS[k], o.ts)
	// The latest order names the customer's country and channel; on a tie
	// the later row wins, as input order is fixed.
	if o.ts >= c.lastTS[k] {
		c.lastTS[k] = o.ts
		c.country[k] = c.intern(o.country, o.hasCtry)
		c.channel[k] = c.intern(o.channel, o.hasChan)
	}
	d := c.days[k]
	last := &d[len(d)-1]
	switch {
	case o.day == last.day:
		last.orders++
		last.revenue += o.amount
	case o.day > last.day:
		c.days[k] = append(d, purchaseDay{day: o.day, orders: 1, revenue: o.amount})
	default:
		i, seen := slices.BinarySearchFunc(d, o.day, func(p purchaseDay, day int32) int { return int(p.day - day) })
		if seen {
			d[i].orders++
			d[i].revenue += o.amount
		} else {
			c.days[k] = slices.Insert(d, i, purchaseDay{day: o.day, orders: 1, revenue: o.amount})
		}
	}
}
