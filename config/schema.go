package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// schema is a section's type as the struct tags describe it, compiled once
// so that decoding, checking and documenting read the same rules.
type schema struct {
	root    reflect.Type
	structs map[reflect.Type]*structInfo
}

// structInfo is one struct type's keys, in field order.
type structInfo struct {
	fields []*fieldInfo
	byKey  map[string]*fieldInfo
	// hook is the type's Defaults method, when it has one of the right shape.
	hook *reflect.Method
}

// fieldInfo is one struct field's key, doc and rule.
type fieldInfo struct {
	index  int
	key    string
	goName string
	doc    string
	typ    reflect.Type
	rng    *interval
	enum   []string
}

var (
	yamlUnmarshaler     = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshaler = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// compile reads the tags of t (a struct or a pointer to one) and of every
// type it holds.
func compile(t reflect.Type, key string) (*schema, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("%w: section key %q: want lower-case letters, digits and underscores", ErrSpec, key)
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: section %s: its value must be a struct or a pointer to one, not %s", ErrSpec, key, t)
	}
	c := compiler{sch: &schema{root: t, structs: map[reflect.Type]*structInfo{}}, busy: map[reflect.Type]bool{}}
	if err := c.typ(t, key); err != nil {
		return nil, err
	}
	return c.sch, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

type compiler struct {
	sch  *schema
	busy map[reflect.Type]bool
}

func (c *compiler) typ(t reflect.Type, path string) error {
	for _, u := range []reflect.Type{yamlUnmarshaler, obsoleteUnmarshaler, textUnmarshaler} {
		if t.Implements(u) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(u) {
			return fmt.Errorf("%w: %s: type %s decodes itself, so its tags could not be checked; use plain fields and a check", ErrSpec, path, t)
		}
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Float32, reflect.Float64:
		return nil
	case reflect.Pointer:
		return c.typ(t.Elem(), path)
	case reflect.Slice, reflect.Array:
		return c.typ(t.Elem(), path+"[]")
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("%w: %s: map keys must be strings, not %s", ErrSpec, path, t.Key())
		}
		return c.typ(t.Elem(), path+".<key>")
	case reflect.Struct:
		return c.strct(t, path)
	}
	return fmt.Errorf("%w: %s: a job file cannot hold a %s", ErrSpec, path, t)
}

func (c *compiler) strct(t reflect.Type, path string) error {
	if c.sch.structs[t] != nil {
		return nil
	}
	if c.busy[t] {
		return fmt.Errorf("%w: %s: type %s contains itself", ErrSpec, path, t)
	}
	c.busy[t] = true
	defer delete(c.busy, t)
	info := &structInfo{byKey: map[string]*fieldInfo{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, tagged := sf.Tag.Lookup("yaml")
		if tag == "-" {
			continue
		}
		if !sf.IsExported() && !sf.Anonymous {
			continue // the YAML decoder ignores it too
		}
		where := fmt.Sprintf("%s (field %s.%s)", path, t.Name(), sf.Name)
		if sf.Anonymous {
			return fmt.Errorf("%w: %s: embedded fields are not supported; name the field", ErrSpec, where)
		}
		key, opts, hasOpts := strings.Cut(tag, ",")
		if !tagged || key == "" {
			return fmt.Errorf("%w: %s: no yaml key", ErrSpec, where)
		}
		// The YAML decoder panics on an option it does not know, even an
		// empty one ("key,"), so only its harmless ones pass.
		for _, o := range strings.Split(opts, ",") {
			if hasOpts && o != "omitempty" && o != "flow" {
				return fmt.Errorf("%w: %s: yaml option %q is not supported", ErrSpec, where, o)
			}
		}
		if info.byKey[key] != nil {
			return fmt.Errorf("%w: %s: key %q is taken by field %s", ErrSpec, where, key, info.byKey[key].goName)
		}
		f := &fieldInfo{index: i, key: key, goName: sf.Name, doc: strings.TrimSpace(sf.Tag.Get("doc")), typ: sf.Type}
		fpath := join(path, key)
		if err := f.rules(sf.Tag, fpath); err != nil {
			return err
		}
		if err := c.typ(sf.Type, fpath); err != nil {
			return err
		}
		info.fields = append(info.fields, f)
		info.byKey[key] = f
	}
	if m, ok := t.MethodByName("Defaults"); ok && m.Type.NumIn() == 1 && m.Type.NumOut() == 1 && m.Type.Out(0) == t {
		info.hook = &m
	}
	c.sch.structs[t] = info
	return nil
}

// leaf strips pointers and containers from t; many reports whether a
// container was among them, so a rule applies to each of several values.
func leaf(t reflect.Type) (_ reflect.Type, many bool) {
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Slice, reflect.Array, reflect.Map:
			t, many = t.Elem(), true
		default:
			return t, many
		}
	}
}

func isInt(k reflect.Kind) bool   { return k >= reflect.Int && k <= reflect.Int64 }
func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }

