package input

import (
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// MetaAggregate marks a batch on a raw table that carries counts a
// warehouse computed instead of input rows; its value names the kind.
const MetaAggregate = "aggregate"

// Kinds of aggregate batches the BigQuery reader sends on order_items_raw
// when pushdown pairs the products in SQL (see bqsource.ItemsPushdown);
// product affinity adds them to what it counts from item rows.
const (
	// ItemCounts is one row: item rows counted in SQL (folded), of those
	// used and of an order not used, the ids trimmed among them by
	// column (trimmed_order_id, trimmed_sku), and the baskets they form.
	ItemCounts = "item_counts"
	// ItemProducts is a row per product: sku and the used orders holding
	// it (orders).
	ItemProducts = "item_products"
	// ItemPairs is a row per pair of products: sku_a, sku_b and the used
	// orders holding both (pair_orders).
	ItemPairs = "item_pairs"
)

// TagAggregate returns rec marked as an aggregate batch of kind; the
// caller releases it. Tag keeps the mark.
func TagAggregate(rec arrow.Record, kind string) arrow.Record {
	md := arrow.NewMetadata([]string{MetaAggregate}, []string{kind})
	return array.NewRecord(arrow.NewSchema(rec.Schema().Fields(), &md), rec.Columns(), rec.NumRows())
}

// AggregateOf is the kind of an aggregate batch, "" for a batch of input
// rows.
func AggregateOf(rec arrow.Record) string {
	md := rec.Schema().Metadata()
	if i := md.FindKey(MetaAggregate); i >= 0 {
		return md.Values()[i]
	}
	return ""
}
