package affinity

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/schemas"
	"retain/stages/internal/input"
)

// panicLookup is an OrderLookup that panics, as a bug in the counting would.
type panicLookup struct{}

func (panicLookup) Claim([]string, []bool, []bool) { panic("claim failed") }

// itemBatch is a batch of (order_id, sku) rows.
func itemBatch(mem memory.Allocator, rows [][2]string) arrow.Record {
	sc := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "sku", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r[0])
		b.Field(1).(*array.StringBuilder).Append(r[1])
	}
	return b.NewRecord()
}

// TestCounterPanicIsAnError: a panic on the counting goroutine fails the
// run with a reason instead of ending the process, and the batches queued
// behind it are released.
func TestCounterPanicIsAnError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := newTestStage(t, mem, "min_pair_orders: 1")
	s.used = panicLookup{}
	// open_orders baskets stay open; more orders than that close some,
	// and a full flush of them reaches Claim.
	var rows [][2]string
	for o := range s.cfg.OpenOrders + flushBaskets + 1 {
		rows = append(rows, [2]string{"O" + strconv.Itoa(o), "A"})
	}
	var err error
	for range 4 {
		rec := itemBatch(mem, rows)
		if err == nil {
			err = s.Process(context.Background(), schemas.RawItems, rec, nil)
		}
		rec.Release()
	}
	var out collect
	if err == nil {
		err = s.Finish(context.Background(), &out)
	}
	if err == nil || !strings.Contains(err.Error(), "product pair counter panicked: claim failed") {
		t.Fatalf("want the counter's panic as an error, got %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close after the error: %v", err)
	}
	if out.rec != nil {
		out.rec.Release()
		t.Error("a failed count emitted product_affinity")
	}
}

// TestCounterErrorReachesTheRunner: a warehouse batch the counter refuses
// fails the run through Process or Finish, never silently.
func TestCounterErrorReachesTheRunner(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := newTestStage(t, mem, "min_pair_orders: 1")
	s.used = usedSet{}
	sc := arrow.NewSchema([]arrow.Field{{Name: "sku_a", Type: arrow.BinaryTypes.String}, {Name: "sku_b", Type: arrow.BinaryTypes.String}, {Name: "pair_orders", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, sc)
	b.Field(0).(*array.StringBuilder).Append("A")
	b.Field(1).(*array.StringBuilder).Append("A")
	b.Field(2).(*array.Int64Builder).Append(3)
	raw := b.NewRecord()
	b.Release()
	rec := input.TagAggregate(raw, input.ItemPairs)
	raw.Release()
	err := s.Process(context.Background(), schemas.RawItems, rec, nil)
	rec.Release()
	var out collect
	if err == nil {
		err = s.Finish(context.Background(), &out)
	}
	if !errors.Is(err, ErrAggregate) {
		t.Fatalf("want ErrAggregate, got %v", err)
	}
	s.Close(context.Background())
	if out.rec != nil {
		out.rec.Release()
	}
}