// rules parses the range and enum tags, which must suit the field's type.
func (f *fieldInfo) rules(tag reflect.StructTag, path string) error {
	rng, hasRange := tag.Lookup("range")
	enum, hasEnum := tag.Lookup("enum")
	if hasRange && hasEnum {
		return fmt.Errorf("%w: %s: a field takes a range or an enum, not both", ErrSpec, path)
	}
	lt, _ := leaf(f.typ)
	switch {
	case hasRange && (isInt(lt.Kind()) || isFloat(lt.Kind())):
		iv, err := parseInterval(rng, isInt(lt.Kind()))
		if err != nil {
			return fmt.Errorf("%w: %s: range %q: %v", ErrSpec, path, rng, err)
		}
		f.rng = iv
	case hasRange:
		return fmt.Errorf("%w: %s: a range needs numbers, not %s", ErrSpec, path, f.typ)
	case hasEnum && lt.Kind() == reflect.String:
		vals := strings.Split(enum, "|")
		for i, v := range vals {
			if slices.Contains(vals[:i], v) {
				return fmt.Errorf("%w: %s: enum %q lists %q twice", ErrSpec, path, enum, v)
			}
		}
		if len(vals) < 2 && vals[0] == "" {
			return fmt.Errorf("%w: %s: enum is empty", ErrSpec, path)
		}
		f.enum = vals
	case hasEnum:
		return fmt.Errorf("%w: %s: an enum needs strings, not %s", ErrSpec, path, f.typ)
	}
	return nil
}

// interval is a range tag: whole-number bounds for integers, bounds with
// open or closed ends for numbers.
type interval struct {
	ints           bool
	ilo, ihi       int64
	lo, hi         float64
	loOpen, hiOpen bool
}

func parseInterval(s string, ints bool) (*interval, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return nil, fmt.Errorf("want [lo,hi] with ( or ) for open ends")
	}
	iv := &interval{ints: ints, loOpen: s[0] == '(', hiOpen: s[len(s)-1] == ')'}
	if s[0] != '[' && s[0] != '(' || s[len(s)-1] != ']' && s[len(s)-1] != ')' {
		return nil, fmt.Errorf("want [lo,hi] with ( or ) for open ends")
	}
	lo, hi, ok := strings.Cut(s[1:len(s)-1], ",")
	if !ok {
		return nil, fmt.Errorf("want two bounds separated by a comma")
	}
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	if ints {
		if iv.loOpen || iv.hiOpen {
			return nil, fmt.Errorf("integer ranges are inclusive: write [lo,hi]")
		}
		var err1, err2 error
		iv.ilo, err1 = strconv.ParseInt(lo, 10, 64)
		iv.ihi, err2 = strconv.ParseInt(hi, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("integer bounds must be whole numbers")
		}
		if iv.ilo > iv.ihi {
			return nil, fmt.Errorf("the low bound is above the high one")
		}
		return iv, nil
	}
	var err1, err2 error
	iv.lo, err1 = strconv.ParseFloat(lo, 64)
	iv.hi, err2 = strconv.ParseFloat(hi, 64)
	if err1 != nil || err2 != nil || math.IsNaN(iv.lo) || math.IsNaN(iv.hi) {
		return nil, fmt.Errorf("bounds must be numbers, +Inf or -Inf")
	}
	if iv.lo > iv.hi {
		return nil, fmt.Errorf("the low bound is above the high one")
	}
	if iv.lo == iv.hi && (iv.loOpen || iv.hiOpen) {
		return nil, fmt.Errorf("the range is empty")
	}
	return iv, nil
}

// String is the range as error messages and the reference state it.
func (iv *interval) String() string {
	if iv.ints {
		return fmt.Sprintf("%d to %d", iv.ilo, iv.ihi)
	}
	l, h := "[", "]"
	if iv.loOpen {
		l = "("
	}
	if iv.hiOpen {
		h = ")"
	}
	return fmt.Sprintf("%s%g, %g%s", l, iv.lo, iv.hi, h)
}

func (iv *interval) checkInt(path string, v int64) error {
	if v < iv.ilo || v > iv.ihi {
		return fmt.Errorf("%w: %s: %d is out of range; want a whole number from %d to %d", ErrInvalid, path, v, iv.ilo, iv.ihi)
	}
	return nil
}

func (iv *interval) checkFloat(path string, v float64) error {
	if math.IsNaN(v) || v < iv.lo || v > iv.hi || iv.loOpen && v == iv.lo || iv.hiOpen && v == iv.hi {
		return fmt.Errorf("%w: %s: %g is out of range; want a number in %s", ErrInvalid, path, v, iv)
	}
	return nil
}

// enumText lists allowed values as the error messages do.
func enumText(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = v
		if v == "" {
			q[i] = `""`
		}
	}
	return orList(q)
}

