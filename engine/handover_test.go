package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

var lookup = NewKey[map[int64]bool]("lookup")

// provider hands over a set in Finish unless skip is set.
type provider struct {
	BaseStage
	skip bool
	log  *[]string
}

func (p *provider) Finish(_ context.Context, out Emitter) error {
	*p.log = append(*p.log, "provider done")
	if p.skip {
		return nil
	}
	return lookup.Provide(out, map[int64]bool{2: true})
}

// needer keeps the values of its batches that are in the handed-over set.
// It writes nothing to the run's shared log: as a background stage it runs
// beside the stages that append to it.
type needer struct {
	BaseStage
	kept []int64
}

func (n *needer) Process(_ context.Context, _ string, rec arrow.Record, out Emitter) error {
	set, err := lookup.Need(out)
	if err != nil {
		return err
	}
	for _, v := range rec.Column(0).(interface{ Int64Values() []int64 }).Int64Values() {
		if set[v] {
			n.kept = append(n.kept, v)
		}
	}
	return nil
}

// TestHandover: the producer of the needer's input waits for the provider
// although nothing else orders them (its name sorts first), the needer
// reads the value from a background goroutine, and the value is gone once
// the needer finished.
func TestHandover(t *testing.T) {
	for _, bg := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		var log []string
		n := &needer{}
		specs := []Spec[*testEnv]{
			{Name: "z_provider", Provides: []string{lookup.String()}, New: func(context.Context, *testEnv) (Stage, error) {
				return &provider{log: &log}, nil
			}},
			{Name: "a_source", Outputs: []string{"t"}, New: func(context.Context, *testEnv) (Stage, error) {
				return &traced{name: "a_source", emit: []int64{1, 2, 3}, log: &log, mem: mem}, nil
			}},
			{Name: "needer", Inputs: []string{"t"}, Needs: []string{lookup.String()}, Background: bg, New: func(context.Context, *testEnv) (Stage, error) {
				return n, nil
			}},
		}
		g, err := BuildGraph(specs)
		if err != nil {
			t.Fatal(err)
		}
		if got := orderOf(g); got != "z_provider,a_source,needer" {
			t.Fatalf("order %s, want z_provider,a_source,needer", got)
		}
		st, err := Instantiate(context.Background(), &testEnv{}, g)
		if err != nil {
			t.Fatal(err)
		}
		var done []string
		_, err = Execute(context.Background(), g, st, Options{StageDone: func(s StageStat) { done = append(done, s.Name) }})
		if err != nil {
			t.Fatal(err)
		}
		st.Close(context.Background())
		if len(n.kept) != 1 || n.kept[0] != 2 {
			t.Errorf("background %v: needer kept %v, want [2]", bg, n.kept)
		}
		if got := strings.Join(done, ","); got != "z_provider,a_source,needer" {
			t.Errorf("stages done in order %s", got)
		}
		mem.AssertSize(t, 0)
	}
}

