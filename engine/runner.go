package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
)

// StageStat is what one stage did in a run. Duration is the stage's own
// time: time spent in the stages it fed is not counted twice.
type StageStat struct {
	Name       string        `json:"name"`
	RowsIn     int64         `json:"rows_in"`
	RowsOut    int64         `json:"rows_out"`
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"duration_ms"`
}

// Result is what a run of the graph produced.
type Result struct {
	// TableRows counts the rows emitted per table.
	TableRows map[string]int64
	Stages    []StageStat
}

// Files creates the files stages write through Emitter.Create; the caller
// of Execute decides where they go and when they become visible.
type Files interface {
	Create(artifact, name string) (io.WriteCloser, error)
}

// Options configure Execute.
type Options struct {
	// Files receives the stages' artifact files; without it a stage that
	// creates one fails.
	Files Files
	// StageDone, when set, is told of each stage as it finishes.
	StageDone func(StageStat)
}

// Instantiate builds every stage of the graph for a run, so constructor
// checks (options, input schemas) fail before any data moves. A canceled
// ctx stops it before the next constructor, and constructors that do I/O
// are given it. The caller must Close the returned stages.
func Instantiate[E any](ctx context.Context, env E, g *Graph[E]) (Stages, error) {
	st := make(Stages, 0, len(g.Order))
	for _, spec := range g.Order {
		s, err := newStage(ctx, env, spec)
		if err != nil {
			st.Close(ctx)
			return nil, inStage(spec.Name, err)
		}
		if spec.Background {
			s = &background{inner: s}
		}
		st = append(st, s)
	}
	return st, nil
}

func newStage[E any](ctx context.Context, env E, spec Spec[E]) (Stage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var s Stage
	err := protect(func() (err error) {
		s, err = spec.New(ctx, env)
		return err
	})
	return s, err
}

// Stages are the instantiated stages of a graph, in graph order.
type Stages []Stage

// Close closes every stage, last first, and joins their errors. It runs
// after a canceled run too, so stages must release their resources even
// when ctx is done.
func (st Stages) Close(ctx context.Context) error {
	var errs []error
	for i := len(st) - 1; i >= 0; i-- {
		errs = append(errs, protect(func() error { return st[i].Close(ctx) }))
	}
	return errors.Join(errs...)
}

// Execute runs instantiated stages: each stage's Finish in graph order, with
// every emitted batch pushed at once into the stages that consume its table.
// Batches flow depth first, so at most a few batches per table are alive at
// any time and memory follows the stages' own state, not the input size.
// Each stage is closed once its Finish returns, and Stages.Close then
// closes only the stages a failed run did not reach.
func Execute[E any](ctx context.Context, g *Graph[E], st Stages, o Options) (*Result, error) {
	if len(st) != len(g.Order) {
		return nil, fmt.Errorf("%w: %d stages for a graph of %d", ErrGraph, len(st), len(g.Order))
	}
	r := &run[E]{g: g, stages: st, opts: o, tableRows: map[string]int64{}, finished: make([]bool, len(st))}
	r.hand = handovers{values: map[string]any{}, left: map[string]int{}}
	for k, ns := range g.needers {
		r.hand.left[k] = len(ns)
	}
	r.stats = make([]StageStat, len(g.Order))
	r.emitters = make([]*emitter[E], len(g.Order))
	for i, spec := range g.Order {
		r.stats[i].Name = spec.Name
		r.emitters[i] = &emitter[E]{r: r, idx: i}
	}
	for i, spec := range g.Order {
		err := r.call(i, func() error { return st[i].Finish(ctx, r.emitters[i]) })
		s := &r.stats[i]
		if b, ok := st[i].(*background); ok {
			s.Duration += b.backgroundTime()
		}
		s.DurationMS = s.Duration.Milliseconds()
		if err != nil {
			return nil, inStage(spec.Name, err)
		}
		r.finish(i)
		if err := st.release(ctx, i); err != nil {
			return nil, inStage(spec.Name, err)
		}
		if err := r.tablesDone(ctx, i); err != nil {
			return nil, err
		}
		if o.StageDone != nil {
			o.StageDone(*s)
		}
	}
	return &Result{TableRows: r.tableRows, Stages: r.stats}, nil
}

// release closes stage i as soon as it has finished and lets go of it.
// Stages run in graph order, so every stage that feeds it has finished
// too and no batch can reach it any more; what it held for its Finish (a
// fitted model's inputs, batches buffered for a join, a pair table) would
// otherwise stay alive through every later stage and add to the run's
// peak. Close then skips it.
func (st Stages) release(ctx context.Context, i int) error {
	err := protect(func() error { return st[i].Close(ctx) })
	st[i] = released{}
	return err
}

// released stands in for a stage closed after its Finish.
type released struct{}

func (released) Process(context.Context, string, arrow.Record, Emitter) error {
	return fmt.Errorf("%w: a batch for a stage that has finished", ErrGraph)
}
func (released) Finish(context.Context, Emitter) error { return nil }
func (released) Close(context.Context) error           { return nil }

type run[E any] struct {
	g         *Graph[E]
	stages    Stages
	opts      Options
	emitters  []*emitter[E]
	stats     []StageStat
	tableRows map[string]int64
	finished  []bool
	hand      handovers
	// nested holds, per active call, the time spent in calls it made, so
	// each stage's duration excludes its consumers'.
	nested []time.Duration
}

// handovers holds the values stages hand to each other. A mutex guards it
// because a background stage reads it from its own goroutine.
type handovers struct {
	mu     sync.Mutex
	values map[string]any
	// done marks keys whose provider finished; left counts, per key, the
	// stages that need it and have not finished.
	done map[string]bool
	left map[string]int
}

// finish records that stage i finished: what it provides is now final, and
// a value none of the unfinished stages needs is dropped so its memory goes.
func (r *run[E]) finish(i int) {
	r.finished[i] = true
	spec := r.g.Order[i]
	h := &r.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = map[string]bool{}
	}
	for _, k := range spec.Provides {
		h.done[k] = true
	}
	for _, k := range spec.Needs {
		h.left[k]--
	}
	for k := range h.values {
		if h.done[k] && h.left[k] <= 0 {
			delete(h.values, k)
		}
	}
}

// tablesDone tells the consumers that are TableEnders of each table stage
// i emits, once i was its last producer to finish.
func (r *run[E]) tablesDone(ctx context.Context, i int) error {
	for _, t := range r.g.Order[i].Outputs {
		complete := true
		for p, spec := range r.g.Order {
			if !r.finished[p] && slices.Contains(spec.Outputs, t) {
				complete = false
				break
			}
		}
		if !complete {
			continue
		}
		for _, c := range r.g.consumers[t] {
			e, ok := r.stages[c].(TableEnder)
			if !ok {
				continue
			}
			if err := r.call(c, func() error { return e.TableDone(ctx, t, r.emitters[c]) }); err != nil {
				return inStage(r.g.Order[c].Name, err)
			}
		}
	}
	return nil
}

// ready reports whether every provider of what stage c needs has finished.
func (r *run[E]) ready(c int) bool {
	for _, k := range r.g.Order[c].Needs {
		if !r.finished[r.g.provider[k]] {
			return false
		}
	}
	return true
}

func (r *run[E]) call(idx int, fn func() error) error {
	start := time.Now()
	r.nested = append(r.nested, 0)
	err := protect(fn)
	elapsed := time.Since(start)
	inner := r.nested[len(r.nested)-1]
	r.nested = r.nested[:len(r.nested)-1]
	r.stats[idx].Duration += elapsed - inner
	if n := len(r.nested); n > 0 {
		r.nested[n-1] += elapsed
	}
	return err
}

type emitter[E any] struct {
	r   *run[E]
	idx int
}

func (e *emitter[E]) spec() Spec[E] { return e.r.g.Order[e.idx] }

func (e *emitter[E]) Emit(ctx context.Context, table string, rec arrow.Record) error {
	r := e.r
	spec := e.spec()
	if !slices.Contains(spec.Outputs, table) {
		return fmt.Errorf("%w: stage %s emitted table %q it does not declare", ErrGraph, spec.Name, table)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := rec.NumRows()
	r.stats[e.idx].RowsOut += n
	r.tableRows[table] += n
	for _, c := range r.g.consumers[table] {
		if !r.ready(c) {
			return fmt.Errorf("%w: stage %s would receive %s before what it needs is provided", ErrGraph, r.g.Order[c].Name, table)
		}
		if err := r.call(c, func() error { return r.stages[c].Process(ctx, table, rec, r.emitters[c]) }); err != nil {
			return inStage(r.g.Order[c].Name, err)
		}
		r.stats[c].RowsIn += n
	}
	return nil
}

func (e *emitter[E]) Provide(key string, v any) error {
	spec := e.spec()
	if !slices.Contains(spec.Provides, key) {
		return fmt.Errorf("%w: stage %s provided %q it does not declare", ErrGraph, spec.Name, key)
	}
	h := &e.r.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.left[key] > 0 {
		h.values[key] = v
	}
	return nil
}

func (e *emitter[E]) Need(key string) (any, error) {
	spec := e.spec()
	if !slices.Contains(spec.Needs, key) {
		return nil, fmt.Errorf("%w: stage %s asked for %q it does not declare", ErrGraph, spec.Name, key)
	}
	h := &e.r.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.values[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s finished without providing %q", ErrNotProvided, e.r.g.Order[e.r.g.provider[key]].Name, key)
	}
	return v, nil
}

func (e *emitter[E]) Create(artifact, name string) (io.WriteCloser, error) {
	spec := e.spec()
	if !slices.Contains(spec.Artifacts, artifact) {
		return nil, fmt.Errorf("%w: stage %s wrote artifact %q it does not declare", ErrGraph, spec.Name, artifact)
	}
	if e.r.opts.Files == nil {
		return nil, fmt.Errorf("%w: this run writes no files (stage %s, artifact %q)", ErrGraph, spec.Name, artifact)
	}
	return e.r.opts.Files.Create(artifact, name)
}

// StageError says which stage failed; the innermost stage is named once even
// when the error travels back through the stages that fed it.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return "stage " + e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

func inStage(name string, err error) error {
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: name, Err: err}
}
