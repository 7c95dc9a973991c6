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
