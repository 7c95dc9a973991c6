package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// retainFigures are the figures of a retain run that the DuckDB peer must
// reproduce: its manifest's row accounting and the totals of its
// customer_summary.
type retainFigures struct {
	RowsUsed       int64            `json:"rows_used"`
	RefundRowsUsed int64            `json:"refund_rows_used"`
	Quarantined    map[string]int64 `json:"rows_quarantined_by_reason"`
	Excluded       map[string]int64 `json:"rows_excluded_by_reason"`

	customers, orders, refundedOrders    int64
	revenue, refundedRevenue, netRevenue float64
}

// readRetainFigures reads the figures of the run written under out.
func readRetainFigures(tb testing.TB, out string) retainFigures {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(out, "_runs", "snapshot_date="+runDate, "_manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m struct {
		Rows retainFigures `json:"row_accounting"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("manifest: %v", err)
	}
	f := m.Rows

	pf, err := file.OpenParquetFile(filepath.Join(out, "customer_summary", "snapshot_date="+runDate, "part-00000.parquet"), false)
	if err != nil {
		tb.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	schema, err := fr.Schema()
	if err != nil {
		tb.Fatal(err)
	}
	names := []string{"order_count", "refunded_orders", "total_revenue", "refunded_revenue", "net_revenue"}
	cols := make([]int, len(names))
	for i, name := range names {
		idx := schema.FieldIndices(name)
		if len(idx) != 1 {
			tb.Fatalf("customer_summary has no column %s", name)
		}
		cols[i] = idx[0]
	}
	rr, err := fr.GetRecordReader(context.Background(), cols, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		f.customers += rec.NumRows()
		f.orders += sumInt(rec.Column(0).(*array.Int64))
		f.refundedOrders += sumInt(rec.Column(1).(*array.Int64))
		f.revenue += sumFloat(rec.Column(2).(*array.Float64))
		f.refundedRevenue += sumFloat(rec.Column(3).(*array.Float64))
		f.netRevenue += sumFloat(rec.Column(4).(*array.Float64))
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		tb.Fatal(err)
	}
	return f
}

func sumInt(a *array.Int64) (s int64) {
	for _, v := range a.Int64Values() {
		s += v
	}
	return s
}

func sumFloat(a *array.Float64) (s float64) {
	for _, v := range a.Float64Values() {
		s += v
	}
	return s
}

// moneyTolerance is how far two sums of the customers' money, rounded to
// the cent, may be apart: both add the same cent values in another order,
// which 1e-9 of the sum covers, and 5 cents allow a few customers whose
// exact value sits within rounding noise of a half cent and rounds the
// other way. A refund settled differently moves a total by its amount.
func moneyTolerance(sum float64) float64 { return 0.05 + 1e-9*math.Abs(sum) }

// crossCheck lists where the peer's figures differ from retain's: the
// customers, orders, refund rows used and refunded orders, the rows
// quarantined and excluded by reason, exactly; revenue, refunded and net
// revenue within moneyTolerance.
func crossCheck(r retainFigures, p peerFigures) []string {
	var diffs []string
	count := func(what string, retain, peer int64) {
		if retain != peer {
			diffs = append(diffs, fmt.Sprintf("%s: retain %d, duckdb %d", what, retain, peer))
		}
	}
	count("customers", r.customers, p.Customers)
	count("orders", r.orders, p.Orders)
	count("orders (rows used less refund rows)", r.RowsUsed-r.RefundRowsUsed, p.Orders)
	count("refund rows used", r.RefundRowsUsed, p.RefundRowsUsed)
	count("refunded orders", r.refundedOrders, p.RefundedOrders)
	byReason := func(what string, retain, peer map[string]int64) {
		keys := slices.Sorted(maps.Keys(retain))
		for k := range peer {
			if _, ok := retain[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			count(what+" "+k, retain[k], peer[k])
		}
	}
	byReason("quarantined", r.Quarantined, p.Quarantined)
	byReason("excluded", r.Excluded, p.Excluded)
	money := func(what string, retain, peer float64) {
		if d := math.Abs(retain - peer); !(d <= moneyTolerance(peer)) {
			diffs = append(diffs, fmt.Sprintf("%s: retain %.2f, duckdb %.2f (apart %.4f, tolerance %.4f)", what, retain, peer, d, moneyTolerance(peer)))
		}
	}
	money("revenue", r.revenue, p.Revenue)
	money("refunded revenue", r.refundedRevenue, p.RefundedRevenue)
	money("net revenue", r.netRevenue, p.NetRevenue)
	return diffs
}

// refundCase is an order row of addRefundCases; a negative amount is a
// refund of the order it names.
type refundCase struct {
	orderID, customerID, ts string
	amount                  float64
	currency, status        string
}

// refundCases put every refund rule to work beside the generated ones,
// which a small shop has only refund_without_order of. The comments say
// what validate.refund_statuses' rules make of each row.
var refundCases = []refundCase{
	{"X1", "XC1", "2025-03-01T12:00:00Z", 100, "USD", "completed"},
	{"X1", "XC1", "2025-03-05T12:00:00Z", -30, "USD", "completed"},    // used: 30 of 100
	{"X1", "XC1", "2025-03-06T12:00:00Z", -80, "USD", "completed"},    // refund_exceeds_order: 110
	{"X1", "XC1", "2025-03-07T12:00:00Z", -70, "USD", "completed"},    // used: the one before counts for nothing, 100
	{"X2", "XC2", "2025-04-01T12:00:00Z", 50, "EUR", "completed"},     //
	{"X2", "XC2", "2025-04-03T12:00:00Z", -20, "USD", "completed"},    // used, measured in EUR at the order's rate
	{"X3", "XC3", "2025-05-01T12:00:00Z", 40, "USD", "refunded"},      // refunded in full on its day
	{"X3", "XC3", "2025-05-02T12:00:00Z", -5, "USD", "completed"},     // refund_exceeds_order
	{"X4", "XC4", "2025-05-10T12:00:00Z", 60, "GBP", "completed"},     //
	{"X4", "XC9", "2025-05-11T12:00:00Z", -10, "GBP", "completed"},    // refund_customer_mismatch
	{"X4", "XC4", "2025-05-09T12:00:00Z", -10, "GBP", "completed"},    // refund_before_order
	{"X4", "XC4", "2025-05-10T00:30:00Z", -10, "GBP", "completed"},    // used: earlier, but the same day
	{"X4", "XC4", "2025-06-10T00:30:00Z", -10, "GBP", "cancelled"},    // excluded: status not counted
	{"X4", "XC4", "2026-11-23T00:30:00Z", -10, "GBP", "completed"},    // excluded: after the run date
	{"X5", "XC5", "2025-07-01T12:00:00Z", -10, "USD", "completed"},    // refund_without_order
	{"X6", "XC6", "2025-07-01T12:00:00Z", 25, "USD", "cancelled"},     // excluded: not used
	{"X6", "XC6", "2025-07-02T12:00:00Z", -10, "USD", "completed"},    // refund_without_order
	{"X7", "XC1", "2025-08-01T12:00:00Z", 80, "JPY", "completed"},     // a second day for XC1
	{"X7", "XC1", "2025-08-01T12:00:00Z", -80, "JPY", "returned"},     // used: the whole order, by a row of a refund status
	{"X8", "XC1", "2025-08-01T18:00:00Z", 20, "USD", "completed"},     // a second order that day
	{"X8", "XC1", "2025-08-01T18:00:00Z", 25, "USD", "completed"},     // duplicate_order_id
	{"X8", "XC1", "2025-09-01T18:00:00Z", -20.01, "USD", "completed"}, // refund_exceeds_order
}

// addRefundCases writes refundCases into the shop's orders folder as one
// more file, with the generated files' schema.
func addRefundCases(tb testing.TB, shop string) {
	tb.Helper()
	orders := filepath.Join(shop, "orders")
	pf, err := file.OpenParquetFile(filepath.Join(orders, "part-00000.parquet"), false)
	if err != nil {
		tb.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	schema, err := fr.Schema()
	pf.Close()
	if err != nil {
		tb.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(tb, 0)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for _, c := range refundCases {
		ts, err := time.Parse(time.RFC3339, c.ts)
		if err != nil {
			tb.Fatal(err)
		}
		country := map[string]string{"USD": "US", "EUR": "DE", "GBP": "GB", "JPY": "JP"}[c.currency]
		values := map[string]string{"order_id": c.orderID, "customer_id": c.customerID, "currency": c.currency,
			"country": country, "channel": "web", "status": c.status}
		for i, f := range schema.Fields() {
			switch b := rb.Field(i).(type) {
			case *array.StringBuilder:
				b.Append(values[f.Name])
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(ts.UnixMicro()))
			case *array.Float64Builder:
				b.Append(c.amount)
			default:
				tb.Fatalf("orders column %s is %s", f.Name, f.Type)
			}
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	out, err := os.Create(filepath.Join(orders, "part-refund-cases.parquet"))
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	w, err := pqarrow.NewFileWriter(schema, out, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}
