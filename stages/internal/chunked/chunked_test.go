package chunked

import (
	"slices"
	"testing"
)

// wide is an entry 4 KiB wide: 256 to a chunk, so a few thousand entries
// cross many chunk boundaries.
type wide struct {
	v   int
	pad [4096 - 8]byte
}

// huge is wider than a chunk: one entry per chunk.
type huge struct {
	v   int
	pad [chunkBytes]byte
}

func TestChunkShift(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  uint
		want int
	}{
		{"uint64", chunkShift[uint64](), chunkBytes / 8},
		{"4 KiB entries", chunkShift[wide](), 256},
		{"24-byte entries: the power of two below 43,690", chunkShift[state](), 32768},
		{"entries wider than a chunk", chunkShift[huge](), 1},
		{"zero-size entries", chunkShift[struct{}](), chunkBytes},
	} {
		if 1<<tt.got != tt.want {
			t.Errorf("%s: %d entries a chunk, want %d", tt.name, 1<<tt.got, tt.want)
		}
	}
}

func TestJoin(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 255, 256, 257, 512, 1000, 2049} {
		var s Slice[wide]
		for i := range n {
			s.Append(wide{v: i})
		}
		if s.Len() != n {
			t.Errorf("n=%d: Len %d before Join", n, s.Len())
		}
		got := s.Join()
		if n == 0 && got != nil {
			t.Errorf("n=0: Join gave %d entries, want nil", len(got))
		}
		if len(got) != n {
			t.Fatalf("n=%d: joined %d entries", n, len(got))
		}
		for i, w := range got {
			if w.v != i {
				t.Fatalf("n=%d: entry %d holds %d", n, i, w.v)
			}
		}
		if n > 256 && cap(got) != n {
			t.Errorf("n=%d: joined capacity %d, want exactly the length", n, cap(got))
		}
		if s.Len() != 0 || s.Join() != nil {
			t.Errorf("n=%d: the Slice is not empty after Join", n)
		}
	}
}

func TestAppendSliceAcrossChunks(t *testing.T) {
	var s Slice[uint64]
	size := 1 << chunkShift[uint64]()
	var want []uint64
	next := uint64(0)
	// Runs shorter than, equal to and longer than a chunk, and single
	// entries between, so runs start at every kind of offset.
	for _, run := range []int{3, size - 5, 1, size, 0, 2*size + 11, 17} {
		vs := make([]uint64, run)
		for i := range vs {
			vs[i] = next
			next++
		}
		s.AppendSlice(vs)
		want = append(want, vs...)
		s.Append(next)
		want = append(want, next)
		next++
	}
	if s.Len() != len(want) {
		t.Fatalf("Len %d, want %d", s.Len(), len(want))
	}
	if got := s.Join(); !slices.Equal(got, want) {
		t.Fatalf("joined %d entries, not the %d appended in order", len(got), len(want))
	}
}

func TestAtInPlace(t *testing.T) {
	var s Slice[wide]
	var kept []*wide // pointers taken while the Slice was shorter
	for i := range 2000 {
		s.Append(wide{v: i})
		if s.At(i).v != i {
			t.Fatalf("At(%d) holds %d right after its Append", i, s.At(i).v)
		}
		if i%97 == 0 {
			kept = append(kept, s.At(i))
		}
	}
	// The first chunk moves while it doubles, up to 256 entries; entries
	// from there on stay put.
	for _, p := range kept {
		if p.v >= 256 {
			p.v = -p.v
		}
	}
	for i := range s.Len() {
		want := i
		if i >= 256 && i%97 == 0 {
			want = -i
		}
		if s.At(i).v != want {
			t.Fatalf("At(%d) holds %d, want %d", i, s.At(i).v, want)
		}
	}
	if s.Cap() != 2048 {
		t.Errorf("Cap %d with 2,000 entries in chunks of 256, want 2048", s.Cap())
	}
}

func TestReuseAfterJoin(t *testing.T) {
	var s Slice[huge]
	for round := range 3 {
		for i := range 5 {
			s.Append(huge{v: 10*round + i})
		}
		got := s.Join()
		if len(got) != 5 || got[0].v != 10*round || got[4].v != 10*round+4 {
			t.Errorf("round %d: joined %d entries, first %d", round, len(got), got[0].v)
		}
	}
}

// state is the shape segments keeps per customer and night: 24 bytes.
type state struct {
	last   int32
	orders float64
	cents  float64
}

// BenchmarkAppend builds a slice of 5.25M 24-byte entries (the cells of a
// million customers) by append and by Slice then Join, in the same run.
func BenchmarkAppend(b *testing.B) {
	const n = 5_250_000
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			var out []state
			for i := range n {
				out = append(out, state{last: int32(i)})
			}
			_ = out
		}
	})
	b.Run("chunked", func(b *testing.B) {
		for b.Loop() {
			var s Slice[state]
			for i := range n {
				s.Append(state{last: int32(i)})
			}
			_ = s.Join()
		}
	})
}
