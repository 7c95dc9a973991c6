package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// spec declares a stage that does nothing, for graph tests.
func spec(name string, in, out, after []string) Spec[*testEnv] {
	return Spec[*testEnv]{Name: name, Inputs: in, Outputs: out, After: after,
		New: func(context.Context, *testEnv) (Stage, error) { return BaseStage{}, nil }}
}

func tables(t ...string) []string { return t }

// permutations calls fn with every order of specs.
func permutations(specs []Spec[*testEnv], fn func([]Spec[*testEnv])) {
	if len(specs) <= 1 {
		fn(specs)
		return
	}
	for i := range specs {
		rest := slices.Concat(specs[:i:i], specs[i+1:])
		permutations(rest, func(p []Spec[*testEnv]) { fn(append([]Spec[*testEnv]{specs[i]}, p...)) })
	}
}

func orderOf(g *Graph[*testEnv]) string {
	var names []string
	for _, s := range g.Order {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// TestBuildGraphOrder: producers before consumers, After targets before
// the stages that name them, ties by name; the same order for every
// registration order.
func TestBuildGraphOrder(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec[*testEnv]
		want  string
	}{
		{"chain", []Spec[*testEnv]{
			spec("sink", tables("b"), nil, nil),
			spec("mid", tables("a"), tables("b"), nil),
			spec("src", nil, tables("a"), nil),
		}, "src,mid,sink"},
		{"ties by name", []Spec[*testEnv]{
			spec("z_src", nil, tables("t"), nil),
			spec("b", tables("t"), nil, nil),
			spec("a", tables("t"), nil, nil),
			spec("y_src", nil, tables("u"), nil),
			spec("c", tables("u"), nil, nil),
		}, "y_src,c,z_src,a,b"},
		{"after", []Spec[*testEnv]{
			spec("a", nil, nil, tables("z")),
			spec("z", nil, nil, nil),
			spec("m", nil, nil, nil),
		}, "m,z,a"},
		{"after with tables", []Spec[*testEnv]{
			spec("extract", nil, tables("raw"), nil),
			spec("validate", tables("raw"), tables("orders", "q"), nil),
			spec("extract_items", nil, tables("raw_items"), tables("validate")),
			spec("affinity", tables("raw_items"), tables("pairs", "q"), nil),
			spec("load", tables("orders", "pairs", "q"), nil, nil),
		}, "extract,validate,extract_items,affinity,load"},
		{"two producers before their consumer", []Spec[*testEnv]{
			spec("a", tables("t"), nil, nil),
			spec("p2", nil, tables("t"), nil),
			spec("p1", nil, tables("t"), nil),
			spec("b", nil, nil, nil),
		}, "b,p1,p2,a"},
		{"producer that waits for another stage", []Spec[*testEnv]{
			spec("a", tables("t"), nil, nil),
			spec("p1", nil, tables("t"), tables("x")),
			spec("p2", nil, tables("t"), nil),
			spec("x", nil, nil, nil),
		}, "p2,x,p1,a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			permutations(tt.specs, func(specs []Spec[*testEnv]) {
				g, err := BuildGraph(specs)
				if err != nil {
					t.Fatal(err)
				}
				if got := orderOf(g); got != tt.want {
					t.Errorf("registered as %s: order %s, want %s", orderOf(&Graph[*testEnv]{Order: specs}), got, tt.want)
				}
			})
		})
	}
}

