package lineage_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// coreSchema is the event schema the events are valid against as a whole.
const coreSchema = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

// validator checks events against the OpenLineage schemas copied into
// testdata/openlineage and retain's own facet schemas in facets/. Each file
// is registered under its $id and no loader is installed, so a $ref or a
// _schemaURL that names any other file fails rather than reach the network.
type validator struct {
	compiler *jsonschema.Compiler
	// docs are the schema files by $id, to look up their $defs and the
	// facet names they declare.
	docs     map[string]map[string]any
	compiled map[string]*jsonschema.Schema
}

func newValidator(t *testing.T) *validator {
	t.Helper()
	v := &validator{compiler: jsonschema.NewCompiler(), docs: map[string]map[string]any{}, compiled: map[string]*jsonschema.Schema{}}
	v.compiler.AssertFormat()
	v.compiler.UseLoader(jsonschema.SchemeURLLoader{})
	var files []string
	for _, pattern := range []string{"testdata/openlineage/*.json", "testdata/openlineage/facets/*.json", "facets/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if id == "" {
			t.Fatalf("%s has no $id", f)
		}
		if err := v.compiler.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v.docs[id] = obj
	}
	if v.docs[coreSchema] == nil {
		t.Fatalf("no %s among %v", coreSchema, files)
	}
	return v
}

func (v *validator) validate(url string, inst any) error {
	s, ok := v.compiled[url]
	if !ok {
		var err error
		if s, err = v.compiler.Compile(url); err != nil {
			return fmt.Errorf("schema %s: %w", url, err)
		}
		v.compiled[url] = s
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("against %s: %w", url, err)
	}
	return nil
}

// check returns every way one event breaks the schemas: the core schema,
// the definition its schemaURL names, and for each facet the definition
// its _schemaURL names, which must be a file registered here, the
// definition #/$defs/<Facet> in it, under the name the file gives it.
func (v *validator) check(raw []byte) []error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []error{err}
	}
	ev, _ := inst.(map[string]any)
	var errs []error
	schemaURL, _ := ev["schemaURL"].(string)
	for _, url := range []string{coreSchema, schemaURL} {
		if err := v.validate(url, inst); err != nil {
			errs = append(errs, err)
		}
	}
	for _, fs := range facetSets(ev) {
		for _, key := range slices.Sorted(maps.Keys(fs.facets)) {
			if err := v.checkFacet(key, fs.facets[key]); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", fs.where, key, err))
			}
		}
	}
	return errs
}

func (v *validator) checkFacet(key string, facet any) error {
	obj, ok := facet.(map[string]any)
	if !ok {
		return fmt.Errorf("not an object")
	}
	url, _ := obj["_schemaURL"].(string)
	file, fragment, _ := strings.Cut(url, "#")
	doc, ok := v.docs[file]
	if !ok {
		return fmt.Errorf("_schemaURL %q names a file that is not in testdata/openlineage (nor facets/)", url)
	}
	def, ok := strings.CutPrefix(fragment, "/$defs/")
	defs, _ := doc["$defs"].(map[string]any)
	if _, found := defs[def]; !ok || !found {
		return fmt.Errorf("_schemaURL %q: want #/$defs/<Facet>, a definition of %s", url, file)
	}
	if props, _ := doc["properties"].(map[string]any); props[key] == nil {
		return fmt.Errorf("%s names its facet %v, not %q", file, slices.Sorted(maps.Keys(props)), key)
	}
	return v.validate(url, facet)
}

type facetSet struct {
	where  string
	facets map[string]any
}

// facetSets are the event's facet maps: the run's, the job's, and each
// dataset's own and input or output ones.
func facetSets(ev map[string]any) []facetSet {
	var sets []facetSet
	add := func(where string, owner any, field string) {
		o, _ := owner.(map[string]any)
		if fs, ok := o[field].(map[string]any); ok {
			sets = append(sets, facetSet{where + "." + field, fs})
		}
	}
	add("run", ev["run"], "facets")
	add("job", ev["job"], "facets")
	for _, side := range []struct{ list, facets string }{{"inputs", "inputFacets"}, {"outputs", "outputFacets"}} {
		list, _ := ev[side.list].([]any)
		for i, d := range list {
			where := fmt.Sprintf("%s[%d]", side.list, i)
			add(where, d, "facets")
			add(where, d, side.facets)
		}
	}
	return sets
}

// validEvent passes every check; TestValidatorCatches breaks it one way at
// a time.
const validEvent = `{
  "eventType": "COMPLETE", "eventTime": "2026-07-01T02:30:00Z", "producer": "urn:retain:v1",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
  "run": {"runId": "0b9e7c5e-1f8a-5c3d-9a4b-2c6d8e0f1a2b", "facets": {
    "retain_outcome": {"_producer": "urn:retain:v1", "_schemaURL": "urn:retain:lineage:facets:1-0-0:RetainOutcomeRunFacet.json#/$defs/RetainOutcomeRunFacet", "status": "ok"}}},
  "job": {"namespace": "retain", "name": "shop"},
  "inputs": [],
  "outputs": [{"namespace": "file", "name": "/out/customer_summary", "facets": {
    "schema": {"_producer": "urn:retain:v1", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", "fields": [{"name": "customer_id"}]}}}]
}`

// TestValidatorCatches: the checks that guard the events fail on what the
// events used to carry (null outputs, facet versions that do not exist) and
// on the other ways an event or facet can be wrong.
func TestValidatorCatches(t *testing.T) {
	v := newValidator(t)
	if errs := v.check([]byte(validEvent)); len(errs) > 0 {
		t.Fatalf("the valid event fails: %v", errs)
	}
	const schemaURL = `"https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"`
	tests := []struct {
		name, old, new, want string
	}{
		{"null outputs", `"outputs": [{`, `"outputs": null, "x": [{`, "got null, want array"},
		{"facet version without a file", schemaURL, `"https://openlineage.io/spec/facets/1-0-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"`, "not in testdata"},
		{"facet URL without its definition", schemaURL, `"https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"`, "want #/$defs/"},
		{"definition the file lacks", schemaURL, `"https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/Schema"`, "want #/$defs/"},
		{"facet under another name", `"schema": {`, `"schemas": {`, "names its facet"},
		{"facet breaking its schema", `[{"name": "customer_id"}]`, `[{"type": "utf8"}]`, "missing property 'name'"},
		{"run id not a UUID", `"0b9e7c5e-1f8a-5c3d-9a4b-2c6d8e0f1a2b"`, `"r-1"`, "not valid uuid"},
		{"unknown event type", `"COMPLETE"`, `"SKIPPED"`, "must be one of"},
		{"outcome the facet does not know", `"status": "ok"`, `"status": "maybe"`, "must be one of"},
		{"facet without a producer", `{"_producer": "urn:retain:v1", "_schemaURL": "urn:`, `{"_schemaURL": "urn:`, "missing property '_producer'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := strings.Replace(validEvent, tt.old, tt.new, 1)
			if broken == validEvent {
				t.Fatalf("%q is not in the event", tt.old)
			}
			errs := v.check([]byte(broken))
			if len(errs) == 0 {
				t.Fatal("passes")
			}
			if !strings.Contains(fmt.Sprint(errs), tt.want) {
				t.Errorf("errors %v, want one about %q", errs, tt.want)
			}
		})
	}
}
