// Package engine runs a graph of stages over Arrow record batches. It knows
// nothing of what the batches hold: stages declare the tables they read and
// write, the stages they must follow, the values they hand to each other and
// the files they write, and the engine orders them, moves batches and values
// between them and owns every goroutine that runs one.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrGraph is wrapped when the declared stages do not form a valid
	// graph, or a stage does at run time what its spec does not declare.
	ErrGraph = errors.New("invalid stage graph")
	// ErrEmitInBackground is returned to a background stage that emits from
	// Process: its consumers run on the runner's goroutine only.
	ErrEmitInBackground = errors.New("a background stage emits only from Finish")
	// ErrNotProvided is returned to a stage that needs a hand-over its
	// provider finished without giving.
	ErrNotProvided = errors.New("hand-over not provided")
	// ErrStagePanicked is wrapped (by a *PanicError) when a stage panics.
	ErrStagePanicked = errors.New("the stage panicked")
)

// Emitter is how a stage passes on what it made: batches of the tables it
// declares, values handed to the stages that need them, and files.
type Emitter interface {
	// Emit sends rec to every consumer of table. It does not take
	// ownership of rec: the caller releases it afterwards, and a receiver
	// that keeps it must Retain it.
	Emit(ctx context.Context, table string, rec arrow.Record) error
	// Provide hands v to the stages that need key. The stage must declare
	// key in its Provides.
	Provide(key string, v any) error
	// Need returns the value handed over under key. The stage must declare
	// key in its Needs; it may call Need from Process and Finish.
	Need(key string) (any, error)
	// Create opens file name of the declared artifact for writing. Close
	// makes the file durable; a file is only published if its run commits.
	Create(artifact, name string) (io.WriteCloser, error)
}

// Stage turns batches of its input tables into batches of its output tables.
// The runner calls Process for every input batch, then Finish once all inputs
// are exhausted (a stage without inputs, a source, does all its work in
// Finish), then Close, always, even after an error. Every call gets the
// run's context, so a stage that talks to other systems stops when the run
// is canceled (SIGTERM from the scheduler).
type Stage interface {
	Process(ctx context.Context, table string, rec arrow.Record, out Emitter) error
	Finish(ctx context.Context, out Emitter) error
	Close(ctx context.Context) error
}

// TableEnder is a Stage that wants to know when a table it reads is
// complete: the runner calls TableDone once every producer of the table
// has finished, before the stage's own Finish, so a sink can close the
// table's file instead of holding its buffers until its Finish. A
// background stage is not told.
type TableEnder interface {
	TableDone(ctx context.Context, table string, out Emitter) error
}

// Spec declares a stage: what it reads and writes, what it must follow and
// how to build it for a run from the run's environment E.
//
// A table may have several producers, which must give it one schema; its
// consumers receive every producer's batches as they are emitted.
type Spec[E any] struct {
	Name string
	// Doc says in a line what the stage does.
	Doc string
	// Inputs and Outputs are the tables the stage reads and emits.
	Inputs  []string
	Outputs []string
	// After names stages that must finish before this stage's Finish
	// starts, for an order that no table or hand-over implies (to free
	// memory before a large stage starts, say). No batches flow along it.
	After []string
	// Provides and Needs name the values handed from one stage to others:
	// a stage that needs a key starts receiving batches only after the
	// stage that provides it has finished, and the value is dropped once
	// every stage that needs it has finished.
	Provides []string
	Needs    []string
	// Artifacts name the folders of files the stage writes with
	// Emitter.Create.
	Artifacts []string
	// Background lets the stage's Process calls run on a goroutine of
	// their own while the stages feeding it go on. Such a stage emits only
	// from Finish; the runner stops feeding it at its first error.
	Background bool
	// New builds the stage for a run. ctx is the run's: a constructor that
	// reads files or asks a warehouse must give up when it is canceled.
	New func(ctx context.Context, env E) (Stage, error)
}

// Registry holds the stages a run may use.
type Registry[E any] struct {
	specs []Spec[E]
}

// Register adds a stage; names must be unique.
func (r *Registry[E]) Register(s Spec[E]) error {
	if s.Name == "" || s.New == nil {
		return fmt.Errorf("%w: stage needs a name and a constructor", ErrGraph)
	}
	for _, o := range r.specs {
		if o.Name == s.Name {
			return fmt.Errorf("%w: stage %q registered twice", ErrGraph, s.Name)
		}
	}
	r.specs = append(r.specs, s)
	return nil
}

// Specs returns the registered stages in registration order.
func (r *Registry[E]) Specs() []Spec[E] { return append([]Spec[E](nil), r.specs...) }

// BaseStage gives a stage no-op Process, Finish and Close to embed, so a
// stage implements only what it needs.
type BaseStage struct{}

// Process ignores the batch; sources have no inputs.
func (BaseStage) Process(context.Context, string, arrow.Record, Emitter) error { return nil }

// Finish does nothing.
func (BaseStage) Finish(context.Context, Emitter) error { return nil }

// Close releases nothing.
func (BaseStage) Close(context.Context) error { return nil }

// Key names a hand-over of values of type T, so the provider and the stages
// that need it agree on the type as well as the name.
type Key[T any] struct{ name string }

// NewKey returns the key called name.
func NewKey[T any](name string) Key[T] { return Key[T]{name: name} }

// String is the key's name, as Spec.Provides and Spec.Needs list it.
func (k Key[T]) String() string { return k.name }

// Provide hands v to the stages that need k.
func (k Key[T]) Provide(out Emitter, v T) error { return out.Provide(k.name, v) }

// Need returns the value handed over under k.
func (k Key[T]) Need(out Emitter) (T, error) {
	var zero T
	v, err := out.Need(k.name)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%w: hand-over %q holds %T, not %T", ErrGraph, k.name, v, zero)
	}
	return t, nil
}
