package affinity

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/engine"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
)

// collect keeps the last emitted batch.
type collect struct {
	enginetest.Unused
	rec arrow.Record
}

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

// newTestStage builds the stage for a job whose affinity section is
// settings.
func newTestStage(t *testing.T, mem memory.Allocator, settings string) *stage {
	t.Helper()
	j, err := config.Decode([]byte("name: t\ninput: {orders: {path: o.csv}, order_items: {path: i.csv}}\naffinity: {"+settings+"}\n"), t.TempDir(), []config.Section{night.InputSection, Section})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "t", "2026-11-22", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(context.Background(), rc)
	if err != nil {
		t.Fatal(err)
	}
	return st.(*stage)
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
	st := newTestStage(t, mem, "min_pair_orders: 1, top_k: 100000, max_pairs: 1000")
	rc := st.rc
	s := st

	const orders = 20_000
	rng := rand.New(rand.NewPCG(7, 7))
	used := usedSet{}
	s.used = used
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
	if err := s.Process(ctx, schemas.RawItems, irec, nil); err != nil {
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

// tables keeps every emitted batch by table.
type tables map[string][]arrow.Record

func (tables) Provide(string, any) error                     { return engine.ErrGraph }
func (tables) Need(string) (any, error)                      { return nil, engine.ErrNotProvided }
func (tables) Create(string, string) (io.WriteCloser, error) { return nil, engine.ErrGraph }

func (ts tables) Emit(_ context.Context, table string, rec arrow.Record) error {
	rec.Retain()
	ts[table] = append(ts[table], rec)
	return nil
}

func (ts tables) release() {
	for _, recs := range ts {
		for _, r := range recs {
			r.Release()
		}
	}
}

// TestItemTextChecks: blanks around an item's order_id or SKU are trimmed
// (and counted), so " A1" is the product A1 and "O1 " finds order O1; an
// order_id or SKU that is not UTF-8 is quarantined as invalid_utf8 with the
// bytes spelled out, never written to product_affinity.
func TestItemTextChecks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st := newTestStage(t, mem, "min_pair_orders: 1")
	rc := st.rc
	st.used = usedSet{"O1": false, "O2": false}
	items := [][2]string{
		{"O1", "A1"}, {"O1 ", " B1"}, {"O2", "A1 "}, {" O2", "B1"},
		{"O1", "C\xff\xfe"}, {"O2\xff", "A1"},
	}
	rec := itemBatch(mem, items)
	defer rec.Release()
	out := tables{}
	defer out.release()
	ctx := context.Background()
	if err := st.Process(ctx, schemas.RawItems, rec, out); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, out); err != nil {
		t.Fatal(err)
	}
	pairs := out[schemas.ProductAffinity.Name]
	if len(pairs) != 1 || pairs[0].NumRows() != 1 {
		t.Fatalf("product_affinity: %v, want the one pair A1-B1", pairs)
	}
	pa := pairs[0]
	if a, c, n := pa.Column(1).(*array.String).Value(0), pa.Column(2).(*array.String).Value(0), pa.Column(3).(*array.Int64).Value(0); a != "A1" || c != "B1" || n != 2 {
		t.Errorf("pair %q-%q in %d orders, want A1-B1 in 2", a, c, n)
	}
	q := out[schemas.Quarantine.Name]
	if len(q) != 1 || q[0].NumRows() != 2 {
		t.Fatalf("quarantined items: %v, want 2 rows", q)
	}
	qi := schemas.Quarantine.MustIndex
	var got []string
	for i := 0; i < 2; i++ {
		got = append(got, q[0].Column(qi("reason")).(*array.String).Value(i)+" "+
			q[0].Column(qi("source_table")).(*array.String).Value(i)+" "+
			q[0].Column(qi("order_id")).(*array.String).Value(i)+" "+
			q[0].Column(qi("sku")).(*array.String).Value(i))
	}
	want := []string{`invalid_utf8 order_items O1 C\xff\xfe`, `invalid_utf8 order_items O2\xff A1`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("quarantined %q, want %q", got, want)
	}
	if rc.Items.Quarantined[ReasonInvalidUTF8] != 2 || rc.Items.Used != 4 ||
		rc.Items.Trimmed["order_id"] != 2 || rc.Items.Trimmed["sku"] != 2 {
		t.Errorf("item accounting %+v", rc.Items)
	}
}

