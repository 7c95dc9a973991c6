package ids

import "testing"

func TestTrim(t *testing.T) {
	var n int64
	for _, tc := range []struct{ in, want string }{
		{"C1", "C1"}, {" C1", "C1"}, {"C1 \t", "C1"}, {"   ", ""}, {"", ""},
	} {
		if got := Trim(tc.in, &n); got != tc.want {
			t.Errorf("Trim(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n != 2 {
		t.Errorf("trimmed %d ids, want 2 (blank ids are missing, not trimmed)", n)
	}
	m := map[string]int64{}
	AddCount(m, "a", 0)
	AddCount(m, "b", 3)
	if len(m) != 1 || m["b"] != 3 {
		t.Errorf("counts %v", m)
	}
}
