package validate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/input"
	"retain/stages/internal/localday"
	"retain/stages/internal/quarantine"
	"retain/stages/kpis/kpisconfig"
)

// Quarantine reasons of partial refunds (rows with a negative amount), which
// are judged once every order row has been seen, since a refund may come
// before its order in the input.
const (
	// ReasonRefundWithoutOrder: no used order has the refund's order_id.
	ReasonRefundWithoutOrder = "refund_without_order"
	// ReasonRefundCustomerMismatch: the refund's customer_id is not its
	// order's.
	ReasonRefundCustomerMismatch = "refund_customer_mismatch"
	// ReasonRefundBeforeOrder: the refund's local day is before its
	// order's.
	ReasonRefundBeforeOrder = "refund_before_order"
	// ReasonRefundExceedsOrder: with this refund, the order's refunds would
	// add up to more than its amount (an order with a refund status is
	// refunded in full already).
	ReasonRefundExceedsOrder = "refund_exceeds_order"
)

// ErrUnflaggedRefundedOrder is wrapped when a refund names a used order
// whose row came with input.SharedOrderID false: the refund's own row has
// that id, so the source broke the flag's contract, and refunds are
// checked only against orders whose rows it flagged.
var ErrUnflaggedRefundedOrder = errors.New("refund of an order whose row was not flagged " + input.SharedOrderID)

// usedChunk is how many used orders one chunk of the ledger holds: chunks
// grow the ledger without the copy (and twice the memory) of a slice that
// doubles.
const usedChunk = 1 << 15

// fullRefund marks, in a ledger entry's customer hash, an order whose status
// is a refund status.
const fullRefund = 1 << 31

// ledger remembers what refunds are checked against, for every used order
// whose row the source flagged as sharing its id (input.SharedOrderID; a
// refund's row has its order's id, so no other order can be named): its
// order-id fingerprint, time, amount as read (in its own currency), its
// currency and a 31-bit hash of its customer, 30 bytes an order in columns.
// The hash makes a mismatch of customers go unnoticed with probability
// 2⁻³¹, which buys half the memory of a second fingerprint. It is dropped
// when validation ends.
type ledger struct {
	chunks []*usedOrders30
	n      int
	// codes are the currencies of the orders, by the index an entry
	// keeps; 0 is none.
	codes   []string
	codeIdx map[string]uint16
	// the first few currencies as read and their indexes: a shop has a
	// handful, and this spares a map lookup and a copy per order.
	seenRaw []string
	seenIdx []uint16
}

// codeOf is the index of a currency as read (has false for null).
func (l *ledger) codeOf(raw string, has bool) uint16 {
	if !has {
		return 0
	}
	for i, s := range l.seenRaw {
		if s == raw {
			return l.seenIdx[i]
		}
	}
	k := l.code(currencyCode(raw, true))
	if len(l.seenRaw) < 8 {
		l.seenRaw, l.seenIdx = append(l.seenRaw, strings.Clone(raw)), append(l.seenIdx, k)
	}
	return k
}

type usedOrders30 struct {
	keys    [usedChunk]uint64
	ts      [usedChunk]int64
	amounts [usedChunk]float64
	cust    [usedChunk]uint32
	codes   [usedChunk]uint16
}

func (l *ledger) add(key uint64, ts int64, amount float64, cust uint32, code uint16) {
	i := l.n % usedChunk
	if i == 0 {
		l.chunks = append(l.chunks, new(usedOrders30))
	}
	c := l.chunks[len(l.chunks)-1]
	c.keys[i], c.ts[i], c.amounts[i], c.cust[i], c.codes[i] = key, ts, amount, cust, code
	l.n++
}

// otherCode stands for every currency beyond the first 65,534 of a night
// (more than any rate table holds, and used orders without one are
// quarantined or fail the night):
// refunds of such orders are measured in the reporting currency.
const otherCode = math.MaxUint16

