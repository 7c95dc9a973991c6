package pipeline

import (
	"context"
	"errors"
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

type captured struct{ got []int64 }

func (c *captured) Emit(_ context.Context, _ string, rec arrow.Record) error {
	c.got = append(c.got, rec.Column(0).(*array.Int64).Value(0))
	return nil
}

// TestInBackground: batches are processed in order and released, Finish
// sees them all, a Process error surfaces, emitting from Process is refused.
func TestInBackground(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inner   summing
		wantErr bool
		want    []int64
	}{
		{"in order", summing{failAt: -1}, false, []int64{5050}},
		{"process fails", summing{failAt: 40}, true, nil},
		{"emits from process", summing{failAt: -1, emit: true}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			inner := tc.inner
			inner.mem = mem
			st := InBackground(&inner)
			ctx := context.Background()
			var err error
			for v := int64(1); v <= 100 && err == nil; v++ {
				rec := batch(mem, v)
				err = st.Process(ctx, "in", rec, nil)
				rec.Release()
			}
			var out captured
			if err == nil {
				err = st.Finish(ctx, &out)
			}
			if cerr := st.Close(); cerr != nil && !tc.wantErr {
				t.Errorf("close: %v", cerr)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if inner.emit && !errors.Is(err, ErrEmitInBackground) {
				t.Errorf("err = %v, want ErrEmitInBackground", err)
			}
			if !tc.wantErr {
				if len(out.got) != 1 || out.got[0] != tc.want[0] {
					t.Errorf("emitted %v, want %v", out.got, tc.want)
				}
				for i, v := range inner.seen {
					if v != int64(i+1) {
						t.Fatalf("batch %d processed as %d: out of order", i+1, v)
					}
				}
			}
		})
	}
}
