package fingerprint

import (
	"fmt"
	"testing"
)

func TestSet(t *testing.T) {
	s := NewSet()
	for i := 0; i < 200_000; i++ {
		if !s.Add(fmt.Sprintf("O%d", i)) {
			t.Fatalf("O%d reported as seen", i)
		}
	}
	for i := 0; i < 200_000; i += 997 {
		if s.Add(fmt.Sprintf("O%d", i)) || !s.Has(fmt.Sprintf("O%d", i)) {
			t.Fatalf("O%d not remembered after growth", i)
		}
	}
	if s.Has("O200000") || s.Len() != 200_000 || len(s.slots) < s.n*4/3 {
		t.Errorf("n = %d with %d slots", s.n, len(s.slots))
	}
}

// TestMark: marks survive growth and never turn a non-member into a member.
func TestMark(t *testing.T) {
	s := NewSet()
	for i := 0; i < 1000; i++ {
		s.Add(fmt.Sprintf("O%d", i))
	}
	for _, tc := range []struct {
		id           string
		found, first bool
	}{
		{"O1", true, true},
		{"O1", true, false},
		{"O2", true, true},
		{"X1", false, false},
		{"X1", false, false},
	} {
		if found, first := s.Mark(tc.id); found != tc.found || first != tc.first {
			t.Errorf("Mark(%s) = %v, %v; want %v, %v", tc.id, found, first, tc.found, tc.first)
		}
	}
	for i := 1000; i < 100_000; i++ {
		s.Add(fmt.Sprintf("O%d", i))
	}
	if found, first := s.Mark("O1"); !found || first {
		t.Errorf("mark of O1 lost in growth: %v %v", found, first)
	}
	if found, first := s.Mark("O3"); !found || !first {
		t.Errorf("O3 marked without Mark: %v %v", found, first)
	}
	if s.Add("O1") || !s.Has("O1") || s.Has("X1") || s.Len() != 100_000 {
		t.Errorf("membership changed by marks")
	}
}