// code is the index of a currency code (upper case, trimmed).
func (l *ledger) code(c string) uint16 {
	if c == "" {
		return 0
	}
	if k, ok := l.codeIdx[c]; ok {
		return k
	}
	if l.codeIdx == nil {
		l.codes, l.codeIdx = []string{""}, map[string]uint16{}
	}
	if len(l.codes) >= otherCode {
		return otherCode
	}
	k := uint16(len(l.codes))
	c = strings.Clone(c)
	l.codes, l.codeIdx[c] = append(l.codes, c), k
	return k
}

// codeName is the currency of index k of codes; "" for none, and for
// otherCode, which names no one currency.
func codeName(codes []string, k uint16) string {
	if int(k) >= len(codes) {
		return ""
	}
	return codes[k]
}

// currencyCode is a currency as the ledger and the rates compare it.
func currencyCode(s string, has bool) string {
	if !has {
		return ""
	}
	return strings.ToUpper(strings.TrimSpace(s))
}

// customerHash is the ledger's hash of a (trimmed) customer id.
func customerHash(id string) uint32 { return uint32(fingerprint.Key(id)) &^ fullRefund }

// heldRow is a row kept until every order row is seen, a partial refund or
// a row of a shared order id: its parsed values, and its values as read for
// the quarantine table, for the orders table (a winner's text columns) and
// for ordering the rows it is judged among.
type heldRow struct {
	key      uint64
	orderID  string // trimmed
	customer string // trimmed
	ts       int64
	amount   float64 // positive, in the reporting currency
	orig     float64 // positive, in its own currency
	file     string
	row      int64
	// kind (see statusKind) is an int32 so that folded shares its word.
	kind int32
	// folded is set for a row flagged input.FoldedOrder.
	folded bool
	raw    [len(rawColumns)]string
	has    [len(rawColumns)]bool
}

// rawColumns are the columns a held refund keeps as read.
var rawColumns = [...]string{"order_id", "customer_id", "order_ts", "amount", "currency", "country", "channel", "status"}

// The places of the currency and the other text columns in rawColumns.
const (
	currencyColumn = 4
	countryColumn  = 5
	channelColumn  = 6
	statusColumn   = 7
)

// hold copies row i of a batch, with its parsed values, out of the batch.
// Its text goes into one allocation, and an id as read that is its
// trimmed id is kept once: ten copies of a few bytes each would cost more
// in allocation headers and size classes than in text.
func hold(key uint64, oid, cid string, ts int64, amount, orig float64, kind int, file string, row int64, raw map[string]arrow.Array, i int) heldRow {
	h := heldRow{key: key, ts: ts, amount: amount, orig: orig, kind: int32(kind), file: file, row: row}
	n := len(oid) + len(cid)
	for k, name := range rawColumns {
		if s, ok := quarantine.RawText(raw[name], i); ok {
			h.raw[k], h.has[k] = s, true
			if !(k == 0 && s == oid || k == 1 && s == cid) {
				n += len(s)
			}
		}
	}
	buf := make([]byte, 0, n)
	text := func(s string) string {
		at := len(buf)
		buf = append(buf, s...)
		return unsafe.String(unsafe.SliceData(buf[at:]), len(s))
	}
	h.orderID, h.customer = text(oid), text(cid)
	for k := range h.raw {
		switch {
		case !h.has[k]:
		case k == 0 && h.raw[k] == oid:
			h.raw[k] = h.orderID
		case k == 1 && h.raw[k] == cid:
			h.raw[k] = h.customer
		default:
			h.raw[k] = text(h.raw[k])
		}
	}
	return h
}

// value returns a held row's column as read, for the quarantine table.
func (h *heldRow) value(column string) (string, bool) {
	for k, name := range rawColumns {
		if name == column {
			return h.raw[k], h.has[k]
		}
	}
	return "", false
}

