// Package marginconfig declares the job file's margin section. It is a
// package of its own because validation reads it too: only when it is on
// does validation keep, beside each used order id, what the margin stage
// needs of the order, and that memory is paid by every order.
package marginconfig

import "retain/config"

// Margin configures the per-customer margin rate from order item costs.
type Margin struct {
	ItemCosts bool `yaml:"item_costs" doc:"Reads unit_cost of input.order_items into a margin rate per customer, 1 − Σ(quantity × unit_cost) / Σ(quantity × unit_price) over the lines of the customer's used orders whose cost and price are known, each line in the reporting currency at its order's rate; predicted_clv_margin is then predicted_clv × that rate, and clv.margin_rate only the fallback for customers without such a line. Validation keeps each used order's customer and exchange rate beside its id for it, 16 bytes more per slot of the order-id set (about 26 per order). false (the default) ignores unit_cost."`
}

// Section is the job file's margin section.
var Section = config.NewSpec("margin", "Margin rate per customer from the cost of the goods in input.order_items (customer_segments.margin_rate).",
	func() Margin { return Margin{} }, nil)

// Of is the job's margin section.
func Of(f *config.File) *Margin { return Section.Of(f) }
