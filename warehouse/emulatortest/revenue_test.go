package emulatortest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/rs/zerolog"
	"google.golang.org/api/iterator"

	"retain/jobfile"
	"retain/night"
	"retain/stages/bqsource"
)

// TestDaysRevenueExact runs the pushdown's order_cells query on a real SQL
// engine and checks its three revenue parts give the exact sum of the
// day's amounts as float64 values (FLOAT64 as stored, NUMERIC as its
// decimal text parses, as validate reads it): no rounding on the way, so
// the order BigQuery adds rows in cannot show.
func TestDaysRevenueExact(t *testing.T) {
	amounts := []string{"0.1", "0.2", "0.3", "19.99", "0.001", "123456.789", "0.001953125", "0.7", "7", "1e-2"}
	for _, typ := range []string{"FLOAT64", "NUMERIC"} {
		t.Run(typ, func(t *testing.T) {
			ctx := context.Background()
			c := start(t)
			exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (order_id STRING, customer_id STRING, order_ts TIMESTAMP, amount "+typ+")")
			var rows []string
			want := new(big.Rat)
			for i, a := range amounts {
				f, err := strconv.ParseFloat(a, 64)
				if err != nil {
					t.Fatal(err)
				}
				want.Add(want, new(big.Rat).SetFloat64(f))
				lit := a
				if typ == "NUMERIC" {
					lit = "NUMERIC '" + a + "'"
				}
				rows = append(rows, fmt.Sprintf("('o%d', 'c1', TIMESTAMP '2026-03-0%d 10:00:00+00', %s)", i, 1+i%2, lit))
			}
			// One customer, two days: the test sums the days' parts.
			exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (order_id, customer_id, order_ts, amount) VALUES "+strings.Join(rows, ", "))
			j, err := jobfile.Parse([]byte("name: emu\ninput:\n  orders:\n    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: true}\n"), "/")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			md, err := c.Dataset("sales").Table("orders").Metadata(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p, err := bqsource.PlanPushdown(rc, md.Schema, nil)
			if err != nil {
				t.Fatal(err)
			}
			q := c.Query(p.Cells.SQL)
			q.Parameters = p.Cells.Params
			it, err := q.Read(ctx)
			if err != nil {
				t.Fatalf("%s: %v", p.Cells.SQL, err)
			}
			sum, days, orders := new(big.Int), 0, int64(0)
			for {
				var row map[string]bigquery.Value
				err := it.Next(&row)
				if errors.Is(err, iterator.Done) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				days++
				orders += row["orders"].(int64)
				for part, shift := range map[string]uint{"revenue_units": 62, "revenue_frac_hi": 31, "revenue_frac_lo": 0} {
					sum.Add(sum, new(big.Int).Lsh(big.NewInt(row[part].(int64)), shift))
				}
			}
			if days != 2 || orders != int64(len(amounts)) {
				t.Fatalf("%d days, %d orders; want 2 and %d", days, orders, len(amounts))
			}
			got := new(big.Rat).SetFrac(sum, new(big.Int).Lsh(big.NewInt(1), 62))
			if got.Cmp(want) != 0 {
				t.Errorf("revenue parts sum to %s, want exactly %s", got.FloatString(30), want.FloatString(30))
			}
		})
	}
}