// compareRefunds orders the refunds of one order by their own values: time,
// amount, then the other columns as read, so which refund pushes an order
// over its amount does not depend on where the rows are in the input. Only
// rows equal in every column fall back to their position, and quarantining
// either of those is the same.
func compareRefunds(a, b *heldRow) int {
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	if c := cmp.Compare(a.amount, b.amount); c != 0 {
		return c
	}
	if c := strings.Compare(a.customer, b.customer); c != 0 {
		return c
	}
	for k := range a.raw {
		if a.has[k] != b.has[k] {
			if a.has[k] {
				return 1
			}
			return -1
		}
		if c := strings.Compare(a.raw[k], b.raw[k]); c != 0 {
			return c
		}
	}
	if c := strings.Compare(a.file, b.file); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

// matchedOrder is a ledger entry some held refund names. An order's
// refunds are measured against it in its own currency (refundedOrig), so a
// refund of the whole amount in that currency settles it whatever the rates
// did in between; what is netted off revenue is the refunds converted at
// their own dates (refunded), at most the order's converted amount (gross).
type matchedOrder struct {
	ts           int64
	orig, gross  float64
	code         uint16
	cust         uint32
	refunded     float64
	refundedOrig float64
	// runDate is the part of refunded from refunds dated on the run
	// date, which a run for the night before does not see.
	runDate float64
	// periodLater is the part of refunded from refunds dated after the
	// same day of the previous kpis.period, which a run for that day does
	// not see.
	periodLater float64
	found       bool
}

// exceeds reports whether refunded money goes beyond an order's amount by
// more than the rounding of adding the refunds up: refunds of 0.10 and 0.20
// settle an order of 0.30.
func exceeds(refunded, amount float64) bool {
	return refunded > amount+1e-9*math.Max(1, math.Abs(amount))
}

// settleRefunds matches the held refunds with their orders, quarantines the
// ones that fail a refund rule and emits the rest, summed per order, into
// the refunds table, sorted by customer and order. (Orders with a refund
// status went into it as they were read: nothing is left to add to them.)
func (v *validator) settleRefunds(ctx context.Context, out engine.Emitter) error {
	held := v.refunds.Join()
	if v.refundsOn {
		v.rc.Log.Info().Str("stage", "validate").Int("refund_rows_held", len(held)).Int("orders_remembered", v.used.n).
			Int64("ledger_bytes", int64(len(v.used.chunks))*int64(unsafe.Sizeof(usedOrders30{}))).Msg("matching refunds with their orders")
	}
	if len(held) == 0 {
		v.used = ledger{}
		return nil
	}
	want := make(map[uint64]*matchedOrder, len(held))
	for i := range held {
		if want[held[i].key] == nil {
			want[held[i].key] = &matchedOrder{}
		}
	}
	// One pass over the ledger; each used order id is in it once, since a
	// second used row of an id is a duplicate.
	l := &v.used
	for ci, c := range l.chunks {
		n := min(usedChunk, l.n-ci*usedChunk)
		for i, k := range c.keys[:n] {
			if m := want[k]; m != nil {
				m.ts, m.orig, m.gross, m.code, m.cust, m.found = c.ts[i], c.amounts[i], c.amounts[i], c.codes[i], c.cust[i], true
				if v.fx != nil {
					// It converted when it was read, with the same rates.
					m.gross, _ = v.fx.convert(m.orig, codeName(l.codes, m.code), m.code != 0, m.ts)
				}
				if m.cust&fullRefund != 0 {
					m.refunded, m.refundedOrig = m.gross, m.orig
				}
			}
		}
	}
	codes := l.codes
	v.used = ledger{}

	order := make([]*heldRow, len(held))
	for i := range held {
		order[i] = &held[i]
	}
	slices.SortFunc(order, compareRefunds)
	loc := v.rc.Job.Location()
	runDay := localday.RunDate(v.rc)
	periodDay := kpisconfig.PeriodDayBefore(v.rc.Job, runDay)
	rows := v.rc.Rows
	var rejected []*heldRow
	var reasons []string
	type refunded struct {
		customer, orderID string
		day               int32
		m                 *matchedOrder
	}
	var applied []refunded
	for _, h := range order {
		m := want[h.key]
		if !m.found {
			// A used order the ledger lacks was decided as its row came,
			// the source having said no other row has its id, while this
			// refund's row has it: the flag is wrong, and the refund
			// cannot be checked.
			if before, found := v.ids.MarkKey(h.key, 0); found && before&flagUsed != 0 {
				return fmt.Errorf("%w: order id %q has a refund row in %s", ErrUnflaggedRefundedOrder, h.orderID, h.file)
			}
		}
		// The refund in the order's currency: as read when it is in that
		// currency, else converted back at the order's own rate.
		part := math.Inf(1)
		switch {
		case !m.found:
		case m.code != otherCode && currencyCode(h.raw[currencyColumn], h.has[currencyColumn]) == codeName(codes, m.code):
			part = h.orig
		case m.gross > 0:
			part = h.amount * m.orig / m.gross
		}
		reason := ""
		switch {
		case !m.found:
			reason = ReasonRefundWithoutOrder
		case customerHash(h.customer) != m.cust&^fullRefund:
			reason = ReasonRefundCustomerMismatch
		case localday.Of(h.ts, loc) < localday.Of(m.ts, loc):
			reason = ReasonRefundBeforeOrder
		case exceeds(m.refundedOrig+part, m.orig):
			reason = ReasonRefundExceedsOrder
		}
		if reason != "" {
			rejected, reasons = append(rejected, h), append(reasons, reason)
			rows.Quarantined[reason]++
			continue
		}
		if m.refundedOrig == 0 && m.cust&fullRefund == 0 {
			applied = append(applied, refunded{customer: h.customer, orderID: h.orderID, day: localday.Of(m.ts, loc), m: m})
		}
		if v.fx == nil {
			// An unconverted refund in another currency than its orders'
			// would be netted as if it were theirs.
			v.noteCode(h.raw[currencyColumn], h.has[currencyColumn])
		}
		// Never above the amount, so net revenue is not a rounding below 0.
		before := m.refunded
		m.refunded = min(m.refunded+h.amount, m.gross)
		if localday.Of(h.ts, loc) == runDay {
			m.runDate += m.refunded - before
		}
		if localday.Of(h.ts, loc) > periodDay {
			m.periodLater += m.refunded - before
		}
		m.refundedOrig = min(m.refundedOrig+part, m.orig)
		rows.Used++
		rows.RefundsUsed++
	}

	// Sorted with every other rejected row when validation ends.
	for i, h := range rejected {
		v.quarantine.AddValues(reasons[i], schemas.Orders.Name, h.file, h.row, h.value)
	}

	slices.SortFunc(applied, func(a, b refunded) int {
		if c := strings.Compare(a.customer, b.customer); c != 0 {
			return c
		}
		return strings.Compare(a.orderID, b.orderID)
	})
	for start := 0; start < len(applied); start += batchRows {
		for _, r := range applied[start:min(start+batchRows, len(applied))] {
			v.appendRefund(r.customer, r.orderID, r.day, r.m.refunded, r.m.runDate, r.m.periodLater)
		}
		if err := emit(ctx, out, schemas.Refunds.Name, v.refundRows); err != nil {
			return err
		}
	}
	return nil
}

// batchRows bounds the rows of one emitted refunds batch.
const batchRows = 64 * 1024

// appendRefund adds a row to the refunds table.
func (v *validator) appendRefund(customer, orderID string, day int32, amount, runDate, periodLater float64) {
	b := v.refundRows
	b.Field(0).(*array.StringBuilder).Append(customer)
	b.Field(1).(*array.StringBuilder).Append(orderID)
	b.Field(2).(*array.Date32Builder).Append(arrow.Date32(day))
	b.Field(3).(*array.Float64Builder).Append(amount)
	b.Field(4).(*array.Float64Builder).Append(runDate)
	b.Field(5).(*array.Float64Builder).Append(periodLater)
}
