package affinity

import (
	"hash/maphash"
	"strings"
)

// productIndex finds a SKU's product id: open addressing with linear
// probing over entries that hold the SKU hash's high 32 bits, id+1 (0 is
// empty) and, for a SKU of up to inlineSKU bytes, its bytes. Every item row
// looks its SKU up while the pair table sweeps the caches, so a lookup
// should touch one cache line: a Go map of strings, or an entry that names
// a string elsewhere, touches three.
type productIndex struct {
	entries []productEntry
	mask    uint64
	seed    maphash.Seed
}

// inlineSKU is the longest SKU kept in its entry; longer ones are compared
// with the product's name.
const inlineSKU = 22

type productEntry struct {
	tag uint32
	id  int32 // id+1; 0 is empty
	n   uint8 // the SKU's length when at most inlineSKU
	sku [inlineSKU]byte
}

func newProductIndex() productIndex {
	const size = 1 << 10
	return productIndex{entries: make([]productEntry, size), mask: size - 1, seed: maphash.MakeSeed()}
}

// product is sku's id, a new one when the SKU is first seen.
func (s *stage) product(sku string) int32 {
	x := &s.products
	h := maphash.String(x.seed, sku)
	tag := uint32(h >> 32)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		e := &x.entries[i]
		if e.id == 0 {
			id := int32(len(s.names))
			s.names = append(s.names, strings.Clone(sku))
			s.orders = append(s.orders, 0)
			x.set(e, tag, id, sku)
			if len(s.names)*2 > len(x.entries) {
				x.grow(s.names)
			}
			return id
		}
		if e.tag != tag {
			continue
		}
		if len(sku) <= inlineSKU {
			if int(e.n) == len(sku) && string(e.sku[:e.n]) == sku {
				return e.id - 1
			}
		} else if s.names[e.id-1] == sku {
			return e.id - 1
		}
	}
}

func (x *productIndex) set(e *productEntry, tag uint32, id int32, sku string) {
	*e = productEntry{tag: tag, id: id + 1}
	if len(sku) <= inlineSKU {
		e.n = uint8(copy(e.sku[:], sku))
	} else {
		// Longer than any inline SKU, so no inline comparison matches.
		e.n = inlineSKU + 1
	}
}

// grow doubles the index, hashing every name again.
func (x *productIndex) grow(names []string) {
	size := 2 * len(x.entries)
	x.entries, x.mask = make([]productEntry, size), uint64(size-1)
	for id, name := range names {
		h := maphash.String(x.seed, name)
		i := h & x.mask
		for x.entries[i].id != 0 {
			i = (i + 1) & x.mask
		}
		x.set(&x.entries[i], uint32(h>>32), int32(id), name)
	}
}
