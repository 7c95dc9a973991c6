package bqsource

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/night"
	"retain/schemas"
	"retain/stages/affinity/affinityconfig"
	"retain/stages/internal/input"
	"retain/stages/margin/marginconfig"
)

// Names of ItemsPushdown's queries, as `retain plan` prints them and the
// manifest records them.
const (
	QueryItemCounts   = "item_counts"
	QueryRawItems     = "raw_items"
	QueryItemProducts = "item_products"
	QueryItemPairs    = "item_pairs"
)

// ItemsPushdown reads input.order_items with pushdown: BigQuery matches the
// items with the orders pushdown folds, by the same rule (an order is used
// when its id's winning row is folded and its status counts), and counts the
// used orders per product and per pair of products, so those items never
// cross the network. Item rows product affinity must judge come back as
// they are: rows without an order id or SKU, which it quarantines, and the
// items of orders whose rows go to validate (raw_orders), since only
// validate decides whether those are used. Affinity adds the counts to
// what it counts from those rows and builds product_affinity from both
// exactly as from local items.
type ItemsPushdown struct {
	// Counts has one row: item rows in the table (total), those counted
	// in SQL (folded) and of those the used ones, the trimmed ids among
	// them by column, and the used orders they form (baskets).
	Counts Query
	// Raw are the item rows affinity judges, the plain read's columns.
	Raw Query
	// Products has a row per product of a used order counted in SQL:
	// sku, orders.
	Products Query
	// Pairs has a row per pair of such products: sku_a < sku_b,
	// pair_orders; only pairs that can reach affinity.min_pair_orders
	// once the raw rows' orders are added.
	Pairs Query
}

// Queries lists the queries an items pushdown read issues, in the order it
// issues them.
func (p *ItemsPushdown) Queries() []*Query {
	return []*Query{&p.Counts, &p.Raw, &p.Products, &p.Pairs}
}

// PushesItems reports whether the job reads order items with pushdown:
// orders pushed down and the items a BigQuery table.
func PushesItems(rc *night.Context) bool {
	in := night.InputOf(rc.Job)
	return in.Orders.BigQuery != nil && in.Orders.BigQuery.Pushdown && in.OrderItems != nil && in.OrderItems.BigQuery != nil
}

// checkItemsPushdown refuses a job whose items pushdown would leave out
// what a stage needs: margin.item_costs costs every item line here.
func checkItemsPushdown(rc *night.Context) error {
	if PushesItems(rc) && marginconfig.Of(rc.Job).ItemCosts {
		return fmt.Errorf("%w: margin.item_costs needs every item line on this machine; read order items without pushdown", ErrPushdown)
	}
	return nil
}

