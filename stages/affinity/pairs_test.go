package affinity

import (
	"math/rand/v2"
	"testing"
)

// TestPairTable: counts match a map through growth and a rebuild.
func TestPairTable(t *testing.T) {
	tbl := newPairTable()
	want := map[uint64]pairCount{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300_000; i++ {
		a := rng.Uint32N(2000)
		b := a + 1 + rng.Uint32N(50)
		k := uint64(a)<<32 | uint64(b)
		base := int64(i / 100_000)
		tbl.add(k, base)
		pc, ok := want[k]
		if !ok {
			pc.base = base
		}
		pc.count++
		want[k] = pc
	}
	tbl.keep(func(k uint64, pc pairCount) bool { return pc.count > 2 })
	for k, pc := range want {
		if pc.count <= 2 {
			delete(want, k)
		}
	}
	got := map[uint64]pairCount{}
	tbl.each(func(k uint64, pc pairCount) { got[k] = pc })
	if tbl.n != len(want) || len(got) != len(want) {
		t.Fatalf("%d pairs (n %d), want %d", len(got), tbl.n, len(want))
	}
	for k, pc := range want {
		if got[k] != pc {
			t.Fatalf("pair %x: %+v, want %+v", k, got[k], pc)
		}
	}
}
