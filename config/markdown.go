package config

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Field is one documented key of a section, for listings such as `retain
// stages`; Markdown renders the same values.
type Field struct {
	// Path is the key from the top of the file: "clv.horizon_days";
	// "actions.tiers.levels[].min" for a key of each list element,
	// "input.columns.<key>" below a map.
	Path string
	// Type is int, number, string, bool, object, "list of X" or "map of
	// string to X".
	Type string
	// Default is the default as YAML; "—" when there is none (an empty
	// string, list or map, or an unset pointer) and empty for an object,
	// whose keys are listed after it.
	Default string
	// Allowed is the range or the values the tags allow ("1 to 3650",
	// "(0, +Inf)", "auto, bgnbd or none"; "each …" for lists and maps);
	// empty when the type is the only rule.
	Allowed string
	// Doc is the field's doc tag.
	Doc string
}

// none marks a cell without a default.
const none = "—"

// table is the keys of one object: the section itself or a nested one.
type table struct {
	path string
	// nullable says the object is absent unless the file sets it.
	nullable bool
	rows     []row
}

type row struct {
	Field
	sub []table // the object this key holds, if it holds one
}

// Fields lists the documented keys of s, each object's keys right after
// the key that holds it. A field without a doc tag is an error, so the
// reference cannot silently miss a key.
func Fields(s Section) ([]Field, error) {
	t, err := describe(s)
	if err != nil {
		return nil, err
	}
	var out []Field
	var flat func(t table)
	flat = func(t table) {
		for _, r := range t.rows {
			out = append(out, r.Field)
			for _, sub := range r.sub {
				flat(sub)
			}
		}
	}
	flat(t)
	return out, nil
}

func describe(s Section) (table, error) {
	if s == nil {
		return table{}, fmt.Errorf("%w: a nil section", ErrSpec)
	}
	sch, err := s.compiled()
	if err != nil {
		return table{}, err
	}
	v, err := s.fresh()
	if err != nil {
		return table{}, err
	}
	nullable := false
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			nullable = true
			v = sch.newObject(v.Type().Elem())
		}
		v = v.Elem()
	}
	t, err := sch.describe(v, s.Key(), false)
	t.nullable = nullable
	return t, err
}

// describe is the table of the struct v, whose values are the defaults;
// inElem says v is (inside) a list element or map value, where nothing has
// a default but the zero value.
func (s *schema) describe(v reflect.Value, path string, inElem bool) (table, error) {
	info := s.structs[v.Type()]
	t := table{path: path}
	if info == nil {
		return t, nil
	}
	for _, f := range info.fields {
		fv := v.Field(f.index)
		r := row{Field: Field{
			Path:    join(path, f.key),
			Type:    typeName(f.typ),
			Default: s.defaultText(fv),
			Allowed: allowed(f),
			Doc:     f.doc,
		}}
		if f.doc == "" {
			return t, fmt.Errorf("%w: %s (field %s.%s) has no doc tag", ErrSpec, r.Path, v.Type().Name(), f.goName)
		}
		sub, err := s.object(fv, r.Path, inElem)
		if err != nil {
			return t, err
		}
		if sub != nil {
			r.sub = []table{*sub}
		}
		t.rows = append(t.rows, r)
	}
	return t, nil
}

// object is the table of the object v holds (directly, through a pointer,
// or as the element of lists and maps), or nil when it holds none.
func (s *schema) object(v reflect.Value, path string, inElem bool) (*table, error) {
	t := v.Type()
	suffix := ""
strip:
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Slice, reflect.Array:
			t, suffix, inElem = t.Elem(), suffix+"[]", true
		case reflect.Map:
			t, suffix, inElem = t.Elem(), suffix+".<key>", true
		default:
			break strip
		}
	}
	if t.Kind() != reflect.Struct {
		return nil, nil
	}
	d, nullable := v, false
	for d.Kind() == reflect.Pointer && !inElem {
		if d.IsNil() {
			d, nullable = s.newObject(t), true
		}
		d = d.Elem()
	}
	if inElem {
		d = reflect.New(t).Elem()
	}
	sub, err := s.describe(d, path+suffix, inElem)
	sub.nullable = nullable
	return &sub, err
}

