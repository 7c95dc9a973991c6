package jobfile

import (
	"testing"

	"retain/config"
)

// TestSectionsDeclared: every section's declaration is valid and its
// defaults pass its own rules.
func TestSectionsDeclared(t *testing.T) {
	s, err := Sections()
	if err != nil {
		t.Fatal(err)
	}
	if err := config.Check(s); err != nil {
		t.Fatal(err)
	}
}
