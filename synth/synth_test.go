package synth

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"retain/internal/progress/progresstest"
)

// TestGenerateProgress: generating customers and then writing their orders
// each log a line when their ticker fires, with the count of the total,
// and stop their tickers.
func TestGenerateProgress(t *testing.T) {
	// One tick is due in each meter as it starts, so its first Tick logs.
	fake := progresstest.New(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC), []time.Duration{time.Second}, []time.Duration{2 * time.Second})
	clock = fake
	t.Cleanup(func() { clock = nil })
	var log bytes.Buffer
	res, err := Generate(Options{Dir: t.TempDir(), Customers: 40, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 3, Log: zerolog.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	orders := float64(res.Orders)
	want := []map[string]any{
		{"message": "generating customers", "customers": 1.0, "customers_total": 40.0, "percent": 2.5, "customers_per_s": 1.0, "elapsed_s": 1.0, "eta_s": 39.0},
		{"message": "writing orders", "orders": 1.0, "orders_total": orders, "percent": math.Round(1000/orders) / 10, "orders_per_s": 1.0, "elapsed_s": 2.0, "eta_s": 2 * (orders - 1)},
	}
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		delete(m, "level")
		got = append(got, m)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines\n%v\nwant\n%v", got, want)
	}
	if made, stopped := fake.Tickers(); made != 2 || stopped != 2 {
		t.Errorf("%d tickers made, %d stopped; want 2 and 2", made, stopped)
	}
}
