package affinity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/job"
	"retain/pipeline"
	"retain/stages/extract"
)

type collect struct{ rec arrow.Record }

// usedSet is a plain OrderLookup over every order of the test.
type usedSet map[string]bool

func (u usedSet) Claim(ids []string, used, claimed []bool) {
	for i, id := range ids {
		c, ok := u[id]
		used[i], claimed[i] = ok, ok && c
		if ok {
			u[id] = true
		}
	}
}

func (c *collect) Emit(_ context.Context, _ string, rec arrow.Record) error {
	rec.Retain()
	c.rec = rec
	return nil
}

// TestPrunedCountsStayWithinBound feeds far more distinct pairs than
// max_pairs allows: the map never outgrows the cap, every reported count is
// within max_undercount of the exact count, and the frequent pairs — the
// ones a bundle is built from — survive with exact counts.
func TestPrunedCountsStayWithinBound(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	j, err := job.Parse([]byte("name: t\ninput: {orders: {path: o.csv}, order_items: {path: i.csv}}\naffinity: {min_pair_orders: 1, top_k: 100000, max_pairs: 1000}\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := pipeline.NewRunContext(j, "t", "2026-11-22", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(rc)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*stage)

	const orders = 20_000
	rng := rand.New(rand.NewPCG(7, 7))
	used := usedSet{}
	rc.UsedOrders = used
	itemSchema := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "sku", Type: arrow.BinaryTypes.String}}, nil)
	ib := array.NewRecordBuilder(mem, itemSchema)
	defer ib.Release()
	exact := map[[2]string]int64{}
	for o := 0; o < orders; o++ {
		id := fmt.Sprintf("O%d", o)
		used[id] = false
		// Every order holds the bundle P1+P2 half of the time, plus two of
		// 400 long-tail products: ~80k possible tail pairs against a cap of 1000.
		basket := []string{fmt.Sprintf("T%03d", rng.IntN(400)), fmt.Sprintf("T%03d", rng.IntN(400))}
		if o%2 == 0 {
			basket = append(basket, "P1", "P2")
		}
		seen := map[string]bool{}
		var distinct []string
		for _, p := range basket {
			ib.Field(0).(*array.StringBuilder).Append(id)
			ib.Field(1).(*array.StringBuilder).Append(p)
			if !seen[p] {
				seen[p] = true
				distinct = append(distinct, p)
			}
		}
		for a := range distinct {
			for b := range distinct {
				if distinct[a] < distinct[b] {
					exact[[2]string{distinct[a], distinct[b]}]++
				}
			}
		}
	}
	irec := ib.NewRecord()
	defer irec.Release()
	ctx := context.Background()
	if err := s.Process(ctx, extract.RawItems, irec, nil); err != nil {
		t.Fatal(err)
	}
	var out collect
	if err := s.Finish(ctx, &out); err != nil {
		t.Fatal(err)
	}
	defer out.rec.Release()
	if s.pairs.n > 1000 {
		t.Errorf("pair table holds %d pairs, cap 1000", s.pairs.n)
	}
	if s.baskets != orders || rc.Items.Used != irec.NumRows() {
		t.Errorf("baskets %d, items used %d", s.baskets, rc.Items.Used)
	}
	a := out.rec.Column(1).(*array.String)
	b := out.rec.Column(2).(*array.String)
	got := out.rec.Column(3).(*array.Int64)
	bound := out.rec.Column(10).(*array.Int64)
	if out.rec.NumRows() == 0 || s.floor == 0 {
		t.Fatalf("%d rows, floor %d: the cap was never hit", out.rec.NumRows(), s.floor)
	}
	found := false
	for i := 0; i < int(out.rec.NumRows()); i++ {
		want := exact[[2]string{a.Value(i), b.Value(i)}]
		if g := got.Value(i); g > want || g < want-bound.Value(i) {
			t.Errorf("%s-%s: %d orders, exact %d, bound %d", a.Value(i), b.Value(i), g, want, bound.Value(i))
		}
		if a.Value(i) == "P1" && b.Value(i) == "P2" {
			found = true
			if got.Value(i) != orders/2 || bound.Value(i) != 0 {
				t.Errorf("P1-P2: %d orders (bound %d), want exactly %d", got.Value(i), bound.Value(i), orders/2)
			}
		}
	}
	if !found {
		t.Error("the frequent pair P1-P2 was pruned")
	}
}
