// Package config reads the job file as a set of sections, each declared by
// the package that uses it. A declaration (Spec) holds a section's defaults
// in Go code and its documentation and value rules in struct tags, so the
// decoder, the reference page and `retain stages` all read one source and
// cannot drift apart.
//
// The package knows nothing about retain's stages: it owns only the two
// keys every job file has, name and timezone.
//
// # Struct tags
//
// Every exported field of a section's struct, and of the structs it holds,
// carries:
//
//	yaml:"horizon_days"                the key; omitempty and flow are allowed, inline is not
//	doc:"Window of expected_purchases_<h>d."   one sentence or more for the reference
//
// and may carry one rule, applied to the value, to each element of a list
// and to each value of a map:
//
//	range:"[1,3650]"                   integers: inclusive bounds, both written as whole numbers
//	range:"(0,+Inf)"  range:"[0,1)"    numbers: a bracket closes an end, a parenthesis opens it;
//	                                   +Inf and -Inf are allowed
//	enum:"auto|bgnbd|pareto_nbd|none"  strings: the allowed values ("|a|b" allows the empty string)
//
// A field tagged yaml:"-" is not part of the file (a check may fill it in).
// Rules that span fields belong in the check function given to NewSpec.
//
// # Decoding
//
// Defaults are filled in before decoding, so a key the file sets, even to
// 0, is checked against its range instead of being mistaken for unset.
// Unknown keys are errors, so a typo fails the run instead of being
// ignored. A fractional number given for an integer field is an error,
// since the YAML decoder would truncate it. A key given as null (`key:`)
// leaves a nested object at its defaults but empties a list, a map or a
// pointer, as the YAML decoder does.
//
// A pointer to a struct is a nullable object: it stays nil while the file
// does not set it (unless the defaults set it). When the file does, the
// object starts from the value its type's Defaults method returns, if the
// type has one with a value receiver (func (S) Defaults() S), and from the
// zero value otherwise. Elements of lists and values of maps always start
// from the zero value: the decoder builds them afresh.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every error a job file's content causes, so
// callers can tell a file to fix from a failure to read it.
var ErrInvalid = errors.New("invalid job file")

// ErrSpec is wrapped by errors in a section's declaration (a missing tag, a
// malformed range, a type the file cannot hold). They are mistakes in code,
// not in the job file, so they do not wrap ErrInvalid; a package test
// calling Check catches them before any job file does.
var ErrSpec = errors.New("invalid config declaration")

// Section is one top-level key of the job file, declared by the package
// that reads it. Its only implementation is *Spec; the unexported methods
// let Decode and Markdown treat sections of different types alike.
type Section interface {
	// Key is the top-level YAML key, e.g. "clv".
	Key() string
	// Doc is the paragraph that introduces the section in the reference.
	Doc() string

	compiled() (*schema, error)
	fresh() (reflect.Value, error)
	finish(v reflect.Value, env Env) (any, error)
}

// Env is what a check may need from the file as a whole: the section
// itself cannot know where the file lies or which zone it runs in.
type Env struct {
	// Dir is the job file's folder, against which relative paths resolve.
	Dir string
	// Location is the job's time zone.
	Location *time.Location
}

// Resolve makes a path from the job file absolute, so a check can store
// paths that no longer depend on the working directory.
func (e Env) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.Dir, p)
}

// Spec declares a section whose value is the struct T (or a pointer to
// one, for a section that is absent unless the file sets it).
type Spec[T any] struct {
	key, doc string
	defaults func() T
	check    func(v *T, env Env) error

	once   sync.Once
	schema *schema
	err    error
}

