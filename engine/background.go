package engine

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
)

// backgroundBatches bounds the batches queued for a background stage, and
// so the memory a slow one can hold.
const backgroundBatches = 4

// background runs a stage's Process calls on a goroutine of their own, in
// arrival order, so a stage that only folds batches into its own state
// works while the stages feeding it go on; with two cores that is most of
// its time off the critical path. The stage emits only from Finish, which
// runs on the runner's goroutine after every queued batch is processed.
//
// Once the stage fails, the next Process call returns its error, so the run
// stops within a queue's length of batches instead of reading its whole
// input first. The error is returned once: Close repeats it only when
// neither Process nor Finish did.
type background struct {
	inner Stage
	queue chan queued
	// failed is closed by the goroutine at the inner stage's first error,
	// after err is set; done when the goroutine has drained the queue.
	// done alone cannot tell the runner of a failure, since it closes only
	// after the queue is closed.
	failed chan struct{}
	done   chan struct{}
	err    error // read after failed or done is closed
	// reported is set once err went back to the runner.
	reported bool
	busy     time.Duration
	// waited is the runner's time blocked in wait, which busy overlaps.
	waited time.Duration
}

type queued struct {
	table string
	rec   arrow.Record
}

// noEmit is the emitter of background Process calls: they may read
// hand-overs, but what they make waits for Finish.
type noEmit struct{ out Emitter }

func (noEmit) Emit(context.Context, string, arrow.Record) error { return ErrEmitInBackground }
func (noEmit) Provide(string, any) error                        { return ErrEmitInBackground }
func (n noEmit) Need(key string) (any, error)                   { return n.out.Need(key) }
func (noEmit) Create(string, string) (io.WriteCloser, error)    { return nil, ErrEmitInBackground }

func (b *background) Process(ctx context.Context, table string, rec arrow.Record, out Emitter) error {
	if b.queue == nil {
		b.queue, b.failed, b.done = make(chan queued, backgroundBatches), make(chan struct{}), make(chan struct{})
		go b.run(ctx, noEmit{out})
	}
	select {
	case <-b.failed:
		return b.report()
	default:
	}
	rec.Retain()
	select {
	case b.queue <- queued{table, rec}:
		return nil
	case <-b.failed:
		// A full queue behind a failed stage: waiting for room would only
		// hand the goroutine a batch to throw away.
		rec.Release()
		return b.report()
	}
}

func (b *background) run(ctx context.Context, out Emitter) {
	defer close(b.done)
	for q := range b.queue {
		if b.err == nil {
			start := time.Now()
			b.err = protect(func() error { return b.inner.Process(ctx, q.table, q.rec, out) })
			b.busy += time.Since(start)
			if b.err != nil {
				close(b.failed)
			}
		}
		q.rec.Release() // after a failure, drain so senders never block
	}
}

// report returns the inner stage's error and notes that it was returned.
func (b *background) report() error {
	b.reported = true
	return b.err
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
		return b.report()
	}
	return b.inner.Finish(ctx, out)
}

func (b *background) Close(ctx context.Context) error {
	err := b.wait()
	if b.reported {
		err = nil
	} else if err != nil {
		b.report()
	}
	return errors.Join(err, b.inner.Close(ctx))
}

// backgroundTime is the Process time spent off the runner's goroutine less
// the runner's wait for it, so the stage's duration in the manifest counts
// its own work once.
func (b *background) backgroundTime() time.Duration { return max(b.busy-b.waited, 0) }