// TestWarehouseQuarantineIgnoresArrival feeds the same item rows of a
// warehouse table (no row positions) in two arrival orders and batch
// splits, as parallel read streams deliver them on two runs of a night,
// and finds the quarantine rows identical and sorted by their values, so
// a rerun writes the same bytes.
func TestWarehouseQuarantineIgnoresArrival(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	items := [][2]string{
		{"O1", "A1"}, {"", "B1"}, {"O2", ""}, {"null", "C1"}, {"O1", "B1"},
		{"O3", "null"}, {"  ", "A1"}, {"O2", "A1"}, {"null", "null"}, {"O2\xff", "A1"},
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "sku", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	run := func(batches [][][2]string) []string {
		st := newTestStage(t, mem, "min_pair_orders: 1")
		rc := st.rc
		defer st.Close(context.Background())
		st.used = usedSet{"O1": false, "O2": false}
		out := tables{}
		defer out.release()
		ctx := context.Background()
		for _, part := range batches {
			b := array.NewRecordBuilder(mem, sc)
			for _, it := range part {
				for c, v := range it {
					if v == "null" {
						b.Field(c).AppendNull()
					} else {
						b.Field(c).(*array.StringBuilder).Append(v)
					}
				}
			}
			raw := b.NewRecord()
			b.Release()
			rec := input.Tag(raw, "bigquery://shop.sales.items", input.NoRow)
			raw.Release()
			err := st.Process(ctx, schemas.RawItems, rec, out)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Finish(ctx, out); err != nil {
			t.Fatal(err)
		}
		if n := rc.Items.TotalQuarantined(); n != 7 {
			t.Errorf("%d items quarantined, want 7", n)
		}
		var rows []string
		for _, q := range out[schemas.Quarantine.Name] {
			for i := range int(q.NumRows()) {
				var cells []string
				for c := range int(q.NumCols()) {
					cells = append(cells, q.Column(c).ValueStr(i))
				}
				rows = append(rows, strings.Join(cells, "|"))
			}
		}
		return rows
	}
	reversed := slices.Clone(items)
	slices.Reverse(reversed)
	first := run([][][2]string{items[:4], items[4:]})
	second := run([][][2]string{reversed[:7], reversed[7:]})
	want := []string{
		"2026-11-22|missing_order_id|bigquery://shop.sales.items|(null)|(null)|(null)|(null)|(null)|(null)|order_items|(null)",
		"2026-11-22|missing_order_id|bigquery://shop.sales.items|(null)|(null)|(null)|(null)|(null)|(null)|order_items|C1",
		"2026-11-22|missing_order_id|bigquery://shop.sales.items|(null)||(null)|(null)|(null)|(null)|order_items|B1",
		"2026-11-22|missing_order_id|bigquery://shop.sales.items|(null)|  |(null)|(null)|(null)|(null)|order_items|A1",
		"2026-11-22|missing_sku|bigquery://shop.sales.items|(null)|O2|(null)|(null)|(null)|(null)|order_items|",
		`2026-11-22|invalid_utf8|bigquery://shop.sales.items|(null)|O2\xff|(null)|(null)|(null)|(null)|order_items|A1`,
		"2026-11-22|missing_sku|bigquery://shop.sales.items|(null)|O3|(null)|(null)|(null)|(null)|order_items|(null)",
	}
	if !slices.Equal(first, second) {
		t.Errorf("quarantine differs with the arrival order:\n%q\n%q", first, second)
	}
	if !slices.Equal(first, want) {
		t.Errorf("quarantine\n got %q\nwant %q", first, want)
	}
}

// TestAggregatesEqualItems runs the same used orders through the stage
// twice: once every item as a row, once with some orders' items given as
// the counts a warehouse made of them (input.ItemCounts, ItemProducts,
// ItemPairs) beside the other orders' rows, and finds the same
// product_affinity and item accounting.
func TestAggregatesEqualItems(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	baskets := map[string][]string{
		"O1": {"A", "B", "C"}, "O2": {"A", "B"}, "O3": {"B", "C", "C"}, "O4": {"A", "C"},
		"O5": {"A", "B", "D"}, "O6": {"D", "A"}, "O7": {"B", "A"}, "O8": {"C"},
	}
	folded := []string{"O1", "O3", "O5", "O6"} // counted in the warehouse
	order := []string{"O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8"}
	itemSchema := arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String}, {Name: "sku", Type: arrow.BinaryTypes.String}}, nil)
	run := func(aggregated []string) (string, night.Accounting) {
		st := newTestStage(t, mem, "min_pair_orders: 2, top_k: 2")
		rc := st.rc
		defer st.Close(context.Background())
		used := usedSet{}
		for _, o := range order {
			used[o] = false
		}
		st.used = used
		ctx := context.Background()
		out := tables{}
		defer out.release()
		emit := func(rec arrow.Record) {
			t.Helper()
			defer rec.Release()
			if err := st.Process(ctx, schemas.RawItems, rec, out); err != nil {
				t.Fatal(err)
			}
		}
		ib := array.NewRecordBuilder(mem, itemSchema)
		defer ib.Release()
		products, pairs := map[string]int64{}, map[[2]string]int64{}
		var rows, nBaskets int64
		for _, o := range order {
			if !slices.Contains(aggregated, o) {
				for _, p := range baskets[o] {
					ib.Field(0).(*array.StringBuilder).Append(o)
					ib.Field(1).(*array.StringBuilder).Append(p)
				}
				continue
			}
			rows += int64(len(baskets[o]))
			nBaskets++
			distinct := slices.Compact(slices.Sorted(slices.Values(baskets[o])))
			for i, a := range distinct {
				products[a]++
				for _, b := range distinct[i+1:] {
					pairs[[2]string{a, b}]++
				}
			}
		}
		emit(ib.NewRecord())
		if len(aggregated) > 0 {
			cb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
				{Name: "total", Type: arrow.PrimitiveTypes.Int64}, {Name: "folded", Type: arrow.PrimitiveTypes.Int64}, {Name: "used", Type: arrow.PrimitiveTypes.Int64},
				{Name: "trimmed_order_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "trimmed_sku", Type: arrow.PrimitiveTypes.Int64}, {Name: "baskets", Type: arrow.PrimitiveTypes.Int64}}, nil))
			for i, v := range []int64{rows + 10, rows, rows, 0, 0, nBaskets} {
				cb.Field(i).(*array.Int64Builder).Append(v)
			}
			counts := cb.NewRecord()
			cb.Release()
			emit(input.TagAggregate(counts, input.ItemCounts))
			counts.Release()
			pb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "sku", Type: arrow.BinaryTypes.String}, {Name: "orders", Type: arrow.PrimitiveTypes.Int64}}, nil))
			for _, p := range slices.Sorted(maps.Keys(products)) {
				pb.Field(0).(*array.StringBuilder).Append(p)
				pb.Field(1).(*array.Int64Builder).Append(products[p])
			}
			prods := pb.NewRecord()
			pb.Release()
			emit(input.TagAggregate(prods, input.ItemProducts))
			prods.Release()
			qb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "sku_a", Type: arrow.BinaryTypes.String}, {Name: "sku_b", Type: arrow.BinaryTypes.String}, {Name: "pair_orders", Type: arrow.PrimitiveTypes.Int64}}, nil))
			for k, n := range pairs {
				qb.Field(0).(*array.StringBuilder).Append(k[0])
				qb.Field(1).(*array.StringBuilder).Append(k[1])
				qb.Field(2).(*array.Int64Builder).Append(n)
			}
			prs := qb.NewRecord()
			qb.Release()
			emit(input.TagAggregate(prs, input.ItemPairs))
			prs.Release()
		}
		if err := st.Finish(ctx, out); err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, rec := range out[schemas.ProductAffinity.Name] {
			for i := range int(rec.NumRows()) {
				var cells []string
				for c := range int(rec.NumCols()) {
					cells = append(cells, rec.Column(c).ValueStr(i))
				}
				text = append(text, strings.Join(cells, "|"))
			}
		}
		return strings.Join(text, "\n"), *rc.Items
	}
	local, localItems := run(nil)
	mixed, mixedItems := run(folded)
	if local != mixed {
		t.Errorf("product_affinity from items:\n%s\nwith warehouse counts:\n%s", local, mixed)
	}
	// Read is the reader's; the rest is accounted here.
	if localItems.Used != 18 || mixedItems.Used != localItems.Used || fmt.Sprint(mixedItems.Excluded) != fmt.Sprint(localItems.Excluded) {
		t.Errorf("items: local %+v, with counts %+v", localItems, mixedItems)
	}
	// A and B share O1, O2, O5, O7 (4 of 8 orders; A in 6, B in 5).
	if !strings.Contains(local, "|A|B|4|6|5|0.5|") {
		t.Errorf("product_affinity:\n%s", local)
	}
}
