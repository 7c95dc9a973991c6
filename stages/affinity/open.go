package affinity

// openIndex finds the ring slot of an open basket by its order's
// fingerprint: open addressing with linear probing over flat arrays, which
// stay in cache for thousands of open orders where a Go map's insert and
// delete, once per order, cost more than counting the order's pairs.
// It is kept at most a quarter full, so probe runs, which a removal walks
// to its end, stay short. Fingerprints are never 0, which marks an empty
// entry.
type openIndex struct {
	keys  []uint64
	slots []int32
	mask  uint64
	n     int
}

func newOpenIndex() openIndex {
	const size = 64
	return openIndex{keys: make([]uint64, size), slots: make([]int32, size), mask: size - 1}
}

// get is the slot of key, if it is open.
func (x *openIndex) get(key uint64) (int32, bool) {
	for i := key & x.mask; ; i = (i + 1) & x.mask {
		switch x.keys[i] {
		case key:
			return x.slots[i], true
		case 0:
			return 0, false
		}
	}
}

// put adds key, which is not there, at slot.
func (x *openIndex) put(key uint64, slot int32) {
	if (x.n+1)*4 > len(x.keys) {
		x.grow()
	}
	i := key & x.mask
	for x.keys[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.keys[i], x.slots[i] = key, slot
	x.n++
}

// remove drops key, which is there, moving later entries of its probe run
// back so that no lookup stops short at the hole.
func (x *openIndex) remove(key uint64) {
	i := key & x.mask
	for x.keys[i] != key {
		i = (i + 1) & x.mask
	}
	x.n--
	for j := i; ; {
		x.keys[i] = 0
		for {
			j = (j + 1) & x.mask
			k := x.keys[j]
			if k == 0 {
				return
			}
			// An entry whose home lies cyclically in (i, j] is still
			// reachable; any other must fill the hole at i.
			if h := k & x.mask; (i <= j && (i < h && h <= j)) || (i > j && (i < h || h <= j)) {
				continue
			}
			x.keys[i], x.slots[i] = k, x.slots[j]
			i = j
			break
		}
	}
}

func (x *openIndex) grow() {
	keys, slots := x.keys, x.slots
	size := 2 * len(keys)
	*x = openIndex{keys: make([]uint64, size), slots: make([]int32, size), mask: uint64(size - 1)}
	for i, k := range keys {
		if k != 0 {
			x.put(k, slots[i])
		}
	}
}
