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

// TestFlags: flags survive growth, never turn a non-member into a member,
// and an added id keeps the flags it was added with.
func TestFlags(t *testing.T) {
	s := NewSet()
	for i := 0; i < 1000; i++ {
		f := Flag(0)
		if i%2 == 0 {
			f = FlagA
		}
		s.AddFlagged(fmt.Sprintf("O%d", i), f)
	}
	for _, tc := range []struct {
		id     string
		flag   Flag
		before Flag
		found  bool
	}{
		{"O1", FlagB, 0, true},
		{"O1", FlagB, FlagB, true},
		{"O2", FlagB, FlagA, true},
		{"O2", FlagA, FlagA | FlagB, true},
		{"X1", FlagB, 0, false},
		{"X1", FlagB, 0, false},
	} {
		if before, found := s.Mark(tc.id, tc.flag); before != tc.before || found != tc.found {
			t.Errorf("Mark(%s, %x) = %x, %v; want %x, %v", tc.id, tc.flag, before, found, tc.before, tc.found)
		}
	}
	for i := 1000; i < 100_000; i++ {
		s.Add(fmt.Sprintf("O%d", i))
	}
	if before, _ := s.Mark("O1", FlagB); before != FlagB {
		t.Errorf("flag of O1 lost in growth: %x", before)
	}
	if before, _ := s.Mark("O4", FlagB); before != FlagA {
		t.Errorf("O4 flags %x, want FlagA from AddFlagged", before)
	}
	if s.AddFlagged("O3", FlagA) || s.Add("O1") || !s.Has("O1") || s.Has("X1") || s.Len() != 100_000 {
		t.Errorf("membership changed by flags")
	}
	if before, _ := s.Mark("O3", 0); before != 0 {
		t.Errorf("re-adding O3 changed its flags to %x", before)
	}
}

// TestKeep: only the flagged members move to the new set, unflagged.
func TestKeep(t *testing.T) {
	s := NewSet()
	for i := range 100000 {
		s.AddFlagged(fmt.Sprint("o", i), 0)
	}
	for i := 0; i < 100000; i += 1000 {
		s.Mark(fmt.Sprint("o", i), FlagA)
	}
	s.Mark("o7", FlagB)
	kept := s.Keep(FlagA)
	if kept.Len() != 100 {
		t.Fatalf("kept %d members, want 100", kept.Len())
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{"o0", true}, {"o99000", true}, {"o7", false}, {"o1", false}, {"x", false}} {
		if got := kept.HasKey(Key(tc.id)); got != tc.want {
			t.Errorf("HasKey(%s) = %v, want %v", tc.id, got, tc.want)
		}
	}
	if before, _ := kept.Mark("o0", 0); before != 0 {
		t.Errorf("kept member carries flags %x", before)
	}
}

// TestPayloads: payloads stay with their members through growth, a
// non-member has none, and a set without payloads stores none.
func TestPayloads(t *testing.T) {
	s := NewPayloadSet()
	for i := 0; i < 100_000; i++ {
		k := Key(fmt.Sprintf("O%d", i))
		s.AddKey(k, FlagA)
		if i%3 == 0 && !s.SetPayload(k, Payload{Word: uint64(i) * 7, Ratio: float64(i) / 4}) {
			t.Fatalf("O%d: SetPayload of a member failed", i)
		}
	}
	for _, tc := range []struct {
		id    string
		want  Payload
		found bool
	}{
		{"O0", Payload{0, 0}, true},
		{"O3", Payload{21, 0.75}, true},
		{"O4", Payload{}, true},
		{"O99999", Payload{699993, 24999.75}, true},
		{"X1", Payload{}, false},
	} {
		f, p, found := s.PayloadKey(Key(tc.id))
		if p != tc.want || found != tc.found || (found && f != FlagA) {
			t.Errorf("%s: payload %+v, flags %x, found %v; want %+v, found %v", tc.id, p, f, found, tc.want, tc.found)
		}
	}
	if s.SetPayload(Key("X1"), Payload{Word: 1}) {
		t.Error("SetPayload of a non-member reported success")
	}
	plain := NewSet()
	plain.Add("O1")
	if !plain.SetPayload(Key("O1"), Payload{Word: 5}) || plain.HasPayloads() {
		t.Error("a set without payloads: SetPayload should find the member and keep nothing")
	}
	if _, p, _ := plain.PayloadKey(Key("O1")); p != (Payload{}) {
		t.Errorf("a set without payloads returned %+v", p)
	}
}

// TestNewSetFor: a sized set holds n members without growing, and its
// members are what they would be in a set that grew.
func TestNewSetFor(t *testing.T) {
	for _, tc := range []struct {
		n, slots int
	}{
		{0, 1 << 16},
		{-5, 1 << 16},
		{49_152, 1 << 16}, // exactly 3/4 full
		{49_153, 1 << 17},
		{1_000_000, 1 << 21},
	} {
		s := NewSetFor(tc.n)
		if len(s.slots) != tc.slots {
			t.Errorf("NewSetFor(%d): %d slots, want %d", tc.n, len(s.slots), tc.slots)
		}
		for i := range tc.n {
			s.Add(fmt.Sprintf("O%d", i))
		}
		if len(s.slots) != tc.slots || s.Len() != max(tc.n, 0) {
			t.Errorf("NewSetFor(%d) after %d adds: %d slots, %d members", tc.n, tc.n, len(s.slots), s.Len())
		}
		if tc.n > 0 && (!s.Has("O0") || !s.Has(fmt.Sprintf("O%d", tc.n-1)) || s.Has(fmt.Sprintf("O%d", tc.n))) {
			t.Errorf("NewSetFor(%d): members wrong", tc.n)
		}
	}
}

// TestReserve: a set reserved after members arrived keeps them, their flags
// and payloads, and takes the rest without growing again.
func TestReserve(t *testing.T) {
	s := NewPayloadSet()
	for i := range 1000 {
		k := Key(fmt.Sprint("o", i))
		s.AddKey(k, Flag(i%2)*FlagA)
		s.SetPayload(k, Payload{Word: uint64(i), Ratio: float64(i) / 4})
	}
	s.Reserve(300_000)
	size := len(s.slots)
	if size != 1<<19 {
		t.Fatalf("reserved %d slots for 300,000 members, want %d", size, 1<<19)
	}
	for i := 1000; i < 300_000; i++ {
		s.Add(fmt.Sprint("o", i))
	}
	if len(s.slots) != size || s.Len() != 300_000 {
		t.Fatalf("%d members in %d slots, want 300,000 in %d", s.Len(), len(s.slots), size)
	}
	for i := range 1000 {
		f, p, ok := s.PayloadKey(Key(fmt.Sprint("o", i)))
		if want := Flag(i%2) * FlagA; !ok || f != want || p != (Payload{Word: uint64(i), Ratio: float64(i) / 4}) {
			t.Fatalf("o%d: %x %+v %v after Reserve, want %x", i, f, p, ok, want)
		}
	}
	s.Reserve(10)
	if len(s.slots) != size {
		t.Errorf("Reserve(10) shrank the table to %d slots", len(s.slots))
	}
}
