package customersummary

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/exactsum"
	"retain/stages/internal/localday"
	"retain/stages/internal/periods"
	"retain/stages/internal/recovered"
)

// countingOut counts the rows of each customer_periods batch, checks the
// customers come in id order, and fails the batch numbered failAt (from
// 1; 0 never).
type countingOut struct {
	enginetest.Unused
	failAt  int
	batches []int64
	lastID  string
	ordered bool
}

var errRefused = errors.New("refused")

func (o *countingOut) Emit(_ context.Context, table string, rec arrow.Record) error {
	if table != schemas.CustomerPeriods.Name {
		return nil
	}
	o.batches = append(o.batches, rec.NumRows())
	if len(o.batches) == o.failAt {
		return errRefused
	}
	ids := rec.Column(0).(*array.String)
	for i := range ids.Len() {
		if ids.Value(i) < o.lastID {
			o.ordered = false
		}
		o.lastID = ids.Value(i)
	}
	return nil
}

// TestFinishPipelinesPeriods runs Finish over more customers than the
// cells' batch buffers hold: the batches arrive whole and in id order, and
// an emitter failing on one stops the cutting goroutine.
func TestFinishPipelinesPeriods(t *testing.T) {
	const n = (periodBuffers + 2) * BatchRows
	for _, failAt := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("fail_at=", failAt), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			j, err := config.Decode([]byte("name: t\ninput: {orders: {path: orders.csv}}\n"), t.TempDir(), append([]config.Section{night.InputSection}, periods.Sections...))
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "t", "2026-11-22", mem, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			s := &stage{rc: rc, runDay: localday.RunDate(rc)}
			s.start()
			s.stop(false)
			for i := range n {
				// Two purchase days each, so two cells a customer.
				id := fmt.Sprintf("c%07d", i)
				for _, day := range []int32{19_000, 19_500} {
					o := order{customer: id, day: day, orders: 1, amount: exactsum.Of(1)}
					o.hash = maphash.String(s.seed, id)
					s.parts[owner(o.hash)].add(o)
				}
			}
			before := runtime.NumGoroutine()
			out := &countingOut{failAt: failAt, ordered: true}
			err = s.Finish(context.Background(), out)
			switch {
			case failAt == 0 && err != nil:
				t.Fatal(err)
			case failAt > 0 && !errors.Is(err, errRefused):
				t.Fatalf("err = %v, want the emitter's", err)
			}
			want := int(2 * n / BatchRows)
			if failAt > 0 {
				want = failAt
			}
			if !out.ordered {
				t.Error("customer_periods not in customer id order")
			}
			if !slices.Equal(out.batches, slices.Repeat([]int64{BatchRows}, want)) {
				t.Errorf("batches of %v rows, want %d of %d", out.batches, want, BatchRows)
			}
			// The cutting goroutine has ended.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if g := runtime.NumGoroutine(); g > before {
				t.Errorf("%d goroutines after Finish, %d before", g, before)
			}
		})
	}
}

// A panic while cutting fails the night with an error, not the process,
// and the cells emitted until then are not taken for the whole table.
func TestCutterPanicIsAnError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := &stage{parts: []*customers{newCustomers(maphash.MakeSeed())}}
	c := s.startCutting(periods.Grid{}, []slot{{part: 1}}) // no such worker
	rows, err := emitPeriods(context.Background(), mem, c, &countingOut{})
	var p *recovered.Panic
	if stopErr := c.stop(); rows != 0 || err != nil || !errors.As(stopErr, &p) {
		t.Fatalf("rows %d, emit error %v, cutter error %v; want 0, nil and a recovered panic", rows, err, stopErr)
	}
}

// A panic while folding, on a worker's goroutine, fails the night with an
// error at Finish, not the process.
func TestFoldPanicIsAnError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := &stage{}
	s.start()
	// A batch of the wrong shape: its one column is not customer_id's.
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil))
	b.Field(0).(*array.Int64Builder).Append(1)
	rec := b.NewRecord()
	b.Release()
	if err := s.Process(context.Background(), schemas.Orders.Name, rec, nil); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	err := s.Finish(context.Background(), &countingOut{})
	var p *recovered.Panic
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "the customer fold panicked") {
		t.Fatalf("Finish: %v; want the fold's recovered panic", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Error(err)
	}
}
