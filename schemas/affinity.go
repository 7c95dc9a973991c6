package schemas

import "github.com/apache/arrow/go/v15/arrow"

// ProductAffinity lists products bought together, for bundles and cross-sell.
var ProductAffinity = Table{
	Name:  "product_affinity",
	Grain: "one row per pair of products bought in the same order",
	Doc: "Pairs of SKUs in the same used order (valid, counted, up to the run date), from input.order_items. product_a sorts before product_b. " +
		"A pair is kept when it has at least affinity.min_pair_orders orders (default 5) and is among the top affinity.top_k pairs (default 10, by pair_orders then lift) of either product. " +
		"Products are counted exactly; pair counts are exact unless the number of distinct pairs outgrew affinity.max_pairs (default 5,000,000), " +
		"when the rarest pairs were dropped to stay in memory (a lossy count: frequent pairs are never dropped) and max_undercount bounds how much that pair's pair_orders may be too low. " +
		"Items need not be sorted: up to affinity.open_orders orders (default 4,096) collect items at once; items of an order already counted, more than that many orders later, are excluded (order_items_not_adjacent in the manifest's item_accounting) and logged.",
	Columns: []Column{
		snapshotDate,
		{"product_a", arrow.BinaryTypes.String, false, "First SKU of the pair."},
		{"product_b", arrow.BinaryTypes.String, false, "Second SKU of the pair."},
		{"pair_orders", arrow.PrimitiveTypes.Int64, false, "Orders containing both."},
		{"orders_with_a", arrow.PrimitiveTypes.Int64, false, "Orders containing product_a."},
		{"orders_with_b", arrow.PrimitiveTypes.Int64, false, "Orders containing product_b."},
		{"support", arrow.PrimitiveTypes.Float64, false, "pair_orders / orders with items."},
		{"confidence_a_to_b", arrow.PrimitiveTypes.Float64, false, "pair_orders / orders_with_a: chance an order with a also has b."},
		{"confidence_b_to_a", arrow.PrimitiveTypes.Float64, false, "pair_orders / orders_with_b."},
		{"lift", arrow.PrimitiveTypes.Float64, false, "support / (support of a × support of b); above 1 means bought together more than by chance."},
		{"max_undercount", arrow.PrimitiveTypes.Int64, false, "Upper bound on how much this pair's pair_orders may undercount (pair_orders ≤ true count ≤ pair_orders + max_undercount); 0 means exact."},
	},
}
