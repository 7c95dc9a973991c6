package customersummary

import (
	"slices"
)

// customers is the per-customer state, one slot per customer in parallel
// slices: no per-order data is kept. Besides a handful of numbers per
// customer, the only growing part is the sorted list of distinct purchase
// days (4 bytes a day), which BTYD frequency needs when input is not sorted by
// time.
type customers struct {
	index   map[string]int32
	ids     []string
	firstTS []int64
	lastTS  []int64
	orders  []int64
	revenue []float64
	// firstDayValue is the spend on days[0], which BTYD monetary value leaves out.
	firstDayValue []float64
	days          [][]int32
}

func newCustomers() *customers { return &customers{index: make(map[string]int32, 1<<16)} }

func (c *customers) len() int { return len(c.ids) }

// add folds one order into its customer's state.
func (c *customers) add(id string, ts int64, day int32, amount float64) {
	k, found := c.index[id]
	if !found {
		k = int32(len(c.ids))
		// The id's bytes belong to an Arrow buffer that is released after
		// the batch; the map key must own its copy.
		id = string([]byte(id))
		c.index[id] = k
		c.ids = append(c.ids, id)
		c.firstTS = append(c.firstTS, ts)
		c.lastTS = append(c.lastTS, ts)
		c.orders = append(c.orders, 1)
		c.revenue = append(c.revenue, amount)
		c.firstDayValue = append(c.firstDayValue, amount)
		c.days = append(c.days, []int32{day})
		return
	}
	c.orders[k]++
	c.revenue[k] += amount
	c.firstTS[k] = min(c.firstTS[k], ts)
	c.lastTS[k] = max(c.lastTS[k], ts)
	d := c.days[k]
	switch {
	case day == d[0]:
		c.firstDayValue[k] += amount
	case day < d[0]:
		c.firstDayValue[k] = amount
	}
	if last := d[len(d)-1]; day > last {
		c.days[k] = append(d, day)
	} else if day < last {
		if i, seen := slices.BinarySearch(d, day); !seen {
			c.days[k] = slices.Insert(d, i, day)
		}
	}
}
