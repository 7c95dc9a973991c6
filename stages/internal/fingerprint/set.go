// Package fingerprint holds a compact set of 64-bit string fingerprints, for
// remembering order ids at about 11 bytes each.
package fingerprint

import "github.com/zeebo/xxh3"

// Set remembers which order ids were seen, as 64-bit fingerprints in an
// open-addressing table: 8 bytes per distinct order at most 3/4 full, about
// 11 bytes per order, against ~60 for a Go map of strings. It is the only
// state of a run that grows with the number of orders rather than customers.
// Two different ids share a fingerprint with probability n²/2⁶⁵ (about 3 in
// a million for 10 million orders); the hash is fixed, so the outcome is the
// same on every rerun.
type Set struct {
	slots []uint64
	n     int
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{slots: make([]uint64, 1<<16)} }

// Add records id and reports whether it was new.
func (s *Set) Add(id string) bool {
	return s.AddHash(xxh3.HashString(id))
}

// Has reports whether id was added.
func (s *Set) Has(id string) bool {
	h := xxh3.HashString(id)
	if h == 0 {
		h = 1
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			return false
		case h:
			return true
		}
	}
}

// Len is the number of distinct fingerprints.
func (s *Set) Len() int { return s.n }

// AddHash records a fingerprint computed by the caller.
func (s *Set) AddHash(h uint64) bool {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	if s.insert(h) {
		s.n++
		return true
	}
	return false
}

func (s *Set) insert(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			return true
		case h:
			return false
		}
	}
}

func (s *Set) grow() {
	old := s.slots
	s.slots = make([]uint64, len(old)*2)
	for _, h := range old {
		if h != 0 {
			s.insert(h)
		}
	}
}
