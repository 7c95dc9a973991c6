package bqsource

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
)

// TestPlanItemsPushdown: the items queries start with the orders'
// pushdown's own definition of the rows, so an order is used by one rule
// in both; they read the mapped item columns, return the raw rows with
// the plain read's columns, and only the pair query takes
// affinity.min_pair_orders. margin.item_costs, which needs every line on
// this machine, is refused by both planners.
func TestPlanItemsPushdown(t *testing.T) {
	const items = "  order_items:\n    bigquery: {project: shop-analytics, dataset: sales, table: lines}\n    columns: {order_id: OrderNo, sku: Article}\n"
	orders := bigquery.Schema{
		{Name: "OrderNo", Type: bigquery.StringFieldType}, {Name: "customer_id", Type: bigquery.StringFieldType},
		{Name: "PlacedAt", Type: bigquery.TimestampFieldType}, {Name: "amount", Type: bigquery.FloatFieldType},
		{Name: "State", Type: bigquery.StringFieldType},
	}
	lines := bigquery.Schema{{Name: "OrderNo", Type: bigquery.IntegerFieldType}, {Name: "Article", Type: bigquery.StringFieldType}, {Name: "quantity", Type: bigquery.IntegerFieldType}}
	tests := []struct {
		name, extra string
		err         error
	}{
		{"defaults", "", nil},
		{"min pair orders", "affinity: {min_pair_orders: 7}\n", nil},
		{"item costs", "margin: {item_costs: true}\n", ErrPushdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := strings.Replace(jobWith(true), "input:\n", "input:\n"+items, 1) + tt.extra
			rc := planContext(t, job)
			if !PushesItems(rc) {
				t.Fatal("PushesItems is false for pushdown with items from a table")
			}
			o, err := PlanPushdown(rc, orders, nil)
			if tt.err != nil {
				// Refused with the orders' queries, before any is run.
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				o = &Pushdown{}
			} else if err != nil {
				t.Fatal(err)
			}
			p, err := PlanItemsPushdown(rc, o, lines)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			with := o.Counts.SQL[:strings.Index(o.Counts.SQL, "SELECT COUNTIF(NOT _raw AND NOT _ledger)")]
			for _, q := range p.Queries() {
				if !strings.HasPrefix(q.SQL, strings.TrimSpace(with)+", items AS (SELECT `OrderNo` AS `order_id`, `Article` AS `sku`, `quantity` AS `quantity` FROM `shop-analytics.sales.lines`)") {
					t.Errorf("%s does not start with the orders' rows and the items: %s", q.Name, q.SQL)
				}
				if q.Table != "shop-analytics.sales.lines" {
					t.Errorf("%s reads %s", q.Name, q.Table)
				}
				var names []string
				for _, pa := range q.Params {
					names = append(names, pa.Name)
				}
				if has := slices.Contains(names, "min_pair_orders"); has != (q.Name == QueryItemPairs) {
					t.Errorf("%s params %v", q.Name, names)
				}
			}
			if !slices.Equal(p.Raw.Columns, []string{"order_id", "sku", "quantity"}) ||
				!strings.HasSuffix(p.Raw.SQL, " SELECT `order_id`, `sku`, `quantity` FROM judged WHERE _bad_item OR _raw_item") {
				t.Errorf("raw items %v: %s", p.Raw.Columns, p.Raw.SQL)
			}
			want := int64(5)
			if tt.extra != "" {
				want = 7
			}
			if got := p.Pairs.Params[len(p.Pairs.Params)-1]; got.Name != "min_pair_orders" || got.Value != want {
				t.Errorf("pairs param %+v, want min_pair_orders %d", got, want)
			}
		})
	}
}