// PlanItemsPushdown builds the items pushdown queries from the orders'
// pushdown (the queries share its definition of the rows, so an order is
// used in both by one rule) and the items table's schema.
func PlanItemsPushdown(rc *night.Context, orders *Pushdown, schema bigquery.Schema) (*ItemsPushdown, error) {
	if err := checkItemsPushdown(rc); err != nil {
		return nil, err
	}
	src := night.InputOf(rc.Job).OrderItems
	q, err := PlanTable(src, schemas.OrderItems, schemas.OrderItemsRequired, schema)
	if err != nil {
		return nil, err
	}
	// Order ids and SKUs compare trimmed, as affinity trims them; an id
	// or SKU blank once trimmed is affinity's to quarantine.
	with := strings.TrimSpace(orders.with) + ", items AS (" + q.SQL + "), " +
		"used_ids AS (SELECT DISTINCT TRIM(CAST(`order_id` AS STRING)) AS _oid FROM routed WHERE NOT _raw AND " + orders.counted + "), " +
		"raw_ids AS (SELECT DISTINCT TRIM(CAST(`order_id` AS STRING)) AS _oid FROM routed WHERE _raw), " +
		"item_rows AS (SELECT *, TRIM(CAST(`order_id` AS STRING)) AS _oid, TRIM(CAST(`sku` AS STRING)) AS _sku FROM items), " +
		// An order with a folded row is its id's winner, so its items
		// are counted here even when rejected rows or losing
		// duplicates share its id.
		"judged AS (SELECT i.*, i._oid IS NULL OR i._oid = '' OR i._sku IS NULL OR i._sku = '' AS _bad_item, " +
		"u._oid IS NOT NULL AS _used, u._oid IS NULL AND r._oid IS NOT NULL AS _raw_item " +
		"FROM item_rows AS i LEFT JOIN used_ids AS u ON u._oid = i._oid LEFT JOIN raw_ids AS r ON r._oid = i._oid), " +
		"folded AS (SELECT * FROM judged WHERE NOT _bad_item AND NOT _raw_item)"
	p := &ItemsPushdown{
		Counts:   Query{Name: QueryItemCounts, Table: q.Table, Columns: []string{"total", "folded", "used", "trimmed_order_id", "trimmed_sku", "baskets"}},
		Raw:      Query{Name: QueryRawItems, Table: q.Table, Columns: q.Columns},
		Products: Query{Name: QueryItemProducts, Table: q.Table, Columns: []string{"sku", "orders"}},
		Pairs:    Query{Name: QueryItemPairs, Table: q.Table, Columns: []string{"sku_a", "sku_b", "pair_orders"}},
	}
	p.Counts.SQL = with + " SELECT (SELECT COUNT(*) FROM items) AS total, COUNT(*) AS folded, COUNTIF(_used) AS used, " +
		"COUNTIF(CAST(`order_id` AS STRING) != _oid) AS trimmed_order_id, COUNTIF(CAST(`sku` AS STRING) != _sku) AS trimmed_sku, " +
		"COUNT(DISTINCT IF(_used, _oid, NULL)) AS baskets FROM folded"
	p.Raw.SQL = with + " SELECT " + strings.Join(q.names, ", ") + " FROM judged WHERE _bad_item OR _raw_item"
	p.Products.SQL = with + " SELECT _sku AS sku, COUNT(DISTINCT _oid) AS orders FROM folded WHERE _used GROUP BY _sku"
	// A pair's count here plus what the raw rows' orders add is its
	// count; those orders can add at most the baskets holding the pair
	// among them, so a pair that falls short of min_pair_orders even then
	// is left out, and the rest come back exact.
	p.Pairs.SQL = with + ", basket AS (SELECT DISTINCT _oid, _sku, _raw_item FROM judged WHERE NOT _bad_item AND (_used OR _raw_item)), " +
		"pair AS (SELECT a._sku AS sku_a, b._sku AS sku_b, COUNTIF(NOT a._raw_item) AS pair_orders, COUNT(*) AS _bound " +
		"FROM basket AS a JOIN basket AS b ON a._oid = b._oid AND a._sku < b._sku GROUP BY sku_a, sku_b) " +
		"SELECT sku_a, sku_b, pair_orders FROM pair WHERE pair_orders > 0 AND _bound >= @min_pair_orders"
	params := append(append([]bigquery.QueryParameter(nil), orders.params...),
		bigquery.QueryParameter{Name: "min_pair_orders", Value: int64(affinityconfig.Of(rc.Job).MinPairOrders)})
	for _, qq := range p.Queries() {
		qq.Params = usedParams(params, qq.SQL)
		for name, note := range orders.Counts.ParamNotes {
			if namesParam(qq.SQL, name) {
				if qq.ParamNotes == nil {
					qq.ParamNotes = map[string]string{}
				}
				qq.ParamNotes[name] = note
			}
		}
	}
	return p, nil
}

// readItemsPushdown runs the items pushdown queries: the raw item rows go
// to visit sorted by order as a plain read's, then the counts, tagged as
// aggregate batches (input.ItemCounts, ItemProducts, ItemPairs) for
// product affinity. The item rows counted in SQL join the items read here;
// affinity accounts for their fate.
func (s *session) readItemsPushdown(ctx context.Context, rc *night.Context, p *ItemsPushdown, tagged func(arrow.Record) error) error {
	var counts arrow.Record
	defer func() {
		if counts != nil {
			counts.Release()
		}
	}()
	err := s.read(ctx, &p.Counts, func(rec arrow.Record) error {
		if rec.NumRows() != 1 || counts != nil {
			return fmt.Errorf("%w: item counts query returned more than one row", ErrPushdown)
		}
		for i := range int(rec.NumCols()) {
			if _, ok := rec.Column(i).(*array.Int64); !ok {
				return fmt.Errorf("%w: item counts column %s is %s", ErrPushdown, rec.ColumnName(i), rec.Column(i).DataType())
			}
		}
		rec.Retain()
		counts = rec
		return nil
	})
	if err != nil {
		return err
	}
	if counts == nil {
		return fmt.Errorf("%w: item counts query returned no row", ErrPushdown)
	}
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	err = s.read(ctx, &p.Raw, func(rec arrow.Record) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return err
	}
	if err := sortItems(ctx, rc.Mem, recs, tagged); err != nil {
		return err
	}
	aggregate := func(kind string) func(arrow.Record) error {
		return func(rec arrow.Record) error {
			marked := input.TagAggregate(rec, kind)
			defer marked.Release()
			return tagged(marked)
		}
	}
	if counts.Column(0).(*array.Int64).Value(0) == 0 {
		return nil // an empty table: the caller fails the run as without pushdown
	}
	folded := counts.Column(1).(*array.Int64).Value(0)
	rc.Items.Read += folded
	if err := aggregate(input.ItemCounts)(counts); err != nil {
		return err
	}
	if err := s.read(ctx, &p.Products, aggregate(input.ItemProducts)); err != nil {
		return err
	}
	if err := s.read(ctx, &p.Pairs, aggregate(input.ItemPairs)); err != nil {
		return err
	}
	rc.Log.Info().Str("stage", "extract_items").Int64("items_folded", folded).Msg("BigQuery pushdown paired the products of folded orders")
	return nil
}
