package emulatortest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"retain/calendar"
	"retain/jobfile"
	"retain/night"
	"retain/stages/bqsource"
)

// TestRowsBack counts the rows that cross the network when pushdown reads
// a generated shop: 300 customers, most buying in bursts (several orders a
// day, several days a week), over 22 months, with cancelled orders, rows
// validate rejects, duplicate order ids and refunds. The rows back must be
// the one counts row, the rejected rows (the losing duplicates among them),
// each refund row and the order it names, and one row per customer and
// cell of the night's grid — exactly the
// cells the job's own rule cuts from the used orders — which is at most the
// customers (their first day) plus their active months plus, with change
// tracking, their purchase days in segments' lookback, which is replayed
// night by night. Without change tracking the bound is customers plus
// active customer-months.
func TestRowsBack(t *testing.T) {
	c, url := startURL(t)
	rows, orders := rowsBackShop()
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, State STRING)")
	for at := 0; at < len(rows); at += 1000 {
		exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, State) VALUES "+strings.Join(rows[at:min(at+1000, len(rows))], ",\n"))
	}
	h := newFXHarness(t, c, url, "sales.orders")
	for _, tracking := range []bool{true, false} {
		t.Run(fmt.Sprint("change_tracking=", tracking), func(t *testing.T) {
			job := fmt.Sprintf(`
name: emu
timezone: UTC
input:
  orders:
    bigquery: {project: shop-analytics, dataset: sales, table: orders, pushdown: true}
    columns: {order_id: OrderNo, customer_id: Client, order_ts: PlacedAt, amount: Total, status: State}
validate: {counted_statuses: [completed]}
clv: {min_customers: 20}
segments: {change_tracking: %t}
`, tracking)
			out := t.TempDir()
			runPipeline(t, job, out, h.opts())
			m := manifest(t, out)
			back := map[string]int64{}
			for _, q := range m.Queries {
				back[q.Name] = q.Rows
			}

			// The bound, from the shop's own rows.
			j, err := jobfile.Parse([]byte(job), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "r", "2026-03-31", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			_, rule, err := bqsource.CellStart(rc, "d", "f")
			if err != nil {
				t.Fatal(err)
			}
			run := calendar.Day(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
			window := run + 1
			if tracking {
				window = run - 90 + 1 // segments.since_lookback_days' default
			}
			first := map[int]int32{}
			var rejected, refunds int64
			for _, o := range orders {
				switch {
				case o.refund:
					refunds++
				case o.bad:
					rejected++
				case o.used:
					if f, ok := first[o.client]; !ok || o.day < f {
						first[o.client] = o.day
					}
				}
			}
			type key struct {
				client int
				at     int32
			}
			cells, months, windowDays, days := map[key]bool{}, map[key]bool{}, map[key]bool{}, map[key]bool{}
			var used int64
			for _, o := range orders {
				if o.bad || !o.used {
					continue
				}
				used++
				days[key{o.client, o.day}] = true
				cells[key{o.client, rule(o.day, first[o.client])}] = true
				months[key{o.client, calendar.Month.Start(o.day)}] = true
				if o.day >= window {
					windowDays[key{o.client, o.day}] = true
				}
			}
			customers := int64(len(first))
			// Pushdown's accounting alone: every row of the table read once,
			// the folded ones and the ones that also came back raw alike.
			cancelled := int64(len(orders)) - used - refunds - rejected
			if r := m.Rows; r.Read != int64(len(orders)) || r.Used != used+refunds || r.RefundsUsed != refunds || r.TotalQuarantined() != rejected ||
				r.Excluded["status_not_counted"] != cancelled || r.TotalExcluded() != cancelled || len(r.Trimmed) != 0 {
				t.Fatalf("rows %+v, want %d read = %d used (%d of them refunds) + %d quarantined + %d excluded as not counted", r, len(orders), used+refunds, refunds, rejected, cancelled)
			}
			// Raw rows: the rejected ones (losing duplicates included),
			// each refund, and the order each refund names.
			if back["counts"] != 1 || back["raw_orders"] != rejected+2*refunds || back["order_cells"] != int64(len(cells)) {
				t.Errorf("rows back %v, want 1 count, %d rejected rows + 2 × %d refunds and %d cells", back, rejected, refunds, len(cells))
			}
			bound := customers + int64(len(months)) + int64(len(windowDays))
			if got := back["order_cells"]; got > bound {
				t.Errorf("%d cells back, more than %d customers + %d customer-months + %d purchase days in the lookback", got, customers, len(months), len(windowDays))
			}
			if !tracking && back["order_cells"] > customers+int64(len(months)) {
				t.Errorf("%d cells back without change tracking, more than %d customers + %d customer-months", back["order_cells"], customers, len(months))
			}
			t.Logf("%d order rows, %d used by %d customers on %d customer-days; back: %d cells, %d raw rows (bound %d customers + %d customer-months + %d lookback days)",
				len(orders), used, customers, len(days), back["order_cells"], back["raw_orders"], customers, len(months), len(windowDays))
			if refunds == 0 || rejected == 0 {
				t.Fatalf("the shop has %d refunds and %d rejected rows", refunds, rejected)
			}
		})
	}
}

// rowsBackOrder is one generated order row as the test judges it.
type rowsBackOrder struct {
	client    int
	day       int32
	used, bad bool
	// refund is a refund row of the order before it.
	refund bool
}

// rowsBackShop generates the shop's SQL row literals and what each row is.
func rowsBackShop() ([]string, []rowsBackOrder) {
	rng := rand.New(rand.NewPCG(17, 19))
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)
	span := int(end.Sub(start) / time.Minute)
	var rows []string
	var orders []rowsBackOrder
	n := 0
	for client := 1; client <= 300; client++ {
		for range 1 + rng.IntN(4) { // bursts
			at := start.Add(time.Duration(rng.IntN(span)) * time.Minute)
			for range 1 + rng.IntN(6) {
				at = at.Add(time.Duration(rng.IntN(3*24*60)) * time.Minute)
				if at.After(end) {
					break
				}
				n++
				status, total := "completed", fmt.Sprintf("%d.%02d", 1+rng.IntN(200), 25*rng.IntN(4))
				o := rowsBackOrder{client: client, day: calendar.Day(at), used: true}
				switch {
				case rng.IntN(10) == 0:
					status, o.used = "cancelled", false
				case rng.IntN(40) == 0:
					total, o.bad, o.used = "NULL", true, false
				}
				rows = append(rows, fmt.Sprintf("('r%05d', %d, TIMESTAMP '%s+00', %s, '%s')", n, client, at.Format("2006-01-02 15:04:05"), total, status))
				orders = append(orders, o)
				switch {
				case o.used && n%30 == 0:
					// A later copy of the order, which loses its id and
					// comes back as a rejected row.
					rows = append(rows, fmt.Sprintf("('r%05d', %d, TIMESTAMP '%s+00', %s, '%s')", n, client, at.Add(time.Minute).Format("2006-01-02 15:04:05"), total, status))
					orders = append(orders, rowsBackOrder{client: client, day: calendar.Day(at.Add(time.Minute)), bad: true})
				case o.used && n%45 == 0 && at.Before(end.Add(-48*time.Hour)):
					// A refund, which comes back with the order it names.
					rows = append(rows, fmt.Sprintf("('r%05d', %d, TIMESTAMP '%s+00', -1, 'completed')", n, client, at.Add(24*time.Hour).Format("2006-01-02 15:04:05")))
					orders = append(orders, rowsBackOrder{client: client, refund: true})
				}
			}
		}
	}
	return rows, orders
}