// TestHandoverDropped: once every stage that needs a value has finished,
// the engine holds it no longer.
func TestHandoverDropped(t *testing.T) {
	var log []string
	g, err := BuildGraph([]Spec[*testEnv]{
		{Name: "p", Provides: []string{lookup.String()}, New: func(context.Context, *testEnv) (Stage, error) { return &provider{log: &log}, nil }},
		{Name: "n", Needs: []string{lookup.String()}, New: func(context.Context, *testEnv) (Stage, error) { return BaseStage{}, nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &run[*testEnv]{g: g, finished: make([]bool, 2), hand: handovers{values: map[string]any{}, left: map[string]int{lookup.String(): 1}}}
	e := &emitter[*testEnv]{r: r, idx: 0}
	if err := lookup.Provide(e, map[int64]bool{}); err != nil {
		t.Fatal(err)
	}
	r.finish(0)
	if _, ok := r.hand.values[lookup.String()]; !ok {
		t.Fatal("value dropped before its only user finished")
	}
	r.finish(1)
	if _, ok := r.hand.values[lookup.String()]; ok {
		t.Error("value kept after its only user finished")
	}
}

func TestHandoverErrors(t *testing.T) {
	never := func(context.Context, *testEnv) (Stage, error) { return BaseStage{}, nil }
	for _, tc := range []struct {
		name  string
		specs []Spec[*testEnv]
		want  string
	}{
		{"no provider", []Spec[*testEnv]{{Name: "n", Needs: []string{"k"}, New: never}}, `needs "k" that no stage provides`},
		{"two providers", []Spec[*testEnv]{{Name: "a", Provides: []string{"k"}, New: never}, {Name: "b", Provides: []string{"k"}, New: never}}, `both provide "k"`},
		{"provider feeds needer", []Spec[*testEnv]{
			{Name: "p", Outputs: []string{"t"}, Provides: []string{"k"}, New: never},
			{Name: "n", Inputs: []string{"t"}, Needs: []string{"k"}, New: never},
		}, `which also feeds it table "t"`},
		{"two writers of an artifact", []Spec[*testEnv]{{Name: "a", Artifacts: []string{"f"}, New: never}, {Name: "b", Artifacts: []string{"f"}, New: never}}, `both write artifact "f"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildGraph(tc.specs)
			if !errors.Is(err, ErrGraph) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrGraph containing %q", err, tc.want)
			}
		})
	}
}

// TestNotProvided: a needer whose provider gave nothing gets ErrNotProvided
// naming the provider, instead of a nil value.
func TestNotProvided(t *testing.T) {
	var log []string
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, err := BuildGraph([]Spec[*testEnv]{
		{Name: "p", Provides: []string{lookup.String()}, New: func(context.Context, *testEnv) (Stage, error) { return &provider{skip: true, log: &log}, nil }},
		{Name: "src", Outputs: []string{"t"}, New: func(context.Context, *testEnv) (Stage, error) {
			return &traced{name: "src", emit: []int64{1}, log: &log, mem: mem}, nil
		}},
		{Name: "n", Inputs: []string{"t"}, Needs: []string{lookup.String()}, New: func(context.Context, *testEnv) (Stage, error) { return &needer{}, nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Instantiate(context.Background(), &testEnv{}, g)
	defer st.Close(context.Background())
	_, err = Execute(context.Background(), g, st, Options{})
	var se *StageError
	if !errors.Is(err, ErrNotProvided) || !errors.As(err, &se) || se.Stage != "n" || !strings.Contains(err.Error(), "p finished without providing") {
		t.Errorf("err = %v, want ErrNotProvided from stage n naming p", err)
	}
}

// memFiles keeps created files in memory.
type memFiles map[string]*bytes.Buffer

type memFile struct{ *bytes.Buffer }

func (memFile) Close() error { return nil }

func (m memFiles) Create(artifact, name string) (io.WriteCloser, error) {
	b := &bytes.Buffer{}
	m[artifact+"/"+name] = b
	return memFile{b}, nil
}

// writer creates one file in artifact a.
type writer struct {
	BaseStage
	artifact string
}

func (w writer) Finish(context.Context, Emitter) error { return nil }

func (w writer) write(out Emitter) error {
	f, err := out.Create(w.artifact, "x.txt")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, "hello"); err != nil {
		return err
	}
	return f.Close()
}

type writing struct{ writer }

func (w writing) Finish(_ context.Context, out Emitter) error { return w.write(out) }

// TestArtifacts: a stage writes files of its declared artifacts through the
// runner's Files and is refused any other.
func TestArtifacts(t *testing.T) {
	for _, tc := range []struct {
		declared, wrote string
		files           bool
		wantErr         bool
	}{{"report", "report", true, false}, {"report", "audiences", true, true}, {"report", "report", false, true}} {
		files := memFiles{}
		g, err := BuildGraph([]Spec[*testEnv]{{Name: "w", Artifacts: []string{tc.declared}, New: func(context.Context, *testEnv) (Stage, error) {
			return writing{writer{artifact: tc.wrote}}, nil
		}}})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := Instantiate(context.Background(), &testEnv{}, g)
		o := Options{}
		if tc.files {
			o.Files = files
		}
		_, err = Execute(context.Background(), g, st, o)
		st.Close(context.Background())
		if tc.wantErr {
			if !errors.Is(err, ErrGraph) {
				t.Errorf("declared %s, wrote %s, files %v: err = %v, want ErrGraph", tc.declared, tc.wrote, tc.files, err)
			}
			continue
		}
		if err != nil || files["report/x.txt"].String() != "hello" {
			t.Errorf("declared %s: err %v, files %v", tc.declared, err, files)
		}
	}
}
