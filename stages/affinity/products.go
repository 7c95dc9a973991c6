package affinity

import (
	"hash/maphash"
	"strings"
)

// productIndex finds a SKU's product id: open addressing with linear
// probing over entries that are the SKU hash's high 32 bits and id+1 (0 is
// empty), so a probe rarely compares a name that is not the one sought.
// Every item row looks its SKU up, and a Go map of strings spent several
// times the work of the rest of the row on it.
type productIndex struct {
	entries []uint64
	mask    uint64
	seed    maphash.Seed
}

func newProductIndex() productIndex {
	const size = 1 << 10
	return productIndex{entries: make([]uint64, size), mask: size - 1, seed: maphash.MakeSeed()}
}

const lowHalf = 1<<32 - 1

// product is sku's id, a new one when the SKU is first seen.
func (s *stage) product(sku string) int32 {
	x := &s.products
	h := maphash.String(x.seed, sku)
	tag := h &^ lowHalf
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		e := x.entries[i]
		if e == 0 {
			id := int32(len(s.names))
			s.names = append(s.names, strings.Clone(sku))
			s.orders = append(s.orders, 0)
			x.entries[i] = tag | uint64(id+1)
			if len(s.names)*2 > len(x.entries) {
				x.grow(s.names)
			}
			return id
		}
		if e&^lowHalf == tag {
			if id := int32(e&lowHalf) - 1; s.names[id] == sku {
				return id
			}
		}
	}
}

// grow doubles the index, hashing every name again: the entries keep only
// the hash's high half.
func (x *productIndex) grow(names []string) {
	size := 2 * len(x.entries)
	x.entries, x.mask = make([]uint64, size), uint64(size-1)
	for id, name := range names {
		h := maphash.String(x.seed, name)
		i := h & x.mask
		for x.entries[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.entries[i] = h&^lowHalf | uint64(id+1)
	}
}
