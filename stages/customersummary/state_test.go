package customersummary

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"retain/stages/internal/exactsum"
)

// TestStateAgainstMaps folds random orders, days out of order, into the
// pointer-free state and into plain maps, and wants the same customers,
// days, counts and exact revenue: the index grows many times, and runs of
// days move and are reused. With chunks of 4 and 16 days, runs fill the
// ends of chunks and most outgrow a chunk.
func TestStateAgainstMaps(t *testing.T) {
	for _, shift := range []uint{defaultChunkShift, 4, 2} {
		t.Run(fmt.Sprint("chunk_shift_", shift), func(t *testing.T) { testStateAgainstMaps(t, shift) })
	}
}

func testStateAgainstMaps(t *testing.T, shift uint) {
	type day struct {
		orders  int32
		revenue exactsum.Sum
	}
	r := rand.New(rand.NewPCG(7, 8))
	c := newCustomers(maphash.MakeSeed())
	c.pool.shift = shift
	want := map[string]map[int32]*day{}
	for range 200_000 {
		id := fmt.Sprintf("c%d", r.IntN(20_000))
		if r.IntN(50) == 0 {
			id = "" // an empty id is a key like any other here
		}
		d := int32(20_000 + r.IntN(400))
		amount := exactsum.Of(float64(r.IntN(100_000)) / 100)
		foldOne(c, order{customer: id, ts: int64(d) * 86_400_000_000, lastTS: int64(d) * 86_400_000_000, day: d, orders: 1, amount: amount})
		if want[id] == nil {
			want[id] = map[int32]*day{}
		}
		if want[id][d] == nil {
			want[id][d] = &day{}
		}
		want[id][d].orders++
		want[id][d].revenue.Merge(amount)
	}
	if c.len() != len(want) {
		t.Fatalf("%d customers, want %d", c.len(), len(want))
	}
	for id, days := range want {
		k, ok := c.find(id)
		if !ok || c.id(k) != id {
			t.Fatalf("customer %q not found", id)
		}
		got := c.days(k)
		keys := slices.Sorted(maps.Keys(days))
		if len(got) != len(keys) {
			t.Fatalf("%q: %d days, want %d", id, len(got), len(keys))
		}
		var orders int64
		for i, d := range keys {
			if got[i].day != d || got[i].orders != days[d].orders || c.revenueOf(got[i]) != days[d].revenue {
				t.Fatalf("%q day %d: got %+v (revenue %v), want %+v", id, d, got[i], c.revenueOf(got[i]), *days[d])
			}
			orders += int64(days[d].orders)
		}
		if c.slots.At(int(k)).orders != orders {
			t.Fatalf("%q: %d orders, want %d", id, c.slots.At(int(k)).orders, orders)
		}
	}
	if _, ok := c.find("absent"); ok {
		t.Error("found a customer never added")
	}
}

// foldOne adds o with its id hashed as the stage hashes it.
func foldOne(c *customers, o order) {
	o.hash = maphash.String(c.index.seed, o.customer)
	c.add(o)
}

// TestOwnerSplits: the workers share customers about evenly, so each does
// its part of the fold.
func TestOwnerSplits(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, w := range []int{2, 3} {
		restore := SetWorkers(w)
		counts := make([]int, w)
		const n = 30_000
		for i := range n {
			counts[owner(maphash.String(seed, fmt.Sprintf("C%08d", i)))]++
		}
		restore()
		for p, c := range counts {
			if share := float64(c) / n; share < 0.9/float64(w) || share > 1.1/float64(w) {
				t.Errorf("%d workers: worker %d owns %d of %d customers", w, p, c, n)
			}
		}
	}
}

// TestRunSizes: the classes' sizes are 1, 2, 3, 4, 6, 8, 12, …, and
// runClass is the least class that holds n days.
func TestRunSizes(t *testing.T) {
	want := []uint32{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64}
	for c, w := range want {
		if got := runSize(uint(c)); got != w {
			t.Errorf("runSize(%d) = %d, want %d", c, got, w)
		}
	}
	for n := uint32(1); n <= 1<<20; n++ {
		c := runClass(n)
		if runSize(c) < n || (c > 0 && runSize(c-1) >= n) {
			t.Fatalf("runClass(%d) = %d of size %d", n, c, runSize(c))
		}
	}
	if c := runClass(1 << 31); runSize(c) != 1<<31 {
		t.Errorf("runClass(1<<31) = %d of size %d", c, runSize(c))
	}
}

// TestIDPrefixOrder: where two ids' prefixes differ they order the ids as
// strings.Compare does, so the sort may stop at them.
func TestIDPrefixOrder(t *testing.T) {
	ids := []string{"", "A", "A\x00", "A\x00\x01", "AB", "C00000001", "C00000002", "C0000001", "C000000010", "\xff", "é", "abcdefgh", "abcdefghi", "abcdefgg\xff"}
	for _, a := range ids {
		for _, b := range ids {
			pa, pb := idPrefix(a), idPrefix(b)
			if pa != pb && cmp.Compare(pa, pb) != strings.Compare(a, b) {
				t.Errorf("prefixes order %q and %q as %d, the ids as %d", a, b, cmp.Compare(pa, pb), strings.Compare(a, b))
			}
		}
	}
}

// TestCellsAndOrdersOverlap wants a folded cell and an order of the same
// customer inside it to fail the state whichever comes first, and cells
// beside orders of other customers, or of the same customer outside them,
// to fold.
func TestCellsAndOrdersOverlap(t *testing.T) {
	seed := maphash.MakeSeed()
	ord := func(id string, day int32) order {
		return order{customer: id, hash: maphash.String(seed, id), day: day, orders: 1, amount: exactsum.Of(1)}
	}
	tests := []struct {
		name      string
		cellFirst bool
		day       int32
		fails     bool
	}{
		{"cell then order inside", true, 105, true},
		{"order inside then cell", false, 105, true},
		{"cell then order on its first day", true, 100, true},
		{"order on its first day then cell", false, 100, true},
		{"cell then order on its last day", true, 110, true},
		{"cell then order after it", true, 111, false},
		{"order before it then cell", false, 99, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCustomers(seed)
			c.addCell(ord("a", 90), 90, 1)
			if tt.cellFirst {
				c.addCell(ord("a", 100), 110, 3)
				c.add(ord("a", tt.day))
			} else {
				c.add(ord("a", tt.day))
				c.addCell(ord("a", 100), 110, 3)
			}
			c.add(ord("b", 105))
			if got := c.err != nil; got != tt.fails {
				t.Fatalf("err = %v, want failure %v", c.err, tt.fails)
			}
			if !tt.fails {
				k, _ := c.find("a")
				if n := c.purchaseDays(k); n != 5 {
					t.Errorf("purchase days %d, want 5", n)
				}
				if last := c.lastDay(k); last != max(110, tt.day) {
					t.Errorf("last day %d", last)
				}
			}
		})
	}
}
