// Package pipeline runs a job: it holds the stage interface and registry, the
// stage graph, the run context, the manifest and the atomic commit of a run's
// tables.
package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrGraph is wrapped when the registered stages do not form a valid graph.
	ErrGraph = errors.New("invalid stage graph")
	// ErrNoInput is wrapped when a job's input matches no files, so a
	// scheduler can tell "nothing to do for this date" from a failure.
	ErrNoInput = errors.New("no input")
)

// Emitter receives the batches a stage produces. Emit does not take
// ownership of rec: the caller releases it afterwards, and a receiver that
// keeps it must Retain it.
type Emitter interface {
	Emit(ctx context.Context, table string, rec arrow.Record) error
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

// Spec declares a stage to the registry: the tables it consumes and produces
// and how to build it for a run. Doc says in a line what it does.
//
// A table may have several producers, which must give it one schema; its
// consumers receive every producer's batches as they are emitted.
type Spec struct {
	Name    string
	Doc     string
	Inputs  []string
	Outputs []string
	// After names stages that must finish before this stage's Finish
	// starts, for a stage that needs what another leaves behind (in the
	// RunContext) rather than its tables. No batches flow along it.
	After []string
	// New builds the stage for a run. ctx is the run's: a constructor that
	// reads files or asks a warehouse must give up when it is canceled.
	New func(ctx context.Context, rc *RunContext) (Stage, error)
}

// Registry holds the stages a run may use, in registration order.
type Registry struct {
	specs []Spec
}

// Register adds a stage; names must be unique.
func (r *Registry) Register(s Spec) error {
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
func (r *Registry) Specs() []Spec { return append([]Spec(nil), r.specs...) }

// BaseStage gives a stage no-op Process, Finish and Close to embed, so a
// stage implements only what it needs.
type BaseStage struct{}

// Process ignores the batch; sources have no inputs.
func (BaseStage) Process(context.Context, string, arrow.Record, Emitter) error { return nil }

// Finish does nothing.
func (BaseStage) Finish(context.Context, Emitter) error { return nil }

// Close releases nothing.
func (BaseStage) Close(context.Context) error { return nil }
