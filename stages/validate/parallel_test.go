package validate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/schemas"
	"retain/stages/internal/input"
	"retain/stages/validate"
)

// shopRow is a raw order row as text; a nil field is null.
type shopRow struct {
	cells  [8]*string // order_id, customer_id, order_ts, amount, currency, country, channel, status
	shared bool
}

// messyShop is a shop of every kind of row validation tells apart:
// counted, cancelled and refunded orders in five currencies (one without
// rates), padded ids, order ids shared by two or three rows (ties
// included), partial refunds that fit, exceed or name no order, rows after
// the run date and rows failing each check. The flags are right for the
// whole shop but for a few ids that two rows share unflagged, a source
// breaking the contract, whose later row is a duplicate by arrival.
func messyShop(rng *rand.Rand) (rows []shopRow, unflagged map[string]bool) {
	s := func(v string) *string { return &v }
	currencies := []string{"EUR", "USD", "gbp ", "JPY", "XXX"}
	countries := []string{"DE", "FR", "US", "J\xffP"}
	statuses := []string{"completed", "completed", "completed", "cancelled", "refunded", " Completed"}
	unflagged = map[string]bool{}
	order := func(id, cust string, day int, amount string) shopRow {
		var r shopRow
		r.cells = [8]*string{s(id), s(cust), s(fmt.Sprintf("2026-%02d-%02d %02d:%02d:00", 1+day/28%11, 1+day%28, rng.IntN(24), rng.IntN(60))), s(amount),
			s(currencies[rng.IntN(len(currencies))]), s(countries[rng.IntN(len(countries))]), s([]string{"web", "app"}[rng.IntN(2)]), s(statuses[rng.IntN(len(statuses))])}
		if rng.IntN(10) == 0 {
			r.cells[4] = nil
		}
		if rng.IntN(10) == 0 {
			r.cells[6] = nil
		}
		return r
	}
	for i := range 3000 {
		id, cust := fmt.Sprintf("o%05d", i), fmt.Sprintf("c%03d", rng.IntN(300))
		if i%17 == 0 {
			id = " " + id + "\t"
		}
		r := order(id, cust, rng.IntN(300), fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100)))
		rows = append(rows, r)
		switch {
		case i%23 == 0: // a second and third row of the id, one a tie
			for range 2 {
				d := r
				d.cells[2] = s(*r.cells[2])
				if rng.IntN(2) == 0 {
					d.cells[3] = s(fmt.Sprintf("%d", rng.IntN(500)))
				}
				rows = append(rows, d)
			}
		case i%7 == 0: // partial refunds: one fits, one may exceed
			for _, share := range []float64{0.3, 0.9} {
				f := r
				f.cells[2] = s("2026-11-20 10:00:00")
				var amt float64
				fmt.Sscan(*r.cells[3], &amt)
				f.cells[3] = s(fmt.Sprintf("-%.2f", amt*share))
				rows = append(rows, f)
			}
		case i%31 == 0: // a refund of no order, and a row after the run date
			f := order(fmt.Sprintf("gone%d", i), cust, 100, "-5")
			rows = append(rows, f, order(fmt.Sprintf("late%d", i), cust, 0, "9"))
			rows[len(rows)-1].cells[2] = s("2026-12-01 00:00:00")
		case i%41 == 0: // one failing check of each kind
			bad := order(fmt.Sprintf("bad%d", i), cust, 10, "12")
			switch k := i / 41 % 8; k {
			case 0:
				bad.cells[0] = nil
			case 1:
				bad.cells[1] = s("  ")
			case 2:
				bad.cells[1] = s("c\xfe")
			case 3:
				bad.cells[2] = s("yesterday")
			case 4:
				bad.cells[2] = nil
			case 5:
				bad.cells[3] = s("1,000")
			case 6:
				bad.cells[3] = s("1e13")
			case 7:
				bad.cells[2] = s("1970-01-01")
			}
			rows = append(rows, bad)
		case i%97 == 0: // the id again, flagged as nobody else's
			rows = append(rows, order(id, cust, 50, "3"))
			unflagged[strings.TrimSpace(id)] = true
		}
	}
	count := map[string]int{}
	for _, r := range rows {
		if r.cells[0] != nil {
			count[strings.TrimSpace(*r.cells[0])]++
		}
	}
	for i := range rows {
		if c := rows[i].cells[0]; c != nil {
			id := strings.TrimSpace(*c)
			rows[i].shared = count[id] > 1 && !unflagged[id]
		}
	}
	return rows, unflagged
}

// batchesOf builds raw batches of rows in their order, of random sizes,
// spread over two files.
func batchesOf(mem memory.Allocator, rows []shopRow, rng *rand.Rand) []arrow.Record {
	var recs []arrow.Record
	next := map[string]int64{"a.csv": 1, "b.csv": 1}
	for len(rows) > 0 {
		n := min(len(rows), 1+rng.IntN(400))
		file := []string{"a.csv", "b.csv"}[rng.IntN(2)]
		b := array.NewRecordBuilder(mem, rawOf())
		for _, r := range rows[:n] {
			for k, c := range r.cells {
				if c == nil {
					b.Field(k).AppendNull()
				} else {
					b.Field(k).(*array.StringBuilder).Append(*c)
				}
			}
			b.Field(8).(*array.BooleanBuilder).Append(r.shared)
		}
		raw := b.NewRecord()
		b.Release()
		recs = append(recs, input.Tag(raw, file, next[file]))
		raw.Release()
		next[file] += int64(n)
		rows = rows[n:]
	}
	return recs
}

