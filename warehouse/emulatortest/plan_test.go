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
	if counts <= 0 || counts >= estimates[bqsource.QueryRaw] || estimates[bqsource.QueryRaw] >= orders || estimates[bqsource.QueryDays] >= orders {
		t.Errorf("estimates %v: want counts < raw_orders < orders and order_days < orders", estimates)
	}
}
