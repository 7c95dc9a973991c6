package quarantine

import (
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"C1", "C1"},
		{"", ""},
		{"Köln 東京", "Köln 東京"},
		{"C\xff\xfe", `C\xff\xfe`},
		{"\xc3", `\xc3`},                 // a truncated two-byte sequence
		{"a\xc3\x28b", `a\xc3(b`},        // an invalid continuation
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a UTF-16 surrogate
		{"ok\xffö", `ok\xffö`},
	}
	for _, tt := range tests {
		got := printable(tt.in)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
