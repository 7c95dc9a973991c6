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
