package emulatortest

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/api/option"

	"retain/jobfile"
	"retain/night"
	"retain/stages/bqsource"
	"retain/warehouse/bqclient"
)

// TestPlanDryRuns plans the test shop's plain and pushdown reads from the
// table's schema and dry-runs every query on the emulator, which parses and
// executes each with its parameters, so a query BigQuery's SQL rejects
// fails here. The emulator's dry run reports the bytes of the result, not
// the bytes scanned as BigQuery does, so the test checks that an estimate
// comes back for each query and orders them by result size, not their
// values.
func TestPlanDryRuns(t *testing.T) {
	c, url := startURL(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, Ctry STRING, Chan STRING, State STRING)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, Cur, Ctry, Chan, State) VALUES "+strings.Join(shopRows(), ",\n"))
	opts := bqclient.Options{REST: []option.ClientOption{option.WithEndpoint(url), option.WithoutAuthentication()}}
	estimates := map[string]int64{}
	for _, pushdown := range []bool{false, true} {
		j, err := jobfile.Parse([]byte(jobYAML(pushdown)), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rc, err := night.New(j, "plan", "2026-03-31", nil, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		p, err := bqsource.PlanOnline(context.Background(), rc, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Estimates) != len(p.Queries) || len(p.Queries) != map[bool]int{false: 1, true: 3}[pushdown] {
			t.Fatalf("pushdown %t: %d queries, %d estimates", pushdown, len(p.Queries), len(p.Estimates))
		}
		for i, q := range p.Queries {
			estimates[q.Name] = p.Estimates[i]
		}
	}
	t.Logf("estimates (result bytes on the emulator): %v", estimates)
	// One row of counts is the smallest result; every row is the largest.
	orders, counts := estimates[bqsource.QueryOrders], estimates[bqsource.QueryCounts]
	if counts <= 0 || counts >= estimates[bqsource.QueryRaw] || estimates[bqsource.QueryRaw] >= orders || estimates[bqsource.QueryCells] >= orders {
		t.Errorf("estimates %v: want counts < raw_orders < orders and order_cells < orders", estimates)
	}
}

// TestPlanDryRunsFX plans a pushdown read that converts with FX rates from
// a table, reading both tables' schemas as the run does, and dry-runs
// every query on the emulator: the conflicts query first, then pushdown's
// three, then validate's read of the rates.
func TestPlanDryRunsFX(t *testing.T) {
	c, url := startURL(t)
	exec(t, c, "CREATE TABLE `shop-analytics.sales.orders` (OrderNo STRING, Client INT64, PlacedAt TIMESTAMP, Total NUMERIC, Cur STRING, Ctry STRING, Chan STRING, State STRING)")
	exec(t, c, "INSERT INTO `shop-analytics.sales.orders` (OrderNo, Client, PlacedAt, Total, Cur, Ctry, Chan, State) VALUES "+strings.Join(fxShopRows(), ",\n"))
	exec(t, c, "CREATE TABLE `shop-analytics.finance.rates` (day DATE, currency STRING, rate FLOAT64)")
	exec(t, c, "INSERT INTO `shop-analytics.finance.rates` (day, currency, rate) VALUES (DATE '2025-06-01', 'USD', 0.9), (DATE '2025-09-07', 'GBP', 1.1)")
	j, err := jobfile.Parse([]byte(fxJobYAML(true)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "plan", "2026-03-31", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p, err := bqsource.PlanOnline(context.Background(), rc, bqclient.Options{REST: []option.ClientOption{option.WithEndpoint(url), option.WithoutAuthentication()}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, q := range p.Queries {
		names = append(names, q.Name)
	}
	if got := strings.Join(names, " "); got != "fx_conflicts counts raw_orders order_cells fx_rates" || len(p.Estimates) != 5 {
		t.Fatalf("queries %s with estimates %v", got, p.Estimates)
	}
	// No conflicts: an empty result; every other query returns rows.
	if p.Estimates[0] != 0 || p.Estimates[1] <= 0 || p.Estimates[3] <= 0 || p.Estimates[4] <= 0 {
		t.Errorf("estimates %v", p.Estimates)
	}
	// Rates from files: the plan does not read them, and the queries
	// dry-run with the rate parameters empty.
	j, err = jobfile.Parse([]byte(fxFileJobYAML(true, "fx.csv")), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rc, err = night.New(j, "plan", "2026-03-31", nil, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	if p, err = bqsource.PlanOnline(context.Background(), rc, bqclient.Options{REST: []option.ClientOption{option.WithEndpoint(url), option.WithoutAuthentication()}}); err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, q := range p.Queries {
		names = append(names, q.Name)
	}
	if got := strings.Join(names, " "); got != "counts raw_orders order_cells" || len(p.Estimates) != 3 || p.Estimates[0] <= 0 {
		t.Errorf("file rates: queries %s with estimates %v", got, p.Estimates)
	}
}
