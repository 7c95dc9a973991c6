// Package chunked builds the long slices a stage fills one customer at a
// time (a million entries and more) in chunks of about a MiB, and joins
// them once, at the exact length, when the last entry is in.
//
// Growing one slice by append copies it into fresh memory at every
// doubling: at a million customers that is a copy of every entry several
// times over, and each copy is one uninterruptible memmove of up to
// hundreds of MB, which on this job's two cores costs several times what
// writing the entries does (BenchmarkAppend). Chunks are written once,
// and the join copies each entry once more into a slice with no spare
// capacity.
package chunked

import "unsafe"

// chunkBytes is a chunk's size: large enough that a million entries are a
// few hundred chunks, small enough that a half-empty last chunk is noise.
const chunkBytes = 1 << 20

// Slice is a slice of T under construction. The zero value is empty and
// ready. Small slices never leave the first chunk, which grows by append
// like any slice, so a Slice of a few entries costs what they do.
type Slice[T any] struct {
	full [][]T // filled chunks, in order
	cur  []T   // the chunk being filled
	n    int   // entries in full
}

// chunkLen is the entries in a chunk: at least one, for any T.
func chunkLen[T any]() int {
	var zero T
	return max(1, chunkBytes/max(1, int(unsafe.Sizeof(zero))))
}

// Len is the number of entries appended since the last Join.
func (s *Slice[T]) Len() int { return s.n + len(s.cur) }

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
// after which a full chunk is set aside and a new one started.
func (s *Slice[T]) grow() {
	size := chunkLen[T]()
	if cap(s.cur) < size {
		next := make([]T, len(s.cur), min(size, max(8, 2*cap(s.cur))))
		copy(next, s.cur)
		s.cur = next
		return
	}
	s.full = append(s.full, s.cur)
	s.n += len(s.cur)
	s.cur = make([]T, 0, size)
}

// Join returns the entries as one slice of exactly their length (nil when
// there are none) and leaves s empty. A Slice that never outgrew its first
// chunk hands that chunk over without a copy.
func (s *Slice[T]) Join() []T {
	if len(s.full) == 0 {
		out := s.cur
		*s = Slice[T]{}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	out := make([]T, 0, s.Len())
	for i, c := range s.full {
		out = append(out, c...)
		s.full[i] = nil // the copied chunk is garbage from here on
	}
	out = append(out, s.cur...)
	*s = Slice[T]{}
	return out
}