func TestBuildGraphErrors(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec[*testEnv]
		want  string
	}{
		{"missing producer", []Spec[*testEnv]{spec("a", tables("t"), nil, nil)}, `stage "a" reads table "t" that no stage produces`},
		{"after an unknown stage", []Spec[*testEnv]{spec("a", nil, nil, tables("nope"))}, `stage "a" runs after stage "nope" that is not registered`},
		{"cycle through tables", []Spec[*testEnv]{
			spec("a", tables("y"), tables("x"), nil),
			spec("b", tables("x"), tables("y"), nil),
		}, "cycle among stages a, b"},
		{"cycle through after", []Spec[*testEnv]{
			spec("src", nil, nil, nil),
			spec("b", nil, nil, tables("a")),
			spec("a", nil, nil, tables("b")),
		}, "cycle among stages a, b"},
		{"cycle through after and a table", []Spec[*testEnv]{
			spec("b", tables("t"), nil, nil),
			spec("a", nil, tables("t"), tables("b")),
		}, "cycle among stages a, b"},
		{"after itself", []Spec[*testEnv]{spec("a", nil, nil, tables("a"))}, "cycle among stages a"},
		{"one name twice", []Spec[*testEnv]{spec("a", nil, nil, nil), spec("a", nil, nil, nil)}, `stage "a" registered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildGraph(tt.specs)
			if !errors.Is(err, ErrGraph) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrGraph with %q", err, tt.want)
			}
		})
	}
}

func TestRegisterTwice(t *testing.T) {
	var r Registry[*testEnv]
	if err := r.Register(spec("a", nil, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(spec("a", nil, nil, nil)); !errors.Is(err, ErrGraph) {
		t.Errorf("duplicate stage name: err = %v", err)
	}
}

// traced records, in one log shared by the stages of a run, the batches a
// stage receives and when it finishes; a source emits its values in Finish.
type traced struct {
	BaseStage
	name string
	emit []int64
	log  *[]string
	mem  memory.Allocator
}

func (s *traced) Process(_ context.Context, table string, rec arrow.Record, _ Emitter) error {
	*s.log = append(*s.log, fmt.Sprintf("%s<%s:%d", s.name, table, rec.Column(0).(*array.Int64).Value(0)))
	return nil
}

func (s *traced) Finish(ctx context.Context, out Emitter) error {
	for _, v := range s.emit {
		rec := batch(s.mem, v)
		err := out.Emit(ctx, "t", rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	*s.log = append(*s.log, s.name+" done")
	return nil
}

// TestExecuteTwoProducersAndAfter: a table's consumer gets every
// producer's batches as they come and finishes after both; a stage that
// only runs after another receives no batches and counts no rows in.
func TestExecuteTwoProducersAndAfter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var log []string
	stage := func(name string, in, out, after []string, emit ...int64) Spec[*testEnv] {
		return Spec[*testEnv]{Name: name, Inputs: in, Outputs: out, After: after, New: func(context.Context, *testEnv) (Stage, error) {
			return &traced{name: name, emit: emit, log: &log, mem: mem}, nil
		}}
	}
	g, err := BuildGraph([]Spec[*testEnv]{
		stage("consumer", tables("t"), nil, nil),
		stage("p1", nil, tables("t"), nil, 1, 2),
		stage("p2", nil, tables("t"), tables("p1"), 3),
		stage("after_p2", nil, nil, tables("p2")),
	})
	if err != nil {
		t.Fatal(err)
	}
	rc := &testEnv{}
	st, err := Instantiate(context.Background(), rc, g)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Execute(context.Background(), g, st, Options{})
	if cerr := st.Close(context.Background()); cerr != nil {
		t.Error(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := "consumer<t:1 consumer<t:2 p1 done consumer<t:3 p2 done after_p2 done consumer done"
	if got := strings.Join(log, " "); got != want {
		t.Errorf("run:\n got %s\nwant %s", got, want)
	}
	rowsIn := map[string]int64{}
	for _, s := range res.Stages {
		rowsIn[s.Name] = s.RowsIn
	}
	if rowsIn["consumer"] != 3 || rowsIn["after_p2"] != 0 {
		t.Errorf("rows_in = %v, want consumer 3, after_p2 0", rowsIn)
	}
	if res.TableRows["t"] != 3 {
		t.Errorf("table t: %d rows, want 3", res.TableRows["t"])
	}
}
