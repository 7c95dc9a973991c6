package jobfile

import (
	"bytes"
	"os"
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

// TestReferenceInStep fails when docs/config.md was not regenerated after a
// section changed: run `go run ./cmd/retain config > docs/config.md`.
func TestReferenceInStep(t *testing.T) {
	var b bytes.Buffer
	if err := WriteReference(&b); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Error("docs/config.md is stale; regenerate it with `go run ./cmd/retain config > docs/config.md`")
	}
}
