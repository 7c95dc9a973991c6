package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// panicky panics in the method named by at; a source (no inputs) emits one
// batch from Finish.
type panicky struct {
	BaseStage
	at     string
	source bool
	mem    memory.Allocator
}

func (p *panicky) Process(context.Context, string, arrow.Record, Emitter) error {
	if p.at == "Process" {
		panic("index out of range [3] with length 3")
	}
	return nil
}

func (p *panicky) Finish(ctx context.Context, out Emitter) error {
	if p.at == "Finish" {
		var m map[string]int
		m["x"]++ // a nil map: a runtime error, not a string
	}
	if p.source {
		rec := batch(p.mem, 1)
		defer rec.Release()
		return out.Emit(ctx, "t", rec)
	}
	return nil
}

func (p *panicky) TableDone(context.Context, string, Emitter) error {
	if p.at == "TableDone" {
		panic("table done")
	}
	return nil
}

func (p *panicky) Close(context.Context) error {
	if p.at == "Close" {
		panic("close")
	}
	return nil
}

// TestStagePanics: a panic in any method of a stage, on the runner's
// goroutine or a background stage's, fails the run with an error naming the
// stage and wrapping ErrStagePanicked, with the panic's stack, instead of
// ending the process; the other stages are closed and every batch released.
func TestStagePanics(t *testing.T) {
	tests := []struct {
		at         string
		background bool
		want       string // in the error
	}{
		{"New", false, "stage sink: the stage panicked: new"},
		{"Process", false, "stage sink: the stage panicked: index out of range [3] with length 3"},
		{"Process", true, "stage sink: the stage panicked: index out of range [3] with length 3"},
		{"Finish", false, "stage sink: the stage panicked: assignment to entry in nil map"},
		{"Finish", true, "stage sink: the stage panicked: assignment to entry in nil map"},
		{"TableDone", false, "stage sink: the stage panicked: table done"},
		{"Close", false, "stage sink: the stage panicked: close"},
	}
	for _, tt := range tests {
		name := tt.at
		if tt.background {
			name += " in the background"
		}
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			g, err := BuildGraph([]Spec[*testEnv]{
				{Name: "source", Outputs: tables("t"), New: func(context.Context, *testEnv) (Stage, error) {
					return &panicky{source: true, mem: mem}, nil
				}},
				{Name: "sink", Inputs: tables("t"), Background: tt.background, New: func(context.Context, *testEnv) (Stage, error) {
					if tt.at == "New" {
						panic("new")
					}
					return &panicky{at: tt.at}, nil
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			st, err := Instantiate(context.Background(), &testEnv{}, g)
			if err == nil {
				_, err = Execute(context.Background(), g, st, Options{})
				if cerr := st.Close(context.Background()); cerr != nil {
					t.Errorf("Close after the run: %v", cerr)
				}
			}
			var se *StageError
			var pe *PanicError
			switch {
			case err == nil:
				t.Fatal("the run succeeded")
			case !errors.Is(err, ErrStagePanicked) || !errors.As(err, &se) || !errors.As(err, &pe):
				t.Fatalf("error %v (%T), want a StageError wrapping a PanicError", err, err)
			case err.Error() != tt.want:
				t.Errorf("error %q, want %q", err, tt.want)
			case !strings.Contains(string(pe.Stack), "panic_test.go"):
				t.Errorf("the stack does not reach the panic:\n%s", pe.Stack)
			}
		})
	}
}

// carried is a panic value raised again away from where it happened.
type carried struct{ stack []byte }

func (c carried) String() string     { return "worker: boom" }
func (c carried) PanicStack() []byte { return c.stack }

// TestProtectKeepsACarriedStack: a value that carries the stack of the
// goroutine it first panicked on keeps it, and its message is its own.
func TestProtectKeepsACarriedStack(t *testing.T) {
	err := protect(func() error { panic(carried{stack: []byte("goroutine 7 [running]:\nworker.go:12")}) })
	var pe *PanicError
	if !errors.As(err, &pe) || string(pe.Stack) != "goroutine 7 [running]:\nworker.go:12" || err.Error() != "the stage panicked: worker: boom" {
		t.Errorf("got %v with stack %q", err, pe.Stack)
	}
}
