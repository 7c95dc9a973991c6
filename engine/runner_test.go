package engine

import (
	"context"
	"errors"
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
