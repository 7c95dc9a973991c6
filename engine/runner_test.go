package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type closeCounter struct {
	BaseStage
	closed *int
}

func (c closeCounter) Close(context.Context) error { *c.closed++; return nil }

// TestInstantiateStopsWhenCanceled: a cancellation that arrives while one
// constructor runs stops Instantiate before the next, which may do I/O, and
// closes what was built.
func TestInstantiateStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	closed, built := 0, 0
	g, err := BuildGraph([]Spec[*testEnv]{
		{Name: "a", Outputs: []string{"t"}, New: func(context.Context, *testEnv) (Stage, error) {
			built++
			cancel() // SIGTERM while the first stage is being built
			return closeCounter{closed: &closed}, nil
		}},
		{Name: "b", Inputs: []string{"t"}, New: func(ctx context.Context, _ *testEnv) (Stage, error) {
			built++
			return nil, errors.New("b was built on a canceled run")
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Instantiate(ctx, &testEnv{}, g)
	var se *StageError
	if st != nil || !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Stage != "b" {
		t.Errorf("Instantiate on a canceled run: %v, %v; want a StageError for b wrapping context.Canceled", st, err)
	}
	if built != 1 || closed != 1 {
		t.Errorf("%d stages built, %d closed; want 1 and 1", built, closed)
	}
}

// testEnv is the environment of the stages in these tests: they need none.
type testEnv struct{}

// loggedClose notes its Finish and its Close in a shared log.
type loggedClose struct {
	BaseStage
	name string
	log  *[]string
}

func (s loggedClose) Finish(context.Context, Emitter) error {
	*s.log = append(*s.log, s.name+" done")
	return nil
}

func (s loggedClose) Close(context.Context) error {
	*s.log = append(*s.log, s.name+" closed")
	return nil
}

// TestExecuteClosesEachStageWhenItFinishes: a finished stage is closed
// before the next one's Finish, so what it held does not outlive it, and
// Stages.Close after the run closes none twice.
func TestExecuteClosesEachStageWhenItFinishes(t *testing.T) {
	tests := []struct {
		name    string
		failAt  string
		want    string
		wantErr bool
	}{
		{"every stage finishes", "", "a done a closed b done b closed c done c closed", false},
		{"b fails: c is closed by Stages.Close", "b", "a done a closed c closed b closed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			stage := func(name string, in, out []string) Spec[*testEnv] {
				return Spec[*testEnv]{Name: name, Inputs: in, Outputs: out, New: func(context.Context, *testEnv) (Stage, error) {
					if name == tt.failAt {
						return failingFinish{loggedClose{name: name, log: &log}}, nil
					}
					return loggedClose{name: name, log: &log}, nil
				}}
			}
			g, err := BuildGraph([]Spec[*testEnv]{stage("a", nil, tables("t")), stage("b", tables("t"), tables("u")), stage("c", tables("u"), nil)})
			if err != nil {
				t.Fatal(err)
			}
			st, err := Instantiate(context.Background(), &testEnv{}, g)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Execute(context.Background(), g, st, Options{})
			if cerr := st.Close(context.Background()); cerr != nil {
				t.Error(cerr)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("Execute: %v, want error %v", err, tt.wantErr)
			}
			if got := strings.Join(log, " "); got != tt.want {
				t.Errorf("run:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// failingFinish is a loggedClose whose Finish fails without logging.
type failingFinish struct{ loggedClose }

func (failingFinish) Finish(context.Context, Emitter) error { return errors.New("boom") }

// tableEnder logs the tables it is told are complete.
type tableEnder struct{ loggedClose }

func (s tableEnder) TableDone(_ context.Context, table string, _ Emitter) error {
	*s.log = append(*s.log, s.name+" told "+table)
	return nil
}

// TestExecuteTellsWhenATableIsComplete: a consumer that is a TableEnder
// hears of a table once, when its last producer finishes, before its own
// Finish.
func TestExecuteTellsWhenATableIsComplete(t *testing.T) {
	var log []string
	mk := func(name string, in, out []string, end bool) Spec[*testEnv] {
		return Spec[*testEnv]{Name: name, Inputs: in, Outputs: out, New: func(context.Context, *testEnv) (Stage, error) {
			if end {
				return tableEnder{loggedClose{name: name, log: &log}}, nil
			}
			return loggedClose{name: name, log: &log}, nil
		}}
	}
	g, err := BuildGraph([]Spec[*testEnv]{
		mk("p1", nil, tables("t"), false),
		mk("p2", nil, tables("t", "u"), false),
		mk("sink", tables("t", "u"), nil, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Instantiate(context.Background(), &testEnv{}, g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(context.Background(), g, st, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(context.Background()); err != nil {
		t.Error(err)
	}
	want := "p1 done p1 closed p2 done p2 closed sink told t sink told u sink done sink closed"
	if got := strings.Join(log, " "); got != want {
		t.Errorf("run:\n got %s\nwant %s", got, want)
	}
}
