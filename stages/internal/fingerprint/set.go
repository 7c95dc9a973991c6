// Package fingerprint holds a compact set of 64-bit string fingerprints, for
// remembering order ids at about 11 bytes each.
package fingerprint

import "github.com/zeebo/xxh3"

// markBit flags a member as marked, so one table answers both "was this
// order used" and "was it already counted" without a second set.
const markBit = 1 << 63

// Set remembers which order ids were seen, as 63-bit fingerprints in an
// open-addressing table: 8 bytes per distinct order at most 3/4 full, about
// 11 bytes per order, against ~60 for a Go map of strings. Two different ids
// share a fingerprint with probability n²/2⁶⁴ (about 5 in a million for 10
// million orders); the hash is fixed, so the outcome is the same on every
// rerun.
type Set struct {
	slots []uint64
	n     int
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{slots: make([]uint64, 1<<16)} }

func key(id string) uint64 {
	h := xxh3.HashString(id) &^ markBit
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return h
}

// Add records id and reports whether it was new.
func (s *Set) Add(id string) bool {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	if s.insert(key(id)) {
		s.n++
		return true
	}
	return false
}

// Has reports whether id was added.
func (s *Set) Has(id string) bool { return s.find(key(id)) >= 0 }

// Mark flags a member id. found says whether id was added; first whether
// this is its first Mark.
func (s *Set) Mark(id string) (found, first bool) {
	i := s.find(key(id))
	if i < 0 {
		return false, false
	}
	first = s.slots[i]&markBit == 0
	s.slots[i] |= markBit
	return true, first
}

// Len is the number of distinct fingerprints.
func (s *Set) Len() int { return s.n }

// find returns the slot holding h, or -1.
func (s *Set) find(h uint64) int {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch v := s.slots[i]; {
		case v == 0:
			return -1
		case v&^markBit == h:
			return int(i)
		}
	}
}

// insert places slot value v (a key, possibly marked) unless its key is
// present, and reports whether it did.
func (s *Set) insert(v uint64) bool {
	h := v &^ markBit
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch w := s.slots[i]; {
		case w == 0:
			s.slots[i] = v
			return true
		case w&^markBit == h:
			return false
		}
	}
}

func (s *Set) grow() {
	old := s.slots
	s.slots = make([]uint64, len(old)*2)
	for _, v := range old {
		if v != 0 {
			s.insert(v)
		}
	}
}
