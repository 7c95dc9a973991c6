package schemas

import "github.com/apache/arrow/go/v15/arrow"

// Orders is the canonical input contract for orders. A job file maps a shop's
// own column names onto these names; only the required ones must be mapped.
// Source types may differ (see OrdersRequired and the extract stage): this is
// the shape after validation.
var Orders = Table{
	Name:  "orders",
	Grain: "one row per order",
	Doc:   "Orders of the shop, as read from the source and typed by the validate stage.",
	Columns: []Column{
		{"order_id", arrow.BinaryTypes.String, false, "Order identifier, unique per order (required). Source: string or integer."},
		{"customer_id", arrow.BinaryTypes.String, false, "Customer identifier (required). Source: string or integer."},
		{"order_ts", Timestamp, false, "When the order was placed (required). Source: timestamp, date, or a string in RFC 3339, 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD' or 'YYYYMMDD'; strings without a zone are read in the job's time zone."},
		{"amount", arrow.PrimitiveTypes.Float64, false, "Order value (required); after validation in input.reporting_currency when input.fx_rates is given. A negative amount is a partial refund of the order with the same order_id (see validate.refund_statuses). Source: float, integer, decimal or numeric string."},
		{"currency", arrow.BinaryTypes.String, true, "ISO 4217 currency code of amount."},
		{"country", arrow.BinaryTypes.String, true, "Country of the order (ISO 3166 alpha-2 recommended)."},
		{"channel", arrow.BinaryTypes.String, true, "Sales channel, e.g. web, app, store."},
		{"status", arrow.BinaryTypes.String, true, "Order status; only statuses listed in the job's counted_statuses or refund_statuses (orders refunded in full) are used. Missing status counts as counted."},
	},
}

// OrdersRequired lists the Orders columns a job must map.
var OrdersRequired = []string{"order_id", "customer_id", "order_ts", "amount"}

// OrderItems is the canonical input contract for order line items (optional input).
var OrderItems = Table{
	Name:  "order_items",
	Grain: "one row per order line",
	Doc:   "Line items of orders, used for product affinity and, with margin.item_costs, for each customer's margin rate.",
	Columns: []Column{
		{"order_id", arrow.BinaryTypes.String, false, "Order the line belongs to."},
		{"sku", arrow.BinaryTypes.String, false, "Product identifier."},
		{"quantity", arrow.PrimitiveTypes.Int64, true, "Units of the product in the order."},
		{"unit_price", arrow.PrimitiveTypes.Float64, true, "Price per unit in the order's currency."},
		{"unit_cost", arrow.PrimitiveTypes.Float64, true, "What the shop paid per unit, in the order's currency (optional; read with margin.item_costs). A negative or non-finite unit_cost quarantines the line (invalid_unit_cost)."},
	},
}

// FXRates is the optional exchange-rate input: one rate per currency and
// day, applied to an order at the rate of its local order date or the latest
// earlier date.
var FXRates = Table{
	Name:  "fx_rates",
	Grain: "one row per currency and date",
	Doc:   "Exchange rates into the reporting currency (input.fx_rates).",
	Columns: []Column{
		{"date", arrow.FixedWidthTypes.Date32, false, "Day the rate applies from. Source: date, timestamp or date string."},
		{"currency", arrow.BinaryTypes.String, false, "ISO 4217 code."},
		{"rate_to_reporting", arrow.PrimitiveTypes.Float64, false, "Units of the reporting currency per unit of currency."},
	},
}

// FXRatesRequired lists the FXRates columns a job must map: all of them.
var FXRatesRequired = []string{"date", "currency", "rate_to_reporting"}

// OrderItemsRequired lists the OrderItems columns a job must map.
var OrderItemsRequired = []string{"order_id", "sku"}

// The raw input tables are intermediate (not written): input rows as the
// readers deliver them, with canonical column names but each source's own
// types, which differ between files and warehouses; so they are names, not
// Tables with one schema. Validation types raw orders into Orders; product
// affinity checks raw items as they come.
const (
	// RawOrders carries input.orders rows from the readers to validation.
	RawOrders = "orders_raw"
	// RawItems carries input.order_items rows to product affinity and the
	// margin stage.
	RawItems = "order_items_raw"
)
