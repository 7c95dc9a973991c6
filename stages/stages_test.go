package stages_test

import (
	"slices"
	"testing"

	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages"
)

// TestRegisterAll: every stage of the nightly job is registered once, the
// declarations form a valid graph, and every output table has a stage that
// produces it and one that writes it. A stage left out of RegisterAll that
// only consumes (report, audiences, load) would not break the graph, so the
// names are listed here.
func TestRegisterAll(t *testing.T) {
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	specs := reg.Specs()
	seen := map[string]bool{}
	var names []string
	for _, s := range specs {
		if seen[s.Name] {
			t.Errorf("stage %q registered twice", s.Name)
		}
		seen[s.Name] = true
		names = append(names, s.Name)
	}
	want := []string{"actions", "affinity", "audiences", "clv", "cohorts", "customer_summary",
		"extract", "extract_items", "kpis", "load", "margin", "report", "segments", "validate"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("registered stages %v, want %v", names, want)
	}
	g, err := engine.BuildGraph(specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range schemas.Outputs() {
		if len(g.Producers(tbl.Name)) == 0 {
			t.Errorf("no stage produces output table %s", tbl.Name)
		}
		if !slices.ContainsFunc(specs, func(s night.Spec) bool { return slices.Contains(s.Artifacts, tbl.Name) }) {
			t.Errorf("no stage writes output table %s", tbl.Name)
		}
	}
}