// NewSpec declares the section key. defaults returns a fresh value each
// call (it is deep-copied anyway, so shared slices cannot leak between
// files); nil means T's Defaults method when it has one, else T's zero
// value. check, which may be nil, enforces rules that span fields and may
// resolve values (e.g. make paths absolute) using the Env; its errors name
// the field and wrap ErrInvalid (Decode wraps those that do not).
//
// Declaration mistakes are reported by Decode, Markdown, Fields and Check
// rather than here, so that sections can be package-level variables.
func NewSpec[T any](key, doc string, defaults func() T, check func(v *T, env Env) error) *Spec[T] {
	return &Spec[T]{key: key, doc: doc, defaults: defaults, check: check}
}

// Key is the section's top-level key.
func (s *Spec[T]) Key() string {
	if s == nil {
		return ""
	}
	return s.key
}

// Doc is the section's introduction in the reference.
func (s *Spec[T]) Doc() string {
	if s == nil {
		return ""
	}
	return s.doc
}

func (s *Spec[T]) compiled() (*schema, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: a nil section", ErrSpec)
	}
	s.once.Do(func() { s.schema, s.err = compile(reflect.TypeFor[T](), s.key) })
	return s.schema, s.err
}

// fresh returns an addressable T holding a deep copy of the defaults.
func (s *Spec[T]) fresh() (reflect.Value, error) {
	sch, err := s.compiled()
	if err != nil {
		return reflect.Value{}, err
	}
	p := new(T)
	if s.defaults != nil {
		*p = s.defaults()
		v := reflect.ValueOf(p).Elem()
		v.Set(sch.copy(v))
		return v, nil
	}
	v := reflect.ValueOf(p).Elem()
	if d, ok := sch.hookValue(v.Type()); ok {
		v.Set(d)
	}
	return v, nil
}

// finish applies the tag rules and the check to v, an addressable T, and
// returns it as a *T.
func (s *Spec[T]) finish(v reflect.Value, env Env) (any, error) {
	sch, err := s.compiled()
	if err != nil {
		return nil, err
	}
	if err := sch.checkValue(v, s.key, nil); err != nil {
		return nil, err
	}
	p, ok := v.Addr().Interface().(*T)
	if !ok {
		return nil, fmt.Errorf("%w: %s: value of type %s", ErrSpec, s.key, v.Type())
	}
	if s.check != nil {
		if err := s.check(p, env); err != nil {
			if !errors.Is(err, ErrInvalid) {
				err = fmt.Errorf("%w: %w", ErrInvalid, err)
			}
			return nil, err
		}
	}
	return p, nil
}

// Of returns the section's value in f. When f was decoded without this
// section (or f is nil), Of returns the section's defaults after the tag
// rules and the check have run on them, so a test can build a File
// cheaply; that value is fresh on each call (changes to it are not kept;
// use Set) and is returned even when the check rejects it, e.g. because a
// required key has no default. A declaration that does not compile yields
// a pointer to T's zero value; Check reports why.
func (s *Spec[T]) Of(f *File) *T {
	if f != nil {
		if p, ok := f.values[s].(*T); ok {
			return p
		}
	}
	v, err := s.fresh()
	if err != nil {
		return new(T)
	}
	_, _ = s.finish(v, f.env()) // documented: the defaults are returned even when rejected
	return v.Addr().Interface().(*T)
}

// Set replaces the section's value in f, for overrides from the command
// line and for tests. v passes the same tag rules and check as a decoded
// value (the check may resolve it further); on error f is unchanged.
func (s *Spec[T]) Set(f *File, v T) error {
	if f == nil {
		return fmt.Errorf("%w: %s: Set on a nil File", ErrSpec, s.Key())
	}
	p := new(T)
	*p = v
	if _, err := s.finish(reflect.ValueOf(p).Elem(), f.env()); err != nil {
		return err
	}
	if f.values == nil {
		f.values = map[Section]any{}
	}
	f.values[s] = p
	return nil
}

// File is a decoded job file: its own two keys, and the sections' values
// (read them with Spec.Of). A File is safe for concurrent reads; Set must
// not run concurrently with other use.
type File struct {
	// Name identifies the job in logs, the manifest and the run id.
	Name string
	// Timezone is the IANA zone that defines calendar days.
	Timezone string

	dir    string
	loc    *time.Location
	values map[Section]any
}

