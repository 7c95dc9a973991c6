package config_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retain/config"
)

var update = flag.Bool("update", false, "rewrite testdata/markdown.golden from the sections")

// TestMarkdownGolden compares the reference of the test sections with
// testdata/markdown.golden byte for byte; -update rewrites it.
func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := config.Markdown(&b, sections); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "markdown.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("Markdown differs from %s (go test ./config/ -run Golden -update rewrites it):\n%s", golden, b.String())
	}
	// The order sections are passed in does not matter.
	var again bytes.Buffer
	reversed := append([]config.Section(nil), sections...)
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	if err := config.Markdown(&again, reversed); err != nil || !bytes.Equal(again.Bytes(), want) {
		t.Errorf("Markdown depends on the order of sections (err %v)", err)
	}
}

type undocumented struct {
	Documented int    `yaml:"documented" doc:"Has a doc."`
	Nested     nested `yaml:"nested" doc:"Has a doc, but its fields do not."`
}

type nested struct {
	Forgotten string `yaml:"forgotten"`
}

// TestMarkdownNeedsDocs: a field without a doc tag fails the reference,
// so it cannot silently miss a key; the page is not half written.
func TestMarkdownNeedsDocs(t *testing.T) {
	s := config.NewSpec[undocumented]("undocumented", "A section with a gap.", nil, nil)
	var b bytes.Buffer
	err := config.Markdown(&b, []config.Section{clvSpec, s})
	const want = "undocumented.nested.forgotten (field nested.Forgotten) has no doc tag"
	if !errors.Is(err, config.ErrSpec) || !strings.Contains(err.Error(), want) {
		t.Errorf("Markdown err = %v, want ErrSpec mentioning %q", err, want)
	}
	if b.Len() != 0 {
		t.Errorf("Markdown wrote %d bytes despite the error", b.Len())
	}
	if _, err := config.Fields(s); !errors.Is(err, config.ErrSpec) || !strings.Contains(err.Error(), want) {
		t.Errorf("Fields err = %v", err)
	}
	if err := config.Check([]config.Section{s}); !errors.Is(err, config.ErrSpec) {
		t.Errorf("Check err = %v", err)
	}
	// Decoding does not need docs.
	if _, err := config.Decode([]byte("name: n\nundocumented: {nested: {forgotten: x}}\n"), "/", []config.Section{s}); err != nil {
		t.Errorf("Decode err = %v", err)
	}
}

func TestFields(t *testing.T) {
	fields, err := config.Fields(inputSpec)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]config.Field{}
	var order []string
	for _, f := range fields {
		got[f.Path] = f
		order = append(order, f.Path)
	}
	for _, want := range []config.Field{
		{Path: "input.orders", Type: "object", Default: "", Doc: "The orders table."},
		{Path: "input.orders.format", Type: "string", Default: "—", Allowed: `"", parquet or csv`, Doc: "File format; empty means by extension."},
		{Path: "input.orders.csv.delimiter", Type: "string", Default: `","`, Doc: "Field separator, one character."},
		{Path: "input.order_items", Type: "object", Default: "—", Doc: "The order items table; without it there is no product affinity."},
		// A nullable object's keys show the defaults it gets when set.
		{Path: "input.order_items.csv.null_values", Type: "list of string", Default: `["", "NULL"]`, Doc: "Cell texts read as null."},
		{Path: "input.order_items.columns", Type: "map of string to string", Default: "—", Doc: "Canonical column names to the shop's own."},
	} {
		if got[want.Path] != want {
			t.Errorf("field %s = %+v, want %+v", want.Path, got[want.Path], want)
		}
	}
	if strings.Join(order[:3], " ") != "input.orders input.orders.path input.orders.format" {
		t.Errorf("order = %v, want each object's keys after it", order)
	}
	fields, err = config.Fields(actionsSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f.Path == "actions.tiers.levels[].min" && (f.Allowed != "[0, +Inf)" || f.Default != "0") {
			t.Errorf("levels[].min = %+v", f)
		}
		if f.Path == "actions.milestones" && (f.Allowed != "each 1 to 2147483647" || f.Default != "[5, 10, 25, 50, 100]" || f.Type != "list of int") {
			t.Errorf("milestones = %+v", f)
		}
	}
}
