package e2e_test

import (
	"runtime"
	"testing"
	"time"

	"retain/schemas"
	"retain/synth"
)

// TestItemCostsBesideProductAffinity runs a night whose item lines feed
// both product affinity, which claims their orders on a goroutine of its
// own, and margin.item_costs, which looks up the same orders on the
// runner's, over several item batches, so the two overlap (under the race
// detector, `make test`'s first pass, an unguarded look-up fails here).
// Every file is the same at GOMAXPROCS 1 and 2, and the costs reach the
// segments.
func TestItemCostsBesideProductAffinity(t *testing.T) {
	shop := t.TempDir()
	sum, err := synth.Generate(synth.Options{Dir: shop, Customers: 5_000, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	// The readers' batch (stages/internal/input.BatchRows): the overlap
	// needs a second batch checked while the first is counted.
	const itemBatch = 64 * 1024
	if sum.OrderItems < 3*itemBatch/2 {
		t.Fatalf("the shop has %d item lines, want more than one batch of %d", sum.OrderItems, itemBatch)
	}
	const date = "2026-11-22"
	job := "name: costs\ninput: {orders: {path: orders}, order_items: {path: order_items}, fx_rates: {path: fx_rates.csv}, reporting_currency: USD}\n" +
		"margin: {item_costs: true}\n" +
		// What the overlap does not touch is left out, to keep the race pass short.
		"clv: {model: none}\nsegments: {change_tracking: false}\n"
	outs := map[int]string{1: t.TempDir(), 2: t.TempDir()}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs, out := range outs {
		runtime.GOMAXPROCS(procs)
		if sum, err := runJob(t, shop, job, date, out, false); err != nil {
			t.Fatalf("GOMAXPROCS %d: %+v, %v", procs, sum, err)
		}
	}

	sameFiles(t, snapshot(t, outs[1], exceptRunVariant), snapshot(t, outs[2], exceptRunVariant), "GOMAXPROCS 1", "GOMAXPROCS 2")
	rows := tableRows(t, outs[2], schemas.CustomerSegments.Name, date, []string{"customer_id"}, []string{"is_margin_rate_from_items"})
	fromItems := 0
	for _, r := range rows {
		if r["is_margin_rate_from_items"] == "true" {
			fromItems++
		}
	}
	if fromItems < len(rows)*9/10 {
		t.Errorf("%d of %d customers have a margin rate from their items, want nearly all", fromItems, len(rows))
	}
	if pairs := tableRows(t, outs[2], schemas.ProductAffinity.Name, date, []string{"product_a", "product_b"}, nil); len(pairs) == 0 {
		t.Error("product_affinity is empty")
	}
}