// Location is the job's time zone; UTC for a File not made by Decode, so
// a zero File is usable in tests.
func (f *File) Location() *time.Location {
	if f == nil || f.loc == nil {
		return time.UTC
	}
	return f.loc
}

// Dir is the job file's folder, against which relative paths resolve.
func (f *File) Dir() string {
	if f == nil {
		return ""
	}
	return f.dir
}

// Resolve makes a path from the job file absolute.
func (f *File) Resolve(p string) string { return f.env().Resolve(p) }

func (f *File) env() Env { return Env{Dir: f.Dir(), Location: f.Location()} }

// The file's own keys; every other top-level key names a section.
const (
	nameKey     = "name"
	timezoneKey = "timezone"
)

// Load reads and decodes the job file at path; relative paths in it resolve
// against its folder. Errors name the file.
func Load(path string, sections []Section) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	f, err := Decode(raw, dir, sections)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Decode parses a job file's bytes; dir is where relative paths resolve.
// The keys name and timezone belong to the file; every other top-level key
// must be the key of one of sections. A section the file leaves out gets
// its defaults; one it sets is decoded over them. Every section, set or
// not, then passes its tag rules and its check, in key order so that the
// error a broken file gets does not vary from run to run.
func Decode(raw []byte, dir string, sections []Section) (*File, error) {
	secs, err := sorted(sections)
	if err != nil {
		return nil, err
	}
	body, err := document(raw)
	if err != nil {
		return nil, err
	}
	nodes, err := topLevel(body, secs)
	if err != nil {
		return nil, err
	}
	wrapper, err := wrapperType(secs)
	if err != nil {
		return nil, err
	}
	// A first decode into zero values lets the YAML decoder reject what it
	// rejects (wrong types, unknown nested keys, duplicate keys, excessive
	// aliasing) before the walks below follow the same nodes.
	if err := strict(raw, reflect.New(wrapper)); err != nil {
		return nil, err
	}
	for _, s := range secs {
		sch, _ := s.compiled()
		if n := nodes[s.Key()]; n != nil {
			if err := sch.wholeNumbers(n, sch.root, s.Key()); err != nil {
				return nil, err
			}
		}
	}
	w := reflect.New(wrapper).Elem()
	for i, s := range secs {
		v, err := s.fresh()
		if err != nil {
			return nil, err
		}
		field := w.Field(i + 2)
		field.Set(v)
		if n := nodes[s.Key()]; n != nil {
			sch, _ := s.compiled()
			sch.prepare(n, field)
		}
	}
	if err := strict(raw, w.Addr()); err != nil {
		return nil, err
	}
	f := &File{Name: w.Field(0).String(), Timezone: w.Field(1).String(), dir: dir, values: map[Section]any{}}
	if f.Name == "" {
		return nil, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if strings.ContainsAny(f.Name, "/\\ ") {
		return nil, fmt.Errorf("%w: name %q must not contain slashes or spaces", ErrInvalid, f.Name)
	}
	if f.Timezone == "" {
		f.Timezone = "UTC"
	}
	loc, err := time.LoadLocation(f.Timezone)
	if err != nil {
		return nil, fmt.Errorf("%w: timezone %q: %v", ErrInvalid, f.Timezone, err)
	}
	f.loc = loc
	for i, s := range secs {
		v := reflect.New(w.Field(i + 2).Type()).Elem()
		v.Set(w.Field(i + 2))
		p, err := s.finish(v, f.env())
		if err != nil {
			return nil, err
		}
		f.values[s] = p
	}
	return f, nil
}

// sorted checks the declarations and orders them by key.
func sorted(sections []Section) ([]Section, error) {
	secs := make([]Section, 0, len(sections))
	seen := map[string]bool{}
	for _, s := range sections {
		if s == nil {
			return nil, fmt.Errorf("%w: a nil section", ErrSpec)
		}
		if _, err := s.compiled(); err != nil {
			return nil, err
		}
		k := s.Key()
		if k == nameKey || k == timezoneKey {
			return nil, fmt.Errorf("%w: section key %q belongs to the file itself", ErrSpec, k)
		}
		if seen[k] {
			return nil, fmt.Errorf("%w: two sections have the key %q", ErrSpec, k)
		}
		seen[k] = true
		secs = append(secs, s)
	}
	slices.SortFunc(secs, func(a, b Section) int { return strings.Compare(a.Key(), b.Key()) })
	return secs, nil
}

// document parses raw as exactly one YAML document holding a mapping and
// returns that mapping.
func document(raw []byte) (*yaml.Node, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the job file is empty", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: a job file holds one YAML document; found a second (a line \"---\"?)", ErrInvalid)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, fmt.Errorf("%w: the job file is empty", ErrInvalid)
	}
	body := deref(root.Content[0])
	switch {
	case body == nil || isNull(body):
		return nil, fmt.Errorf("%w: the job file is empty", ErrInvalid)
	case body.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%w: line %d: the job file must be a mapping of keys (name, timezone and sections)", ErrInvalid, body.Line)
	}
	return body, nil
}

