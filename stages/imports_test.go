package stages_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestStagesDoNotImportEachOther: a stage depends on pipeline, schemas and
// the shared packages under stages/internal/, never on another stage, so
// that a stage can change, or be left out of a build, without touching the
// others. Test files count too; an external test package may import the
// stage it tests.
func TestStagesDoNotImportEachOther(t *testing.T) {
	const prefix = "retain/stages/"
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	stage := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "internal" && e.Name() != "testdata" {
			stage[prefix+e.Name()] = true
		}
	}
	if len(stage) == 0 {
		t.Fatal("no stage packages found")
	}
	files, err := filepath.Glob("*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		own := prefix + filepath.Dir(f)
		if !stage[own] {
			continue
		}
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if stage[path] && path != own {
				t.Errorf("%s imports stage %s; move what they share under stages/internal/", f, path)
			}
		}
	}
}