// TestWorkersSameTables runs a shuffled messy shop through the stage with
// one, two and three workers checking batches, under GOMAXPROCS 1 and 2:
// every emitted batch, in order, and the row accounting are the same.
func TestWorkersSameTables(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	rates := "date,currency,rate_to_reporting\n2025-12-01,USD,0.9\n2026-03-01,USD,0.95\n2025-12-01,GBP,1.15\n2025-12-01,JPY,0.0061\n"
	if err := os.WriteFile(filepath.Join(dir, "fx_rates.csv"), []byte(rates), 0o644); err != nil {
		t.Fatal(err)
	}
	const job = "name: t\ninput: {orders: {path: orders.csv}, fx_rates: {path: fx_rates.csv}, reporting_currency: EUR}\n"
	rng := rand.New(rand.NewPCG(7, 8))
	rows, unflagged := messyShop(rng)
	rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
	recs := batchesOf(mem, rows, rng)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()

	// The same batches saying how many order ids the input has, which
	// sizes the order-id set up front: a count too small or too large
	// only changes the table's layout.
	hinted := map[int][]arrow.Record{}
	for _, n := range []int{1, 1 << 20} {
		for _, r := range recs {
			hinted[n] = append(hinted[n], input.WithOrderIDs(r, n))
		}
	}
	defer func() {
		for _, rs := range hinted {
			for _, r := range rs {
				r.Release()
			}
		}
	}()

	runOf := func(recs []arrow.Record, workers, procs int) ([]string, string) {
		defer validate.SetWorkers(workers)()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		st, rc := newValidator(t, mem, dir, job)
		ctx := context.Background()
		defer st.Close(ctx)
		out := &textOut{}
		for _, r := range recs {
			if err := st.Process(ctx, schemas.RawOrders, r, out); err != nil {
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
		return out.batchLines(), string(acct)
	}
	run := func(workers, procs int) ([]string, string) { return runOf(recs, workers, procs) }

	want, wantAcct := run(1, 1)
	// The shop must exercise what the workers and the merge split.
	var rc struct {
		Used        int64
		Quarantined map[string]int64 `json:"rows_quarantined_by_reason"`
		Excluded    map[string]int64 `json:"rows_excluded_by_reason"`
		Trimmed     map[string]int64 `json:"ids_trimmed_by_column"`
		Replaced    map[string]int64 `json:"text_replaced_by_column"`
	}
	if err := json.Unmarshal([]byte(wantAcct), &rc); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d batches in, %d out; accounting %s", len(recs), len(want), wantAcct)
	for _, reason := range []string{validate.ReasonMissingOrderID, validate.ReasonMissingCustomerID, validate.ReasonInvalidUTF8,
		validate.ReasonMissingOrderTS, validate.ReasonUnparseableOrderTS, validate.ReasonOrderTSOutOfRange,
		validate.ReasonNonNumericAmount, validate.ReasonAmountOutOfRange, validate.ReasonUnknownCurrency,
		validate.ReasonDuplicateOrderID, validate.ReasonRefundWithoutOrder, validate.ReasonRefundExceedsOrder} {
		if rc.Quarantined[reason] == 0 {
			t.Errorf("no row quarantined as %s", reason)
		}
	}
	if len(rc.Excluded) < 2 || len(rc.Trimmed) == 0 || len(rc.Replaced) == 0 {
		t.Errorf("excluded %v, trimmed %v, replaced %v: want rows of each", rc.Excluded, rc.Trimmed, rc.Replaced)
	}
	// A row of an unflagged id that arrives second is a duplicate by
	// arrival, dropped from its batch's orders after the check.
	byArrival := 0
	for _, b := range want {
		if strings.HasPrefix(b, schemas.Quarantine.Name+":") {
			for _, row := range strings.Split(b, "|") {
				for id := range unflagged {
					if strings.Contains(row, validate.ReasonDuplicateOrderID) && strings.Contains(row, ","+id+",") {
						byArrival++
					}
				}
			}
		}
	}
	if byArrival == 0 {
		t.Errorf("no row of the %d unflagged ids is a duplicate", len(unflagged))
	}
	var tables []string
	for _, b := range want {
		table, _, _ := strings.Cut(b, ":")
		if !slices.Contains(tables, table) {
			tables = append(tables, table)
		}
	}
	if len(tables) != 3 {
		t.Errorf("tables emitted %v, want orders, refunds and quarantine", tables)
	}

	for _, workers := range []int{1, 2, 3} {
		for _, procs := range []int{1, 2} {
			if workers == 1 && procs == 1 {
				continue // the run compared with
			}
			got, acct := run(workers, procs)
			if acct != wantAcct {
				t.Errorf("%d workers, GOMAXPROCS %d: accounting %s, want %s", workers, procs, acct, wantAcct)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%d workers, GOMAXPROCS %d: %d batches emitted differ from the %d of one worker", workers, procs, len(got), len(want))
			}
		}
	}
	for n, recs := range hinted {
		got, acct := runOf(recs, 2, 2)
		if acct != wantAcct || !slices.Equal(got, want) {
			t.Errorf("batches saying %d order ids: accounting %s and %d batches, want %s and %d", n, acct, len(got), wantAcct, len(want))
		}
	}
}