// topLevel returns the value node of each section key the file sets, and
// fails on a key that is neither the file's own nor a section's.
func topLevel(body *yaml.Node, secs []Section) (map[string]*yaml.Node, error) {
	known := map[string]bool{nameKey: true, timezoneKey: true}
	for _, s := range secs {
		known[s.Key()] = true
	}
	nodes := map[string]*yaml.Node{}
	err := pairs(body, func(key string, k, v *yaml.Node) error {
		if !known[key] {
			return fmt.Errorf("%w: line %d: unknown key %q (want %s)", ErrInvalid, k.Line, key, knownKeys(secs))
		}
		if key != nameKey && key != timezoneKey {
			nodes[key] = v
		}
		return nil
	})
	return nodes, err
}

func knownKeys(secs []Section) string {
	keys := []string{nameKey, timezoneKey}
	for _, s := range secs {
		keys = append(keys, s.Key())
	}
	return orList(keys)
}

// wrapperType is the struct the whole file decodes into: the file's own
// keys, then one field per section, so the YAML decoder sees the whole
// document at once and its line numbers are the file's.
func wrapperType(secs []Section) (reflect.Type, error) {
	fields := []reflect.StructField{
		{Name: "Name", Type: reflect.TypeFor[string](), Tag: `yaml:"name"`},
		{Name: "Timezone", Type: reflect.TypeFor[string](), Tag: `yaml:"timezone"`},
	}
	for i, s := range secs {
		sch, err := s.compiled()
		if err != nil {
			return nil, err
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("S%d", i),
			Type: sch.root,
			Tag:  reflect.StructTag(fmt.Sprintf("yaml:%q", s.Key())),
		})
	}
	return reflect.StructOf(fields), nil
}

// strict decodes raw into the value p points to, failing on unknown keys.
func strict(raw []byte, p reflect.Value) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(p.Interface()); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// Check reports mistakes in the declarations of sections: what Decode
// would report as ErrSpec, a field without a doc tag, and defaults that
// break their own tag rules. It does not run the checks, since defaults
// may rightly lack what only a job file can give (an input path). A
// package's test calls it so that no job file meets such a mistake first.
func Check(sections []Section) error {
	secs, err := sorted(sections)
	if err != nil {
		return err
	}
	for _, s := range secs {
		if _, err := Fields(s); err != nil {
			return err
		}
		v, err := s.fresh()
		if err != nil {
			return err
		}
		sch, _ := s.compiled()
		if err := sch.checkValue(v, s.Key(), nil); err != nil {
			return fmt.Errorf("%w: %s: the defaults break a rule: %s", ErrSpec, s.Key(), strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
		}
	}
	return nil
}
