package validate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/input"
	"retain/stages/internal/stagetest"
	"retain/stages/validate"
)

// placed is a batch of raw rows and where it says it comes from.
type placed struct {
	rec      arrow.Record
	file     string
	firstRow int64
}

// runValidate runs the stage over batches in the order given and returns
// its tables' lines in the order emitted, and the row accounting.
func runValidate(t *testing.T, mem memory.Allocator, batches []placed) (map[string][]string, string) {
	t.Helper()
	st, rc := newValidator(t, mem, t.TempDir(), ordersJob)
	ctx := context.Background()
	defer st.Close(ctx)
	out := &textOut{named: true}
	for _, b := range batches {
		md := arrow.NewMetadata([]string{input.MetaSourceFile, input.MetaFirstRow}, []string{b.file, fmt.Sprint(b.firstRow)})
		rec := array.NewRecord(arrow.NewSchema(b.rec.Schema().Fields(), &md), b.rec.Columns(), b.rec.NumRows())
		err := st.Process(ctx, schemas.RawOrders, rec, out)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Finish(ctx, out); err != nil {
		t.Fatal(err)
	}
	acct, err := json.Marshal(rc.Rows)
	if err != nil {
		t.Fatal(err)
	}
	return out.lines(), string(acct)
}

// without drops the cells of the named columns from lines and sorts them:
// the rows of a table as a set.
func without(lines []string, columns ...string) []string {
	var out []string
	for _, l := range lines {
		var keep []string
		for _, c := range strings.Split(l, ",") {
			name, _, _ := strings.Cut(c, "=")
			if !slices.Contains(columns, name) {
				keep = append(keep, c)
			}
		}
		out = append(out, strings.Join(keep, ","))
	}
	slices.Sort(out)
	return out
}

// TestDuplicatesIgnoreInputOrder runs the rows of testdata/duplicate_ties
// (ties of every kind, a refund of a winner) and of testdata/refunds one
// row per batch, in shuffled orders and spread over up to three files:
// the used orders and the refunds are the same set every time, and so is
// quarantine but for source_file and source_row, and the accounting is
// the same. Read from BigQuery, whose rows have no position, every table
// that is sorted comes out identical line for line: quarantine too.
func TestDuplicatesIgnoreInputOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var recs []arrow.Record
	for _, c := range []string{"duplicate_ties", "refunds"} {
		r, err := stagetest.ReadCSV("testdata/"+c+"/in/orders_raw.csv", rawOf(), 1, mem)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r...)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	// The rows of the two cases share no order id, so their flags hold
	// for the whole input.
	inFile := func(order []int, files int, rng *rand.Rand) []placed {
		next := map[string]int64{}
		var out []placed
		for _, i := range order {
			f := fmt.Sprintf("orders-%d.csv", rng.IntN(files))
			next[f]++
			out = append(out, placed{recs[i], f, next[f]})
		}
		return out
	}
	fromBigQuery := func(order []int) []placed {
		var out []placed
		for _, i := range order {
			out = append(out, placed{recs[i], "bigquery://p.d.orders", input.NoRow})
		}
		return out
	}
	identity := make([]int, len(recs))
	for i := range identity {
		identity[i] = i
	}
	rng := rand.New(rand.NewPCG(3, 4))
	want, wantAcct := runValidate(t, mem, inFile(identity, 1, rng))
	wantBQ, wantBQAcct := runValidate(t, mem, fromBigQuery(identity))
	if wantBQAcct != wantAcct {
		t.Errorf("accounting read from BigQuery %s, from a file %s", wantBQAcct, wantAcct)
	}
	for _, l := range wantBQ[schemas.Quarantine.Name] {
		if !strings.Contains(l, "source_row=null") {
			t.Errorf("a BigQuery row has a position: %s", l)
		}
	}
	sets := map[string][]string{
		schemas.Orders.Name:     nil,
		schemas.Refunds.Name:    nil,
		schemas.Quarantine.Name: {"source_file", "source_row"},
	}
	for k := range 30 {
		order := slices.Clone(identity)
		if k == 0 {
			slices.Reverse(order)
		} else {
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		got, acct := runValidate(t, mem, inFile(order, 1+k%3, rng))
		if acct != wantAcct {
			t.Errorf("order %v: accounting %s, want %s", order, acct, wantAcct)
		}
		for table, drop := range sets {
			if g, w := without(got[table], drop...), without(want[table], drop...); !slices.Equal(g, w) {
				t.Errorf("order %v: %s\n%s\nwant\n%s", order, table, strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		}
		gotBQ, _ := runValidate(t, mem, fromBigQuery(order))
		if g, w := gotBQ[schemas.Quarantine.Name], wantBQ[schemas.Quarantine.Name]; !slices.Equal(g, w) {
			t.Errorf("order %v: BigQuery quarantine\n%s\nwant\n%s", order, strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
		for table := range sets {
			if g, w := without(gotBQ[table]), without(want[table], "source_file", "source_row"); table != schemas.Quarantine.Name && !slices.Equal(g, w) {
				t.Errorf("order %v: BigQuery %s differs from the file's", order, table)
			}
		}
	}
	if n := len(want[schemas.Quarantine.Name]); n != 19 {
		t.Errorf("%d quarantined rows, want 19 (12 of duplicate_ties, 7 of refunds)", n)
	}
}

// TestSharedOrderIDRequired: a batch without the flag column, or with a
// null in it, fails with ErrNoSharedOrderID rather than judge duplicates
// by arrival.
func TestSharedOrderIDRequired(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	withFlag, err := stagetest.ReadCSV("testdata/fates/in/orders_raw.csv", rawOf(), 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer withFlag[0].Release()
	// The batch of the case without its flag column, with a null in it,
	// and with it as text.
	rec := withFlag[0]
	n := int(rec.NumCols())
	bare := array.NewRecord(arrow.NewSchema(rec.Schema().Fields()[:n-1], nil), rec.Columns()[:n-1], rec.NumRows())
	defer bare.Release()
	nb := array.NewBooleanBuilder(mem)
	nb.AppendNull()
	for range rec.NumRows() - 1 {
		nb.Append(false)
	}
	nulls := nb.NewArray()
	nb.Release()
	defer nulls.Release()
	withNull := array.NewRecord(rec.Schema(), append(slices.Clone(rec.Columns()[:n-1]), nulls), rec.NumRows())
	defer withNull.Release()
	textFlag := array.NewRecord(arrow.NewSchema(append(slices.Clone(rec.Schema().Fields()[:n-1]), arrow.Field{Name: input.SharedOrderID, Type: arrow.BinaryTypes.String}), nil),
		append(slices.Clone(rec.Columns()[:n-1]), rec.Column(0)), rec.NumRows())
	defer textFlag.Release()

	for _, tc := range []struct {
		name string
		rec  arrow.Record
		want string
	}{
		{"no column", bare, "no such column"},
		{"a null", withNull, "1 of its 10 values are null"},
		{"not bool", textFlag, "want bool"},
	} {
		t.Run(tc.name, func(t *testing.T) { refused(t, mem, tc.rec, validate.ErrNoSharedOrderID, tc.want) })
	}
}

// refused checks that the stage refuses rec with an error wrapping want
// and saying text, before it counts any row.
func refused(t *testing.T, mem memory.Allocator, rec arrow.Record, want error, text string) {
	t.Helper()
	st, rc := newValidator(t, mem, t.TempDir(), ordersJob)
	ctx := context.Background()
	defer st.Close(ctx)
	err := st.Process(ctx, schemas.RawOrders, rec, &textOut{})
	if !errors.Is(err, want) || !strings.Contains(err.Error(), text) {
		t.Errorf("err = %v, want %v saying %q", err, want, text)
	}
	if rc.Rows.Used != 0 || rc.Rows.TotalQuarantined() != 0 {
		t.Errorf("rows used %d, quarantined %d before the error; want none", rc.Rows.Used, rc.Rows.TotalQuarantined())
	}
}

func TestWarehouseFlagsChecked(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs, err := stagetest.ReadCSV("testdata_warehouse/warehouse_flags/in/orders_raw.csv", flaggedOf(), 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer recs[0].Release()
	rec := recs[0]
	// replaced is rec with its column name swapped for a.
	replaced := func(name string, a arrow.Array) arrow.Record {
		i := rec.Schema().FieldIndices(name)[0]
		fields, cols := slices.Clone(rec.Schema().Fields()), slices.Clone(rec.Columns())
		fields[i], cols[i] = arrow.Field{Name: name, Type: a.DataType(), Nullable: true}, a
		return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	}
	nb := array.NewBooleanBuilder(mem)
	for i := range rec.NumRows() {
		if i == 3 {
			nb.AppendNull()
			continue
		}
		nb.Append(false)
	}
	nulls := nb.NewArray()
	nb.Release()
	defer nulls.Release()
	text := rec.Column(0) // order ids: a text column where a BOOLEAN belongs

	for _, tc := range []struct {
		name string
		rec  arrow.Record
		want string
	}{
		{"lost as text", replaced(input.LostDuplicate, text), input.LostDuplicate + " is utf8, want bool"},
		{"folded as text", replaced(input.FoldedOrder, text), input.FoldedOrder + " is utf8, want bool"},
		{"lost with a null", replaced(input.LostDuplicate, nulls), "1 of the 21 values of " + input.LostDuplicate + " are null"},
		{"folded with a null", replaced(input.FoldedOrder, nulls), "1 of the 21 values of " + input.FoldedOrder + " are null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.rec.Release()
			refused(t, mem, tc.rec, validate.ErrWarehouseFlags, tc.want)
		})
	}
}

// A folded order's id sharing a fingerprint with another used id fails the
// night: the local path would quarantine the later id, but the warehouse
// counted the folded one already.
func TestFoldedFingerprintCollision(t *testing.T) {
	// B7's fingerprint is A1's.
	colliding := func(id string) uint64 {
		if id == "B7" {
			id = "A1"
		}
		return fingerprint.Key(id)
	}
	const csv = `order_id,customer_id,order_ts,amount,currency,country,channel,status,_shared_order_id,_lost_duplicate,_folded_order
B7,b,2026-11-01T09:00:00Z,40,EUR,DE,web,completed,false,false,false
A1,a,2026-11-02T09:00:00Z,100,EUR,DE,web,completed,true,false,true
A1,a,2026-11-04T10:00:00Z,-20,EUR,DE,web,completed,true,false,false
`
	for _, collide := range []bool{true, false} {
		t.Run(fmt.Sprint("collide=", collide), func(t *testing.T) {
			if collide {
				defer validate.SetOrderKey(colliding)()
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "orders_raw.csv")
			if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
				t.Fatal(err)
			}
			recs, err := stagetest.ReadCSV(path, flaggedOf(), 0, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer recs[0].Release()
			st, rc := newValidator(t, mem, t.TempDir(), ordersJob)
			ctx := context.Background()
			defer st.Close(ctx)
			out := &textOut{}
			err = st.Process(ctx, schemas.RawOrders, recs[0], out)
			if err == nil {
				err = st.Finish(ctx, out)
			}
			if !collide {
				// Without the collision: B7 used, A1's refund applied
				// against the folded order, nothing quarantined.
				if err != nil || rc.Rows.Used != 2 || rc.Rows.TotalQuarantined() != 0 {
					t.Fatalf("err %v, rows used %d, quarantined %d; want nil, 2 and 0", err, rc.Rows.Used, rc.Rows.TotalQuarantined())
				}
				return
			}
			if !errors.Is(err, validate.ErrFingerprintCollision) || !strings.Contains(err.Error(), `order id "A1"`) {
				t.Errorf("err = %v, want ErrFingerprintCollision naming A1", err)
			}
		})
	}
}
