package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// Instantiate builds every stage of the graph for a run, so constructor
// checks (job options, input schemas) fail before any data moves. A
// canceled ctx stops it before the next constructor, and constructors that
// do I/O are given it. The caller must Close the returned stages.
func Instantiate(ctx context.Context, rc *RunContext, g *Graph) (Stages, error) {
	st := make(Stages, 0, len(g.Order))
	for _, spec := range g.Order {
		s, err := newStage(ctx, rc, spec)
		if err != nil {
			st.Close(ctx)
			return nil, inStage(spec.Name, err)
		}
		st = append(st, s)
	}
	return st, nil
}

func newStage(ctx context.Context, rc *RunContext, spec Spec) (Stage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return spec.New(ctx, rc)
}

// Stages are the instantiated stages of a graph, in graph order.
type Stages []Stage

// Close closes every stage, last first, and joins their errors. It runs
// after a canceled run too, so stages must release their resources even
// when ctx is done.
func (st Stages) Close(ctx context.Context) error {
	var errs []error
	for i := len(st) - 1; i >= 0; i-- {
		errs = append(errs, st[i].Close(ctx))
	}
	return errors.Join(errs...)
}

// Execute runs instantiated stages: each stage's Finish in graph order, with
// every emitted batch pushed at once into the stages that consume its table.
// Batches flow depth first, so at most a few batches per table are alive at
// any time and memory follows the stages' own state, not the input size.
func Execute(ctx context.Context, rc *RunContext, g *Graph, st Stages) (*Result, error) {
	r := &run{rc: rc, g: g, stages: st, tableRows: map[string]int64{}}
	r.stats = make([]StageStat, len(g.Order))
	r.emitters = make([]*emitter, len(g.Order))
	for i, spec := range g.Order {
		r.stats[i].Name = spec.Name
		r.emitters[i] = &emitter{r: r, idx: i}
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
		rc.Log.Info().Str("stage", spec.Name).Int64("rows_in", s.RowsIn).Int64("rows_out", s.RowsOut).
			Int64("duration_ms", s.DurationMS).Msg("stage done")
	}
	return &Result{TableRows: r.tableRows, Stages: r.stats}, nil
}

type run struct {
	rc        *RunContext
	g         *Graph
	stages    Stages
	emitters  []*emitter
	stats     []StageStat
	tableRows map[string]int64
	// nested holds, per active call, the time spent in calls it made, so
	// each stage's duration excludes its consumers'.
	nested []time.Duration
}

func (r *run) call(idx int, fn func() error) error {
	start := time.Now()
	r.nested = append(r.nested, 0)
	err := fn()
	elapsed := time.Since(start)
	inner := r.nested[len(r.nested)-1]
	r.nested = r.nested[:len(r.nested)-1]
	r.stats[idx].Duration += elapsed - inner
	if n := len(r.nested); n > 0 {
		r.nested[n-1] += elapsed
	}
	return err
}

type emitter struct {
	r   *run
	idx int
}

func (e *emitter) Emit(ctx context.Context, table string, rec arrow.Record) error {
	r := e.r
	spec := r.g.Order[e.idx]
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
		if err := r.call(c, func() error { return r.stages[c].Process(ctx, table, rec, r.emitters[c]) }); err != nil {
			return inStage(r.g.Order[c].Name, err)
		}
		r.stats[c].RowsIn += n
	}
	return nil
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
