package validate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/handover"
	"retain/stages/internal/stagetest"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/margin/marginconfig"
	"retain/stages/validate"
	"retain/stages/validate/validateconfig"
)

// handed keeps the values a stage hands over.
type handed struct {
	enginetest.Unused
	values map[string]any
}

func (h *handed) Provide(key string, v any) error {
	h.values[key] = v
	return nil
}

// TestOrderCustomers runs testdata/fx_rates' orders with order items and
// margin.item_costs: the hand-over names each used order's customer and
// its rate into EUR (USD at the rate of its day, null and EUR at 1), and
// knows no quarantined order. Without item_costs only used_orders is
// handed over.
func TestOrderCustomers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		costs bool
	}{{"item costs", true}, {"no item costs", false}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir, err := filepath.Abs("testdata/fx_rates")
			if err != nil {
				t.Fatal(err)
			}
			job := "name: t\ninput:\n  orders: {path: orders.csv}\n  order_items: {path: items.csv}\n  reporting_currency: EUR\n  fx_rates: {path: files/fx_rates.csv}\n" +
				"validate: {max_amount: 1000}\n" + fmt.Sprintf("margin: {item_costs: %v}\n", tc.costs)
			j, err := config.Decode([]byte(job), dir, []config.Section{night.InputSection, validateconfig.Section, kpisconfig.Section, marginconfig.Section})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "t", stagetest.DefaultRunDate, mem, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			reg := &night.Registry{}
			if err := validate.Register(reg, csvSideInput); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			st, err := reg.Specs()[0].New(ctx, rc)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(ctx)
			recs, err := stagetest.ReadCSV("testdata/fx_rates/in/orders_raw.csv", rawOf(), 0, mem)
			if err != nil {
				t.Fatal(err)
			}
			emitted := enginetest.NewEmitter()
			defer emitted.Release()
			for _, r := range recs {
				err := st.Process(ctx, schemas.RawOrders, r, emitted)
				r.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			out := &handed{values: map[string]any{}}
			if err := st.Finish(ctx, &finishEmitter{emitted, out}); err != nil {
				t.Fatal(err)
			}
			if _, ok := out.values[handover.UsedOrders.String()]; !ok {
				t.Error("used_orders not handed over")
			}
			v, ok := out.values[handover.OrderCustomers.String()]
			if ok != tc.costs {
				t.Fatalf("order_customers handed over: %v, want %v", ok, tc.costs)
			}
			if !ok {
				return
			}
			ids := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "zz"}
			got := make([]handover.OrderCustomer, len(ids))
			v.(handover.CustomerLookup).Customers(ids, got)
			used := func(c string, rate float64) handover.OrderCustomer {
				return handover.OrderCustomer{Used: true, Customer: fingerprint.Key(c), Rate: rate}
			}
			// u3 and u5 have no rate, u6 is over max_amount (see
			// fx_rates/README.md), zz is no order: none is used.
			want := map[string]handover.OrderCustomer{
				"u1": used("c1", 0.9), "u2": used("c1", 0.95), "u4": used("c2", 1), "u7": used("c3", 1),
			}
			for i, id := range ids {
				if got[i] != want[id] {
					t.Errorf("%s: %+v, want %+v", id, got[i], want[id])
				}
			}
		})
	}
}

// finishEmitter sends Finish's tables to one emitter and its hand-overs to
// another.
type finishEmitter struct {
	*enginetest.Emitter
	h *handed
}

func (f *finishEmitter) Provide(key string, v any) error { return f.h.Provide(key, v) }