// typeName is a type as a job file's author sees it.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Bool:
		return "bool"
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Struct:
		return "object"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("list of %d %s", t.Len(), typeName(t.Elem()))
	case reflect.Map:
		return "map of string to " + typeName(t.Elem())
	}
	if isInt(t.Kind()) {
		return "int"
	}
	return t.String()
}

func allowed(f *fieldInfo) string {
	_, many := leaf(f.typ)
	each := ""
	if many {
		each = "each "
	}
	switch {
	case f.rng != nil:
		return each + f.rng.String()
	case f.enum != nil:
		return each + enumText(f.enum)
	}
	return ""
}

// defaultText is v as the Default column shows it.
func (s *schema) defaultText(v reflect.Value) string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return none
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		return ""
	case reflect.String, reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return none
		}
	}
	return s.flow(v)
}

// flow writes v as YAML in flow style, so a default can be pasted into a
// job file as it stands.
func (s *schema) flow(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "null"
		}
		return s.flow(v.Elem())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Float32:
		return number(v.Float(), 32)
	case reflect.Float64:
		return number(v.Float(), 64)
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = s.flow(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k.String()) + ": " + s.flow(v.MapIndex(k))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Struct:
		info := s.structs[v.Type()]
		if info == nil {
			return "{}"
		}
		parts := make([]string, len(info.fields))
		for i, f := range info.fields {
			parts[i] = f.key + ": " + s.flow(v.Field(f.index))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if isInt(v.Kind()) {
		return strconv.FormatInt(v.Int(), 10)
	}
	return fmt.Sprint(v.Interface())
}

// number writes f the way a job file would: 1e9 rather than 1e+09, and
// YAML's spellings of infinity.
func number(f float64, bits int) string {
	switch {
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	case math.IsNaN(f):
		return ".nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if m, e, ok := strings.Cut(s, "e"); ok {
		sign := ""
		if e[0] == '-' {
			sign = "-"
		}
		s = m + "e" + sign + strings.TrimLeft(e[1:], "0")
	}
	return s
}

// Markdown writes the reference of the file's own keys and of sections, in
// key order: a heading per section, its doc, and a table for the section
// and for each object in it. Nothing is written when a declaration is
// faulty (a field without a doc tag, say), so a generator cannot leave a
// half-written page.
func Markdown(w io.Writer, sections []Section) error {
	secs, err := sorted(sections)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("## The file\n\n")
	b.WriteString("Every job file names the job; every other top-level key is one of the sections below, and a section left out keeps its defaults.\n\n")
	writeTable(&b, table{rows: []row{
		{Field: Field{Path: nameKey, Type: "string", Default: none, Allowed: "no slashes or spaces",
			Doc: "Identifies the job in logs, the manifest and the run id; required."}},
		{Field: Field{Path: timezoneKey, Type: "string", Default: `"UTC"`, Allowed: "an IANA zone, e.g. Europe/Berlin",
			Doc: "Defines calendar days: the run date ends at midnight there, and purchase days are local days."}},
	}})
	for _, s := range secs {
		t, err := describe(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n## %s\n\n", s.Key())
		if d := strings.TrimSpace(s.Doc()); d != "" {
			b.WriteString(d + "\n\n")
		}
		writeTables(&b, t, true)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// writeTables writes t, then each object's table under its own heading.
func writeTables(b *bytes.Buffer, t table, top bool) {
	if !top {
		fmt.Fprintf(b, "\n### %s\n\n", t.path)
	}
	if t.nullable {
		b.WriteString("Absent unless the job file sets it; when it does, its keys default as below.\n\n")
	}
	writeTable(b, t)
	for _, r := range t.rows {
		for _, sub := range r.sub {
			writeTables(b, sub, false)
		}
	}
}

func writeTable(b *bytes.Buffer, t table) {
	b.WriteString("| Key | Type | Default | Allowed | Description |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, r := range t.rows {
		def := r.Default
		if def != "" && def != none {
			def = code(def)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", code(r.Path), cell(r.Type), def, cell(r.Allowed), cell(r.Doc))
	}
}

// cell makes s safe inside a table cell: one line, pipes escaped, and no
// "<" a renderer could take for the start of an HTML tag.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("|", `\|`, "<", "&lt;").Replace(s)
}

// code is s as a code span in a table cell, fenced so that backticks in s
// cannot end it.
func code(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || len(fence) > 1 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