// orList joins "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkValue applies the tag rules to v and to everything it holds; f is
// the field whose rule applies to v's numbers or strings (nil for none).
// Map keys are visited in order, so the first error is always the same.
func (s *schema) checkValue(v reflect.Value, path string, f *fieldInfo) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return s.checkValue(v.Elem(), path, f)
	case reflect.Struct:
		info := s.structs[v.Type()]
		if info == nil {
			return nil
		}
		for _, sf := range info.fields {
			if err := s.checkValue(v.Field(sf.index), join(path, sf.key), sf); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := s.checkValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			if err := s.checkValue(v.MapIndex(k), join(path, k.String()), f); err != nil {
				return err
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if f != nil && f.rng != nil {
			return f.rng.checkInt(path, v.Int())
		}
	case reflect.Float32, reflect.Float64:
		if f != nil && f.rng != nil {
			return f.rng.checkFloat(path, v.Float())
		}
	case reflect.String:
		if f != nil && f.enum != nil && !slices.Contains(f.enum, v.String()) {
			return fmt.Errorf("%w: %s %q: want %s", ErrInvalid, path, v.String(), enumText(f.enum))
		}
	}
	return nil
}

// hookValue returns a deep copy of what t's Defaults method returns.
func (s *schema) hookValue(t reflect.Type) (reflect.Value, bool) {
	info := s.structs[t]
	if info == nil || info.hook == nil {
		return reflect.Value{}, false
	}
	out := reflect.Zero(t).Method(info.hook.Index).Call(nil)
	return s.copy(out[0]), true
}

// newObject is a pointer to a fresh t (a struct) for a nullable object the
// file sets: its Defaults when it has them, else zero.
func (s *schema) newObject(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if d, ok := s.hookValue(t); ok {
		p.Elem().Set(d)
	}
	return p
}

// copy returns a deep copy of v, following the schema's fields (others are
// copied shallowly), so that no two files share a slice, map or pointer of
// the defaults.
func (s *schema) copy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(s.copy(v.Elem()))
		return p
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		if info := s.structs[v.Type()]; info != nil {
			for _, f := range info.fields {
				out.Field(f.index).Set(s.copy(v.Field(f.index)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(s.copy(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			out.Index(i).Set(s.copy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), s.copy(it.Value()))
		}
		return out
	}
	return v
}

// wholeNumbers rejects a fractional number given for an integer, which the
// YAML decoder would silently truncate (horizon_days: 90.5 → 90). It runs
// after a successful decode of the same nodes, so aliases cannot loop.
func (s *schema) wholeNumbers(n *yaml.Node, t reflect.Type, path string) error {
	n = deref(n)
	if n == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		info := s.structs[t]
		if info == nil {
			return nil
		}
		return pairs(n, func(key string, _, v *yaml.Node) error {
			if f := info.byKey[key]; f != nil {
				return s.wholeNumbers(v, f.typ, join(path, key))
			}
			return nil
		})
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		return pairs(n, func(key string, _, v *yaml.Node) error {
			return s.wholeNumbers(v, t.Elem(), join(path, key))
		})
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i, c := range n.Content {
			if err := s.wholeNumbers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case n.Kind == yaml.ScalarNode && isInt(t.Kind()) && n.ShortTag() == "!!float":
		// The decoder drops underscores before parsing a number.
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && f != math.Trunc(f) {
			return fmt.Errorf("%w: %s: %s is not a whole number", ErrInvalid, path, n.Value)
		}
	}
	return nil
}

// prepare gives each nullable object the file sets (a nil pointer to a
// struct) its type's defaults before the decoder fills it in; the decoder
// alone would start from zero. v is addressable.
func (s *schema) prepare(n *yaml.Node, v reflect.Value) {
	n = deref(n)
	if n == nil || isNull(n) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			if v.Type().Elem().Kind() != reflect.Struct {
				return
			}
			v.Set(s.newObject(v.Type().Elem()))
		}
		s.prepare(n, v.Elem())
	case reflect.Struct:
		info := s.structs[v.Type()]
		if info == nil || n.Kind != yaml.MappingNode {
			return
		}
		_ = pairs(n, func(key string, _, val *yaml.Node) error {
			if f := info.byKey[key]; f != nil {
				s.prepare(val, v.Field(f.index))
			}
			return nil
		})
	}
}

// pairs calls fn for each key of the mapping n as the YAML decoder sees
// it: the mapping's own keys, then keys merged in with "<<" that it does
// not set itself, the first merged source winning. A mapping merged into
// itself is visited once.
func pairs(n *yaml.Node, fn func(key string, k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	visited := map[*yaml.Node]bool{}
	var walk func(m *yaml.Node) error
	walk = func(m *yaml.Node) error {
		m = deref(m)
		if m == nil || m.Kind != yaml.MappingNode || visited[m] {
			return nil
		}
		visited[m] = true
		var merge *yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if isMerge(k) {
				merge = v
				continue
			}
			key := k
			if d := deref(k); d != nil {
				key = d
			}
			if seen[key.Value] {
				continue
			}
			seen[key.Value] = true
			if err := fn(key.Value, k, v); err != nil {
				return err
			}
		}
		merge = deref(merge)
		if merge == nil {
			return nil
		}
		if merge.Kind == yaml.SequenceNode {
			for _, c := range merge.Content {
				if err := walk(c); err != nil {
					return err
				}
			}
			return nil
		}
		return walk(merge)
	}
	return walk(n)
}

// deref follows an alias to its anchor's node (nil for a dangling one).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// isMerge is the YAML decoder's test for a merge key.
func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.Tag == "!!merge" || n.Tag == "tag:yaml.org,2002:merge")
}
