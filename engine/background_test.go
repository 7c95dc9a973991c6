package engine

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// summing adds up int64 batches in Process and emits the total in Finish.
type summing struct {
	BaseStage
	seen   []int64
	failAt int64
	emit   bool
	mem    memory.Allocator
}

var ints = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (s *summing) Process(ctx context.Context, _ string, rec arrow.Record, out Emitter) error {
	v := rec.Column(0).(*array.Int64).Value(0)
	if v == s.failAt {
		return errors.New("boom")
	}
	if s.emit {
		return out.Emit(ctx, "t", rec)
	}
	s.seen = append(s.seen, v)
	return nil
}

func (s *summing) Finish(ctx context.Context, out Emitter) error {
	var sum int64
	for _, v := range s.seen {
		sum += v
	}
	rec := batch(s.mem, sum)
	defer rec.Release()
	return out.Emit(ctx, "t", rec)
}

func batch(mem memory.Allocator, v int64) arrow.Record {
	b := array.NewRecordBuilder(mem, ints)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(v)
	return b.NewRecord()
}

// captured is an emitter that keeps the first value of every batch.
type captured struct{ got []int64 }

func (c *captured) Provide(string, any) error                     { return nil }
func (c *captured) Need(string) (any, error)                      { return nil, ErrNotProvided }
func (c *captured) Create(string, string) (io.WriteCloser, error) { return nil, ErrGraph }

func (c *captured) Emit(_ context.Context, _ string, rec arrow.Record) error {
	c.got = append(c.got, rec.Column(0).(*array.Int64).Value(0))
	return nil
}

// TestInBackground: batches are processed in order and released, Finish
// sees them all; a failure reaches the producer within a queue's length of
// batches, is returned once, and every queued batch is released; emitting
// from Process is refused.
func TestBackground(t *testing.T) {
	const batches = 100
	// A failure at batch n is seen at the latest by the call that finds the
	// queue full behind it: n, then a full queue, then that call.
	const seenBy = 3 + backgroundBatches + 1
	for _, tc := range []struct {
		name  string
		inner summing
		// wantErr is where the error must surface: "" (nowhere),
		// "process" (by call seenBy) or "finish".
		wantErr  string
		sentinel error
	}{
		{name: "in order", inner: summing{failAt: -1}},
		{name: "fails at batch 3", inner: summing{failAt: 3}, wantErr: "process"},
		{name: "fails at the last batch", inner: summing{failAt: batches}, wantErr: "finish"},
		{name: "emits from process", inner: summing{failAt: -1, emit: true}, wantErr: "process", sentinel: ErrEmitInBackground},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			inner := tc.inner
			inner.mem = mem
			st := &background{inner: &inner}
			ctx := context.Background()
			var err error
			calls := 0
			for v := int64(1); v <= batches && err == nil; v++ {
				rec := batch(mem, v)
				err = st.Process(ctx, "in", rec, nil)
				rec.Release()
				calls++
			}
			got := ""
			if err != nil {
				got = "process"
				if calls > seenBy {
					t.Errorf("failure seen by the producer at call %d, want <= %d", calls, seenBy)
				}
			}
			var out captured
			if err == nil {
				if err = st.Finish(ctx, &out); err != nil {
					got = "finish"
				}
			}
			if cerr := st.Close(ctx); cerr != nil {
				t.Errorf("close: %v (the error was returned already: %v)", cerr, err)
			}
			if got != tc.wantErr {
				t.Fatalf("error %v surfaced in %q, want %q", err, got, tc.wantErr)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("err = %v, want %v", err, tc.sentinel)
			}
			if tc.wantErr != "" {
				return
			}
			if len(out.got) != 1 || out.got[0] != batches*(batches+1)/2 {
				t.Errorf("emitted %v, want [%d]", out.got, batches*(batches+1)/2)
			}
			for i, v := range inner.seen {
				if v != int64(i+1) {
					t.Fatalf("batch %d processed as %d: out of order", i+1, v)
				}
			}
		})
	}
}

// TestBackgroundCloseReportsUnseenError: a failure nobody was told of, as
// when the run stops elsewhere before Finish, comes back from Close.
func TestBackgroundCloseReportsUnseenError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	inner := summing{failAt: 1, mem: mem}
	st := &background{inner: &inner}
	rec := batch(mem, 1)
	err := st.Process(context.Background(), "in", rec, nil)
	rec.Release()
	if err != nil {
		t.Fatalf("the first batch is queued before it fails: %v", err)
	}
	if err := st.Close(context.Background()); err == nil || err.Error() != "boom" {
		t.Errorf("close: %v, want boom", err)
	}
}
