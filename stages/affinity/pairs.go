package affinity

// pairTable counts product pairs in an open-addressing table of flat slots.
// A Go map spends most of its time here waiting on memory once it holds
// millions of pairs; flat slots let a batch of keys be touched first (see
// touch) so the increments that follow find them in cache.
type pairTable struct {
	slots []pairSlot
	n     int
	sink  uint64
}

// pairSlot is one pair: key = a<<32 | b with a < b, so never 0 (empty).
type pairSlot struct {
	key uint64
	pairCount
}

// pairCount is a pair's count since it last entered the table, and base,
// the most it may have had before: count ≤ true count ≤ count + base.
type pairCount struct{ count, base int64 }

func newPairTable() *pairTable { return &pairTable{slots: make([]pairSlot, 1<<16)} }

func home(key uint64, mask uint64) uint64 { return (key * 0x9e3779b97f4a7c15 >> 20) & mask }

// add counts one order for key; a new key starts with base.
func (t *pairTable) add(key uint64, base int64) { t.addN(key, 1, base) }

// addN counts n orders for key; a new key starts with base.
func (t *pairTable) addN(key uint64, n, base int64) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(len(t.slots) * 2)
	}
	mask := uint64(len(t.slots) - 1)
	for i := home(key, mask); ; i = (i + 1) & mask {
		sl := &t.slots[i]
		switch sl.key {
		case key:
			sl.count += n
			return
		case 0:
			*sl = pairSlot{key, pairCount{n, base}}
			t.n++
			return
		}
	}
}

// touch reads the home slot of each key, so their memory reads overlap.
func (t *pairTable) touch(keys []uint64) {
	mask := uint64(len(t.slots) - 1)
	var x uint64
	for _, k := range keys {
		x ^= t.slots[home(k, mask)].key
	}
	t.sink ^= x
}

// each calls fn for every pair, in slot order.
func (t *pairTable) each(fn func(key uint64, pc pairCount)) {
	for _, sl := range t.slots {
		if sl.key != 0 {
			fn(sl.key, sl.pairCount)
		}
	}
}

// keep rebuilds the table with only the pairs keep approves.
func (t *pairTable) keep(keep func(key uint64, pc pairCount) bool) { t.rebuild(len(t.slots), keep) }

func (t *pairTable) resize(size int) {
	t.rebuild(size, func(uint64, pairCount) bool { return true })
}

func (t *pairTable) rebuild(size int, keep func(key uint64, pc pairCount) bool) {
	old := t.slots
	t.slots, t.n = make([]pairSlot, size), 0
	mask := uint64(size - 1)
	for _, sl := range old {
		if sl.key == 0 || !keep(sl.key, sl.pairCount) {
			continue
		}
		i := home(sl.key, mask)
		for t.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = sl
		t.n++
	}
}
