package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
)

// ErrEmitInBackground is returned to a background stage that emits from
// Process: its consumers run on the runner's goroutine only.
var ErrEmitInBackground = errors.New("a background stage emits only from Finish")

// backgroundBatches bounds the batches queued for a background stage, and
// so the memory a slow one can hold.
const backgroundBatches = 4

// InBackground runs s's Process calls on a goroutine of their own, in
// arrival order, so a stage that only folds batches into its own state
// works while the stages feeding it go on; with two cores that is most of
// its time off the critical path. s must emit only from Finish, which runs
// on the runner's goroutine after every queued batch is processed.
func InBackground(s Stage) Stage { return &background{inner: s} }

type background struct {
	inner Stage
	queue chan queued
	done  chan struct{}
	err   error // read after done is closed
	busy  time.Duration
	// waited is the runner's time blocked in wait, which busy overlaps.
	waited time.Duration
}

type queued struct {
	table string
	rec   arrow.Record
}

type noEmit struct{}

func (noEmit) Emit(context.Context, string, arrow.Record) error { return ErrEmitInBackground }

func (b *background) Process(ctx context.Context, table string, rec arrow.Record, _ Emitter) error {
	if b.queue == nil {
		b.queue, b.done = make(chan queued, backgroundBatches), make(chan struct{})
		go b.run(ctx)
	}
	select {
	case <-b.done:
		return b.err
	default:
	}
	rec.Retain()
	b.queue <- queued{table, rec}
	return nil
}

func (b *background) run(ctx context.Context) {
	defer close(b.done)
	for q := range b.queue {
		if b.err == nil {
			start := time.Now()
			b.err = b.inner.Process(ctx, q.table, q.rec, noEmit{})
			b.busy += time.Since(start)
		}
		q.rec.Release() // after a failure, drain so senders never block
	}
}

// wait stops the goroutine once its queue is empty.
func (b *background) wait() error {
	if b.queue == nil {
		return nil
	}
	start := time.Now()
	close(b.queue)
	<-b.done
	b.waited += time.Since(start)
	b.queue = nil
	return b.err
}

func (b *background) Finish(ctx context.Context, out Emitter) error {
	if err := b.wait(); err != nil {
		return err
	}
	return b.inner.Finish(ctx, out)
}

func (b *background) Close() error {
	return errors.Join(b.wait(), b.inner.Close())
}

// backgroundTime is the Process time spent off the runner's goroutine less
// the runner's wait for it, so the stage's duration in the manifest counts
// its own work once.
func (b *background) backgroundTime() time.Duration { return max(b.busy-b.waited, 0) }
