// Package handover declares the values stages hand to each other, so a
// provider and the stages that need a value share its name and type without
// importing each other.
package handover

import "retain/engine"

// OrderLookup tells a stage that reads order items which orders the run
// used.
type OrderLookup interface {
	// Claim looks up ids in order and claims each: used[i] says whether
	// ids[i] is a used order, claimed[i] whether it was claimed before (by
	// an earlier call or earlier in ids). It works on a batch so the
	// lookups can overlap their memory reads.
	Claim(ids []string, used, claimed []bool)
}

// UsedOrders is validation's set of used order ids, lent to product
// affinity instead of that stage building a second set of the same size,
// the largest state of a run. Validation provides it only when the job
// reads order items; the engine drops it once affinity has finished.
var UsedOrders = engine.NewKey[OrderLookup]("used_orders")

// OrderCustomer is what the margin stage learns of one order.
type OrderCustomer struct {
	// Used says whether the order is a used order; the rest is zero when
	// not.
	Used bool
	// Customer is the fingerprint (fingerprint.Key) of the order's
	// customer_id.
	Customer uint64
	// Rate is the order's exchange rate into the reporting currency: 1
	// when the job converts nothing or the order is in that currency.
	Rate float64
}

// CustomerLookup tells the margin stage whose each order is.
type CustomerLookup interface {
	// Customers looks up ids in order into got (len(ids) long). Unlike
	// Claim it marks nothing: every line of a used order counts.
	Customers(ids []string, got []OrderCustomer)
}

// OrderCustomers is validation's set of used order ids with each order's
// customer and exchange rate, which it keeps only when margin.item_costs is
// on and the job reads order items; the engine drops it once the margin
// stage has finished.
var OrderCustomers = engine.NewKey[CustomerLookup]("order_customers")
