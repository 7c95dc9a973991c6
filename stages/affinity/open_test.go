package affinity

import (
	"math/rand/v2"
	"testing"
)

// TestOpenIndex checks the index against a map over a ring of open orders
// closed oldest first, as the stage uses it, with keys chosen so that many
// share a home entry and removals must move later entries back.
func TestOpenIndex(t *testing.T) {
	for _, tc := range []struct {
		name    string
		open    int
		keyBits uint
	}{
		{"one open order", 1, 8},
		{"few homes, long probe runs", 40, 6},
		{"distinct keys", 4096, 62},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tc.open)))
			x, want := newOpenIndex(), map[uint64]int32{}
			var ring []uint64
			for step := range 50_000 {
				key := rng.Uint64N(1<<tc.keyBits) + 1
				slot, ok := x.get(key)
				if ws, wok := want[key]; ok != wok || slot != ws {
					t.Fatalf("step %d: get(%d) = %d, %v; want %d, %v", step, key, slot, ok, ws, wok)
				}
				if ok {
					continue
				}
				if len(ring) == tc.open {
					x.remove(ring[0])
					delete(want, ring[0])
					ring = ring[1:]
				}
				x.put(key, int32(step))
				want[key] = int32(step)
				ring = append(ring, key)
				if x.n != len(want) {
					t.Fatalf("step %d: %d entries, want %d", step, x.n, len(want))
				}
			}
			for k, ws := range want {
				if slot, ok := x.get(k); !ok || slot != ws {
					t.Fatalf("get(%d) = %d, %v at the end; want %d", k, slot, ok, ws)
				}
			}
		})
	}
}
