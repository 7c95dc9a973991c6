// Package history regroups the customer_activity table into one purchase
// history per customer, for stages that reason about a customer's days in
// order. It relies on the table's documented order (customer_id, then
// activity_date) and holds one customer at a time.
package history

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/schemas"
)

// Customer is one customer's purchase days in time order. Its slices are
// reused for the next customer: copy what must outlive the callback.
type Customer struct {
	ID      string
	Country string // "" when unknown
	Days    []int32
	Orders  []int64
	Revenue []float64
	// Refunded is what each day's orders had refunded: Revenue − Refunded
	// is the day's net value.
	Refunded []float64
	// RunDateRefunded is the part of Refunded from refunds dated on the
	// run date, which the night before does not see (see NetUpto).
	RunDateRefunded []float64
	// PeriodDayLaterRefunded is the part of Refunded from refunds dated
	// after the same day of the previous kpis.period, which a run for that
	// day does not see (see NetUptoPeriodDay).
	PeriodDayLaterRefunded []float64
}

// Walker collects activity batches and calls Visit once per customer.
type Walker struct {
	Visit func(*Customer) error
	cur   Customer
	open  bool
}

// Add consumes one customer_activity batch.
func (w *Walker) Add(rec arrow.Record) error {
	ids := rec.Column(0).(*array.String)
	country := rec.Column(1).(*array.String)
	dates := rec.Column(2).(*array.Date32).Date32Values()
	orders := rec.Column(3).(*array.Int64).Int64Values()
	revenue := rec.Column(4).(*array.Float64).Float64Values()
	refunded := rec.Column(5).(*array.Float64).Float64Values()
	runDateRefunded := rec.Column(6).(*array.Float64).Float64Values()
	periodLater := rec.Column(7).(*array.Float64).Float64Values()
	for i := 0; i < len(dates); {
		id := ids.Value(i)
		if !w.open || id != w.cur.ID {
			if w.open {
				if id < w.cur.ID {
					return fmt.Errorf("%s is not sorted by customer_id: %q after %q", schemas.CustomerActivity.Name, id, w.cur.ID)
				}
				if err := w.Visit(&w.cur); err != nil {
					return err
				}
			}
			w.cur = Customer{ID: string([]byte(id)), Days: w.cur.Days[:0], Orders: w.cur.Orders[:0], Revenue: w.cur.Revenue[:0], Refunded: w.cur.Refunded[:0], RunDateRefunded: w.cur.RunDateRefunded[:0],
				PeriodDayLaterRefunded: w.cur.PeriodDayLaterRefunded[:0]}
			if country.IsValid(i) {
				w.cur.Country = country.Value(i)
			}
			w.open = true
		}
		// The customer's rows of this batch are a run: its days are
		// checked one by one, the other columns copied whole.
		end := i + 1
		for end < len(dates) && ids.Value(end) == id {
			end++
		}
		for _, d := range dates[i:end] {
			day := int32(d)
			if n := len(w.cur.Days); n > 0 && day <= w.cur.Days[n-1] {
				return fmt.Errorf("%s is not sorted by activity_date for customer %q", schemas.CustomerActivity.Name, id)
			}
			w.cur.Days = append(w.cur.Days, day)
		}
		w.cur.Orders = append(w.cur.Orders, orders[i:end]...)
		w.cur.Revenue = append(w.cur.Revenue, revenue[i:end]...)
		w.cur.Refunded = append(w.cur.Refunded, refunded[i:end]...)
		w.cur.RunDateRefunded = append(w.cur.RunDateRefunded, runDateRefunded[i:end]...)
		w.cur.PeriodDayLaterRefunded = append(w.cur.PeriodDayLaterRefunded, periodLater[i:end]...)
		i = end
	}
	return nil
}

// Flush visits the last customer.
func (w *Walker) Flush() error {
	if !w.open {
		return nil
	}
	w.open = false
	return w.Visit(&w.cur)
}
