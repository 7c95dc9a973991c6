package validate_test

import (
	"context"
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
	"retain/stages/internal/input"
	"retain/stages/internal/stagetest"
	"retain/stages/validate"
)

// TestRefundsIgnoreInputOrder runs testdata/refunds' rows in shuffled
// orders, one row per batch, so refunds come before and after their orders
// and in every order among themselves: which refunds apply and which are
// quarantined, for what reason, and the refunds table must not change
// (orders compared as sets, since their rows follow the input; quarantined
// rows too, without their position). The duplicate A1 is in: its two rows
// are equal, so either winning gives the same tables.
func TestRefundsIgnoreInputOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	all, err := stagetest.ReadCSV("testdata/refunds/in/orders_raw.csv", rawOf(), 1, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range all {
			r.Release()
		}
	}()
	recs := all
	dir := t.TempDir()
	run := func(order []int) map[string][]string {
		st, rc := newValidator(t, mem, dir, ordersJob)
		ctx := context.Background()
		defer st.Close(ctx)
		// Where a row sat in the input is all a shuffle may change.
		out := &textOut{skip: []string{"source_row", "source_file"}}
		for n, i := range order {
			md := arrow.NewMetadata([]string{input.MetaSourceFile, input.MetaFirstRow}, []string{"orders.csv", fmt.Sprint(n + 1)})
			rec := array.NewRecord(arrow.NewSchema(recs[i].Schema().Fields(), &md), recs[i].Columns(), recs[i].NumRows())
			err := st.Process(ctx, schemas.RawOrders, rec, out)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Finish(ctx, out); err != nil {
			t.Fatal(err)
		}
		lines := out.lines()
		for _, table := range []string{schemas.Orders.Name, schemas.Quarantine.Name, schemas.Refunds.Name} {
			slices.Sort(lines[table])
		}
		if rc.Rows.Used != 11 || rc.Rows.RefundsUsed != 6 {
			t.Errorf("order %v: used %d, refunds used %d; want 11 and 6", order, rc.Rows.Used, rc.Rows.RefundsUsed)
		}
		return lines
	}
	identity := make([]int, len(recs))
	for i := range identity {
		identity[i] = i
	}
	want := run(identity)
	if len(want[schemas.Refunds.Name]) != 5 || len(want[schemas.Quarantine.Name]) != 7 {
		t.Fatalf("refunds %v, quarantine %v; want 5 and 7 rows", want[schemas.Refunds.Name], want[schemas.Quarantine.Name])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 20; k++ {
		order := slices.Clone(identity)
		if k == 0 {
			slices.Reverse(order)
		} else {
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		got := run(order)
		for _, table := range []string{schemas.Orders.Name, schemas.Quarantine.Name, schemas.Refunds.Name} {
			if !slices.Equal(got[table], want[table]) {
				t.Errorf("order %v: %s\n%s\nwant\n%s", order, table, strings.Join(got[table], "\n"), strings.Join(want[table], "\n"))
			}
		}
	}
}

// TestRefundOfUnflaggedOrder: refunds are checked only against orders
// whose rows the source flagged as sharing their id, so a refund of an
// order whose row came unflagged fails the run, naming the id, instead of
// being quarantined as if the order were missing.
func TestRefundOfUnflaggedOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		name                  string
		orderFlag, refundFlag string
		wantErr               bool
	}{
		{"both flagged", "true", "true", false},
		{"order unflagged", "false", "true", true},
		{"neither flagged", "false", "false", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "orders_raw.csv")
			csv := "order_id,customer_id,order_ts,amount,currency,country,channel,status,_shared_order_id\n" +
				"A1,a,2026-11-02T09:00:00Z,100,EUR,DE,web,completed," + tc.orderFlag + "\n" +
				"A1,a,2026-11-03T09:00:00Z,-20,EUR,DE,web,completed," + tc.refundFlag + "\n"
			if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
				t.Fatal(err)
			}
			recs, err := stagetest.ReadCSV(path, rawOf(), 0, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			st, rc := newValidator(t, mem, dir, ordersJob)
			ctx := context.Background()
			defer st.Close(ctx)
			out := &textOut{}
			for _, r := range recs {
				if err := st.Process(ctx, schemas.RawOrders, r, out); err != nil {
					t.Fatal(err)
				}
			}
			err = st.Finish(ctx, out)
			switch {
			case tc.wantErr && (!errors.Is(err, validate.ErrUnflaggedRefundedOrder) || !strings.Contains(err.Error(), `"A1"`)):
				t.Errorf("err = %v, want ErrUnflaggedRefundedOrder naming A1", err)
			case !tc.wantErr && err != nil:
				t.Errorf("err = %v", err)
			case !tc.wantErr && (rc.Rows.RefundsUsed != 1 || len(out.lines()[schemas.Refunds.Name]) != 1):
				t.Errorf("refunds used %d, rows %v; want the refund applied", rc.Rows.RefundsUsed, out.lines()[schemas.Refunds.Name])
			}
		})
	}
}
