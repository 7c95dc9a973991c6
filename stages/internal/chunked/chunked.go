// Package chunked builds the long slices a stage fills one customer at a
// time (a million entries and more) in chunks of up to a MiB, and joins
// them once, at the exact length, when the last entry is in; or, for
// state updated in place as it grows, reads and writes them where they
// are.
//
// Growing one slice by append copies it into fresh memory at every
// doubling: at a million customers that is a copy of every entry several
// times over, and each copy is one uninterruptible memmove of up to
// hundreds of MB, which on this job's two cores costs several times what
// writing the entries does (BenchmarkAppend). Chunks are written once,
// and the join copies each entry once more into a slice with no spare
// capacity.
package chunked

import (
	"math/bits"
	"unsafe"
)

// chunkBytes bounds a chunk's size: large enough that a million entries
// are a few hundred chunks, small enough that a half-empty last chunk is
// noise.
const chunkBytes = 1 << 20

// Slice is a slice of T under construction. The zero value is empty and
// ready. Small slices never leave the first chunk, which grows by append
// like any slice, so a Slice of a few entries costs what they do.
type Slice[T any] struct {
	// chunks are the filled chunks, each of 1<<shift entries, then the
	// one being filled, cur, whose header here keeps its array but not
	// its length: Append touches cur alone.
	chunks [][]T
	cur    []T
	n      int // entries in the filled chunks
	shift  uint
}

// chunkShift is the log2 of the entries in a chunk: the most a power of
// two of T fit in chunkBytes, and at least one entry, for any T.
func chunkShift[T any]() uint {
	var zero T
	return uint(bits.Len(uint(max(1, chunkBytes/max(1, int(unsafe.Sizeof(zero)))))) - 1)
}

// Len is the number of entries appended since the last Join.
func (s *Slice[T]) Len() int { return s.n + len(s.cur) }

// Cap is the number of entries the chunks hold room for.
func (s *Slice[T]) Cap() int { return s.n + cap(s.cur) }

// At is entry i, in place, for 0 ≤ i < Len. Once the first chunk is full
// (1<<shift entries) entries never move, so the pointer stays valid while
// more are appended.
func (s *Slice[T]) At(i int) *T {
	c := s.chunks[i>>s.shift]
	return &c[:cap(c)][i&(1<<s.shift-1)]
}

// Append adds v at the end.
func (s *Slice[T]) Append(v T) {
	if len(s.cur) == cap(s.cur) {
		s.grow()
	}
	s.cur = append(s.cur, v)
}

// AppendSlice adds vs at the end, in order.
func (s *Slice[T]) AppendSlice(vs []T) {
	for len(vs) > 0 {
		if len(s.cur) == cap(s.cur) {
			s.grow()
		}
		k := min(len(vs), cap(s.cur)-len(s.cur))
		s.cur = append(s.cur, vs[:k]...)
		vs = vs[k:]
	}
}

// grow makes room in cur: the first chunk doubles up to a chunk's length,
// after which the full chunk stays where it is and a new one is started.
func (s *Slice[T]) grow() {
	if len(s.chunks) == 0 {
		s.shift = chunkShift[T]()
		s.chunks = append(s.chunks, nil)
	}
	size := 1 << s.shift
	if cap(s.cur) < size {
		next := make([]T, len(s.cur), min(size, max(8, 2*cap(s.cur))))
		copy(next, s.cur)
		s.cur = next
		s.chunks[0] = next
		return
	}
	s.n += len(s.cur)
	s.cur = make([]T, 0, size)
	s.chunks = append(s.chunks, s.cur)
}

// Join returns the entries as one slice of exactly their length (nil when
// there are none) and leaves s empty. A Slice that never outgrew its first
// chunk hands that chunk over without a copy.
func (s *Slice[T]) Join() []T {
	if len(s.chunks) <= 1 {
		out := s.cur
		*s = Slice[T]{}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	out := make([]T, 0, s.Len())
	for i, c := range s.chunks[:len(s.chunks)-1] {
		out = append(out, c[:cap(c)]...)
		s.chunks[i] = nil // the copied chunk is garbage from here on
	}
	out = append(out, s.cur...)
	*s = Slice[T]{}
	return out
}
