// Package fingerprint holds a compact set of 64-bit string fingerprints, for
// remembering order ids at about 11 bytes each.
package fingerprint

import "github.com/zeebo/xxh3"

// Flag is a bit a member carries, so one table answers "was this order
// used" and "was it already counted" without a second set.
type Flag uint64

// The two flags a member may carry; the rest of the slot is the fingerprint.
const (
	FlagA Flag = 1 << 63
	FlagB Flag = 1 << 62

	flags = uint64(FlagA | FlagB)
)

// Set remembers which order ids were seen, as 62-bit fingerprints in an
// open-addressing table: 8 bytes per distinct order at most 3/4 full, about
// 11 bytes per order, against ~60 for a Go map of strings. Two different ids
// share a fingerprint with probability n²/2⁶³ (about 1 in 100,000 for 10
// million orders); the hash is fixed, so the outcome is the same on every
// rerun.
type Set struct {
	slots []uint64
	n     int
	sink  uint64 // keeps Touch's reads from being optimised away
	// words and ratios are the members' payloads, slot for slot, when the
	// set was made with NewPayloadSet; nil otherwise, so a set without
	// payloads costs no more than before.
	words  []uint64
	ratios []float64
}

// Payload is what a member of a set made with NewPayloadSet carries beside
// its flags: a word (another fingerprint, say) and a ratio, 16 bytes a slot.
// The ratio is a float64 because it multiplies money: a float32 would move
// an exchange rate in its eighth digit, and turn one above 3.4e38 into +Inf.
type Payload struct {
	Word  uint64
	Ratio float64
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{slots: make([]uint64, minSlots)} }

// minSlots is the table size of a new set.
const minSlots = 1 << 16

// NewSetFor returns an empty set sized for n members, for a caller that
// knows about how many it will add: growing a table of millions rehashes
// every member at each doubling, and holds the old table beside the new.
// Members are the same whatever the size; only the layout differs.
func NewSetFor(n int) *Set {
	size := minSlots
	for size < 1<<40 && n*4 > size*3 {
		size *= 2
	}
	return &Set{slots: make([]uint64, size)}
}

// NewPayloadSet returns an empty set whose members carry a Payload (the
// zero Payload until SetPayload).
func NewPayloadSet() *Set {
	s := NewSet()
	s.words, s.ratios = make([]uint64, len(s.slots)), make([]float64, len(s.slots))
	return s
}

// HasPayloads reports whether the set was made with NewPayloadSet.
func (s *Set) HasPayloads() bool { return s.words != nil }

// SetPayload stores p with member k and reports whether k is a member. A
// set without payloads stores nothing.
func (s *Set) SetPayload(k uint64, p Payload) bool {
	i := s.find(k)
	if i < 0 {
		return false
	}
	if s.words != nil {
		s.words[i], s.ratios[i] = p.Word, p.Ratio
	}
	return true
}

// PayloadKey returns member k's flags and payload, and whether k is a
// member; the payload is zero in a set without payloads.
func (s *Set) PayloadKey(k uint64) (Flag, Payload, bool) {
	i := s.find(k)
	if i < 0 {
		return 0, Payload{}, false
	}
	var p Payload
	if s.words != nil {
		p = Payload{s.words[i], s.ratios[i]}
	}
	return Flag(s.slots[i] & flags), p, true
}

// Key is id's fingerprint, for callers that compute keys in bulk.
func Key(id string) uint64 { return key(id) }

func key(id string) uint64 {
	h := xxh3.HashString(id) &^ flags
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return h
}

// Add records id and reports whether it was new.
func (s *Set) Add(id string) bool { return s.AddFlagged(id, 0) }

// AddFlagged records id carrying flags f and reports whether it was new; an
// id already present keeps its flags.
func (s *Set) AddFlagged(id string, f Flag) bool { return s.AddKey(key(id), f) }

// AddKey is AddFlagged for a Key.
func (s *Set) AddKey(k uint64, f Flag) bool {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	if s.insert(k | uint64(f)) {
		s.n++
		return true
	}
	return false
}

// Has reports whether id was added.
func (s *Set) Has(id string) bool { return s.find(key(id)) >= 0 }

// Mark sets flag f on member id. It returns the member's flags before the
// call, and whether id is a member at all.
func (s *Set) Mark(id string, f Flag) (before Flag, found bool) { return s.MarkKey(key(id), f) }

// MarkKey is Mark for a Key.
func (s *Set) MarkKey(k uint64, f Flag) (before Flag, found bool) {
	i := s.find(k)
	if i < 0 {
		return 0, false
	}
	before = Flag(s.slots[i] & flags)
	s.slots[i] |= uint64(f)
	return before, true
}

// HasKey is Has for a Key.
func (s *Set) HasKey(k uint64) bool { return s.find(k) >= 0 }

// Keep returns a new set of the members carrying flag f, without flags:
// a small set can outlive the large one it was found in.
func (s *Set) Keep(f Flag) *Set {
	kept := NewSet()
	for _, v := range s.slots {
		if v != 0 && v&uint64(f) != 0 {
			kept.AddKey(v&^flags, 0)
		}
	}
	return kept
}

// Touch reads the home slot of every key. A table of millions of orders
// lives far outside the CPU caches, and one probe at a time waits out one
// memory round trip each; a tight loop of independent reads keeps dozens in
// flight, so the probes that follow for the same keys hit the cache. Give it
// a few hundred keys at a time.
func (s *Set) Touch(keys []uint64) {
	mask := uint64(len(s.slots) - 1)
	var x uint64
	for _, k := range keys {
		x ^= s.slots[k&mask]
	}
	s.sink ^= x
}

// Prefetch is Touch for a set that several goroutines read at once: it
// writes nothing, and returns what it read for the caller to discard. It
// is never inlined, so the reads cannot be optimised away.
//
//go:noinline
func (s *Set) Prefetch(keys []uint64) uint64 {
	mask := uint64(len(s.slots) - 1)
	var x uint64
	for _, k := range keys {
		x ^= s.slots[k&mask]
	}
	return x
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
		case v&^flags == h:
			return int(i)
		}
	}
}

// insert places slot value v (a key and its flags) unless its key is
// present, and reports whether it did.
func (s *Set) insert(v uint64) bool { return s.place(v) >= 0 }

// place is insert returning the slot it filled, or -1.
func (s *Set) place(v uint64) int {
	h := v &^ flags
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch w := s.slots[i]; {
		case w == 0:
			s.slots[i] = v
			return int(i)
		case w&^flags == h:
			return -1
		}
	}
}

// Reserve makes room for n members in all, so a caller that learns how
// many it will add only after the set was made (from its first batch, say)
// grows the table once rather than at every doubling on the way. Members
// are the same whatever the size; only the layout differs.
func (s *Set) Reserve(n int) {
	size := len(s.slots)
	for size < 1<<40 && n*4 > size*3 {
		size *= 2
	}
	if size > len(s.slots) {
		s.resize(size)
	}
}

func (s *Set) grow() { s.resize(len(s.slots) * 2) }

// resize moves every member into a table of size slots, a power of two.
func (s *Set) resize(size int) {
	old, words, ratios := s.slots, s.words, s.ratios
	s.slots = make([]uint64, size)
	if words != nil {
		s.words, s.ratios = make([]uint64, len(s.slots)), make([]float64, len(s.slots))
	}
	for j, v := range old {
		if v == 0 {
			continue
		}
		i := s.place(v)
		if words != nil {
			s.words[i], s.ratios[i] = words[j], ratios[j]
		}
	}
}
