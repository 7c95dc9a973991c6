// Package validate is the stage that types every raw order row and decides
// its fate: used (the orders table), quarantined with a reason, or excluded
// (after the run date, or a status that does not count).
package validate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/chunked"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/handover"
	"retain/stages/internal/ids"
	"retain/stages/internal/input"
	"retain/stages/internal/localday"
	"retain/stages/internal/quarantine"
	"retain/stages/internal/rules"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/margin/marginconfig"
	"retain/stages/validate/validateconfig"
)

// Quarantine reasons, in the order the checks run.
const (
	ReasonMissingOrderID    = "missing_order_id"
	ReasonMissingCustomerID = "missing_customer_id"
	// ReasonInvalidUTF8: order_id, customer_id or currency is not valid
	// UTF-8. An identifier cannot be repaired without merging or splitting
	// customers, and readers such as DuckDB refuse a table holding one.
	ReasonInvalidUTF8        = "invalid_utf8"
	ReasonMissingOrderTS     = "missing_order_ts"
	ReasonUnparseableOrderTS = "unparseable_order_ts"
	// ReasonOrderTSOutOfRange: order_ts before validate.min_order_ts, or
	// beyond what int64 microseconds hold.
	ReasonOrderTSOutOfRange = "order_ts_out_of_range"
	ReasonMissingAmount     = "missing_amount"
	ReasonNonNumericAmount  = "non_numeric_amount"
	// ReasonNegativeAmount: a negative amount when validate.refund_statuses
	// is empty, which turns refunds off; otherwise a negative amount is a
	// refund (see ReasonRefundWithoutOrder and the others).
	ReasonNegativeAmount = "negative_amount"
	// ReasonAmountOutOfRange: above validate.max_amount in the reporting
	// currency, checked after conversion (see ReasonUnknownCurrency).
	ReasonAmountOutOfRange = "amount_out_of_range"
	ReasonDuplicateOrderID = "duplicate_order_id"
)

// ErrNoSharedOrderID is wrapped when a raw orders batch lacks the
// input.SharedOrderID column, or has a null in it: without it, which row of
// a duplicated order id wins would depend on the order rows arrive in.
var ErrNoSharedOrderID = errors.New("raw orders without " + input.SharedOrderID)

// ErrWarehouseFlags is wrapped when a raw orders batch's
// input.LostDuplicate or input.FoldedOrder column is not a BOOLEAN
// without nulls, or the rows it flags contradict each other: a row
// flagged folded that loses its id, or an unflagged row of a folded id.
// The warehouse settled those ids and counted their winners, so judging
// them again here would count an order twice or not at all.
var ErrWarehouseFlags = errors.New("raw orders with broken warehouse flags")

// orderKey is an order id's fingerprint in v.ids; a variable so that a
// test can make two ids collide, which no real pair of short ids does.
var orderKey = fingerprint.Key

// ErrFingerprintCollision is wrapped when an order id the warehouse
// folded shares its 64-bit fingerprint with another used order id (odds
// about N²/2⁶⁵ for N orders). On local files the later id would be
// quarantined as a duplicate; a folded order is counted already, so the
// night fails rather than match refunds against the wrong order.
var ErrFingerprintCollision = errors.New("order ids share a fingerprint")

// Register adds the validate stage; read reads input.fx_rates when the job
// converts currencies (extract.SideInputs in a full run: files or BigQuery).
func Register(r *night.Registry, read input.SideInput) error {
	return r.Register(night.Spec{
		Name:     "validate",
		Doc:      "Types raw order rows; emits used orders and quarantined rows with a reason; counts excluded rows.",
		Inputs:   []string{schemas.RawOrders},
		Outputs:  []string{schemas.Orders.Name, schemas.Refunds.Name, schemas.Quarantine.Name},
		Provides: []string{handover.UsedOrders.String(), handover.OrderCustomers.String()},
		New: func(ctx context.Context, rc *night.Context) (engine.Stage, error) {
			limits, err := rules.LimitsOf(rc)
			if err != nil {
				return nil, err
			}
			fx, err := loadRates(ctx, rc, read)
			if err != nil {
				return nil, err
			}
			cfg := validateconfig.Of(rc.Job)
			costs := night.InputOf(rc.Job).OrderItems != nil && marginconfig.Of(rc.Job).ItemCosts
			set := fingerprint.NewSet()
			if costs {
				set = fingerprint.NewPayloadSet()
			}
			return &validator{
				counted:    cfg.CountedStatuses,
				refundSts:  cfg.RefundStatuses,
				refundsOn:  cfg.RefundsOn(),
				layout:     night.InputOf(rc.Job).Orders.TimestampFormat,
				fx:         fx,
				rc:         rc,
				ids:        set,
				windowEnd:  rc.WindowEnd.UnixMicro(),
				minTS:      limits.MinOrderTS.UnixMicro(),
				maxAmount:  limits.MaxAmount,
				orders:     array.NewRecordBuilder(rc.Mem, schemas.Orders.Schema()),
				refundRows: array.NewRecordBuilder(rc.Mem, schemas.Refunds.Schema()),
				quarantine: quarantine.NewBuilder(rc.Mem, rc.SnapshotDate),
			}, nil
		},
	}, night.InputSection, validateconfig.Section, kpisconfig.Section, marginconfig.Section)
}

type validator struct {
	engine.BaseStage
	counted   []string
	refundSts []string
	refundsOn bool
	layout    string
	fx        *rates
	rc        *night.Context
	ids       *fingerprint.Set
	// sized says the first batch was seen, whose count of the input's
	// order ids, when its reader knew it, sized ids.
	sized     bool
	windowEnd int64
	minTS     int64
	maxAmount float64
	// orders builds the winners of shared ids (see settleDuplicates).
	orders     *array.RecordBuilder
	quarantine *quarantine.Builder
	// used is what partial refunds are checked against, refunds the
	// partial refund rows held until every order row is seen.
	used       ledger
	refunds    chunked.Slice[heldRow]
	refundRows *array.RecordBuilder
	// dups are the rows of shared order ids that passed every check, held
	// until the input ends, when R1 picks each id's winner (see
	// settleDuplicates).
	dups chunked.Slice[heldRow]
	keys []uint64 // a batch's candidates' order-id fingerprints
	// currencies seen when the job converts none; more than one fails.
	currencies   map[string]bool
	lastCurrency string
	pool         pool
}

// Finish hands the order-id set, the one piece of state that grows with
// orders, to product affinity when the job reads order items, and otherwise
// drops it before the downstream stages start their own finishing work.
func (v *validator) Finish(ctx context.Context, out engine.Emitter) error {
	if err := v.drain(ctx, out); err != nil {
		return err
	}
	v.pool.stop()
	// Winners of shared ids are used orders that refunds may name.
	if err := v.settleDuplicates(ctx, out); err != nil {
		return err
	}
	if err := v.settleRefunds(ctx, out); err != nil {
		return err
	}
	if err := v.quarantine.EmitSorted(ctx, out); err != nil {
		return err
	}
	if night.InputOf(v.rc.Job).OrderItems != nil {
		// Affinity claims orders on a goroutine of its own while margin
		// looks them up on the runner's, in the same set: one lock for both.
		mu := &sync.Mutex{}
		if err := handover.UsedOrders.Provide(out, &usedOrders{ids: v.ids, mu: mu}); err != nil {
			return err
		}
		if v.ids.HasPayloads() {
			if err := handover.OrderCustomers.Provide(out, &orderCustomers{ids: v.ids, mu: mu}); err != nil {
				return err
			}
		}
	}
	v.ids = nil
	if len(v.currencies) > 1 {
		codes := slices.Sorted(maps.Keys(v.currencies))
		return fmt.Errorf("%w: used orders are in %s; set input.fx_rates and input.reporting_currency to convert them, or input.reporting_currency alone to quarantine the others",
			ErrMixedCurrencies, strings.Join(codes, ", "))
	}
	// The one currency of unconverted orders is the currency of every
	// money column; the published tables name it.
	for c := range v.currencies {
		v.rc.NoteOrdersCurrency(c)
	}
	return nil
}

func (v *validator) Close(context.Context) error {
	v.pool.close()
	v.orders.Release()
	v.refundRows.Release()
	v.quarantine.Release()
	return nil
}

func column(rec arrow.Record, name string) arrow.Array {
	if idx := rec.Schema().FieldIndices(name); len(idx) > 0 {
		return rec.Column(idx[0])
	}
	return nil
}

// Process hands the batch to a worker to check, and merges the batches
// checked by now, in the order they came, so every worker count gives the
// same tables batch for batch.
func (v *validator) Process(ctx context.Context, _ string, rec arrow.Record, out engine.Emitter) error {
	file, firstRow := input.SourceOf(rec)
	shared, err := sharedColumn(rec)
	var lost, folded *array.Boolean
	if err == nil {
		lost, err = flagColumn(rec, input.LostDuplicate)
	}
	if err == nil {
		folded, err = flagColumn(rec, input.FoldedOrder)
	}
	if err != nil {
		// The batches before it are merged first, as if checked in turn.
		if err := v.drain(ctx, out); err != nil {
			return err
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	if !v.sized {
		// Only merge touches the set, on this goroutine.
		if n, ok := input.OrderIDsOf(rec); ok {
			v.ids.Reserve(n)
		}
		v.sized = true
	}
	v.pool.start(v)
	rec.Retain()
	c := &checked{rec: rec, file: file, firstRow: firstRow, shared: shared, lost: lost, folded: folded, done: make(chan struct{})}
	v.pool.submit(c)
	for {
		c := v.pool.next(false)
		if c == nil {
			return nil
		}
		if err := v.merge(ctx, c, out); err != nil {
			return err
		}
	}
}

// drain merges every batch still being checked.
func (v *validator) drain(ctx context.Context, out engine.Emitter) error {
	for {
		c := v.pool.next(true)
		if c == nil {
			return nil
		}
		if err := v.merge(ctx, c, out); err != nil {
			return err
		}
	}
}

// merge applies a checked batch to what depends on the rows before it:
// the order-id set decides the candidates, used orders go into the ledger,
// the counts and the quarantine; then the batch's orders are emitted.
func (v *validator) merge(ctx context.Context, c *checked, out engine.Emitter) error {
	defer func() {
		v.pool.recycle(c.cands)
		c.release()
	}()
	if c.err != nil {
		return fmt.Errorf("%s: %w", c.file, c.err)
	}
	rows := v.rc.Rows
	loc := v.rc.Job.Location()
	ids.AddCount(rows.Excluded, rules.ExcludedAfterRunDate, c.afterRunDate)
	ids.AddCount(rows.Excluded, rules.ExcludedStatusNotCounted, c.refundsNotCounted)
	v.refunds.AppendSlice(c.refunds)
	v.dups.AppendSlice(c.dups)
	keys := v.keys[:0]
	for i := range c.cands {
		keys = append(keys, c.cands[i].key)
	}
	v.keys = keys
	reject := func(row int, reason string) {
		v.quarantine.Add(reason, schemas.Orders.Name, c.file, input.RowOf(c.firstRow, row), c.raw, row)
		rows.Quarantined[reason]++
	}
	var replaced [len(textColumns)]int64
	var dropped []int // rows of c.orders that turned out duplicates
	next, orow := 0, 0
	// The orders record holds a used candidate's values as the orders
	// table has them; only its currency as read could differ there, but
	// a currency that is not UTF-8 is quarantined.
	oID := c.orders.Column(0).(*array.String)
	oCust := c.orders.Column(1).(*array.String)
	oTS := c.orders.Column(2).(*array.Timestamp)
	oAmt := c.orders.Column(3).(*array.Float64)
	oCur := c.orders.Column(4).(*array.String)
	for k := range c.cands {
		if k%touchRows == 0 {
			v.ids.Touch(keys[k:min(k+touchRows, len(keys))])
		}
		cd := &c.cands[k]
		row, kind := int(cd.row), int(cd.kind)
		for ; next < len(c.rejected) && c.rejected[next].row < row; next++ {
			reject(c.rejected[next].row, c.rejected[next].reason)
		}
		var used fingerprint.Flag
		if kind != statusOther {
			used = flagUsed
		}
		if !v.ids.AddKey(cd.key, used) {
			// The source said no other row has the id: two ids sharing a
			// fingerprint (see fingerprint.Set), or a source breaking the
			// contract.
			reject(row, ReasonDuplicateOrderID)
			if kind != statusOther {
				dropped = append(dropped, orow)
				orow++
			}
			continue
		}
		if kind == statusOther {
			rows.Excluded[rules.ExcludedStatusNotCounted]++
			continue
		}
		o := orow
		orow++
		v.useOrder(cd.key, oID.Value(o), oCust.Value(o), int64(oTS.Value(o)), oAmt.Value(o), cd.orig, kind, oCur.Value(o), oCur.IsValid(o), false, loc)
		rows.Used++
		for t := range replaced {
			if cd.replaced&(1<<t) != 0 {
				replaced[t]++
			}
		}
	}
	for ; next < len(c.rejected); next++ {
		reject(c.rejected[next].row, c.rejected[next].reason)
	}
	ids.AddCount(rows.Trimmed, "order_id", c.trimmedOrder)
	ids.AddCount(rows.Trimmed, "customer_id", c.trimmedCustomer)
	for k, n := range replaced {
		ids.AddCount(rows.Replaced, textColumns[k], n)
	}
	orders := c.orders
	if len(dropped) > 0 {
		var err error
		if orders, err = withoutRows(v.rc.Mem, orders, dropped); err != nil {
			return err
		}
		defer orders.Release()
	}
	if orders.NumRows() > 0 {
		if err := out.Emit(ctx, schemas.Orders.Name, orders); err != nil {
			return err
		}
	}
	if err := emit(ctx, out, schemas.Refunds.Name, v.refundRows); err != nil {
		return err
	}
	// Held to the end and sorted, so the order rows arrive in never shows.
	v.quarantine.Hold()
	return nil
}

// withoutRows returns rec less the given rows (ascending); the caller
// releases it. Only ids whose fingerprints collide take this way.
func withoutRows(mem memory.Allocator, rec arrow.Record, drop []int) (arrow.Record, error) {
	cols := make([]arrow.Array, rec.NumCols())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	defer release()
	for k := range cols {
		var parts []arrow.Array
		from := 0
		for _, d := range append(drop, int(rec.NumRows())) {
			if d > from {
				parts = append(parts, array.NewSlice(rec.Column(k), int64(from), int64(d)))
			}
			from = d + 1
		}
		if len(parts) == 0 {
			parts = append(parts, array.NewSlice(rec.Column(k), 0, 0))
		}
		col, err := array.Concatenate(parts, mem)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("dropping duplicate orders: %w", err)
		}
		cols[k] = col
	}
	return array.NewRecord(rec.Schema(), cols, rec.NumRows()-int64(len(drop))), nil
}

// sharedColumn is a batch's input.SharedOrderID column, which must be there
// and hold no null.
func sharedColumn(rec arrow.Record) (*array.Boolean, error) {
	a := column(rec, input.SharedOrderID)
	if a == nil {
		return nil, fmt.Errorf("%w: the batch has no such column", ErrNoSharedOrderID)
	}
	b, isBool := a.(*array.Boolean)
	switch {
	case !isBool:
		return nil, fmt.Errorf("%w: the column is %s, want bool", ErrNoSharedOrderID, a.DataType())
	case b.NullN() > 0:
		return nil, fmt.Errorf("%w: %d of its %d values are null", ErrNoSharedOrderID, b.NullN(), b.Len())
	}
	return b, nil
}

// flagColumn is a batch's optional warehouse flag column name: nil when
// absent, else a BOOLEAN without nulls.
func flagColumn(rec arrow.Record, name string) (*array.Boolean, error) {
	a := column(rec, name)
	if a == nil {
		return nil, nil
	}
	b, isBool := a.(*array.Boolean)
	switch {
	case !isBool:
		return nil, fmt.Errorf("%w: %s is %s, want bool", ErrWarehouseFlags, name, a.DataType())
	case b.NullN() > 0:
		return nil, fmt.Errorf("%w: %d of the %d values of %s are null", ErrWarehouseFlags, b.NullN(), b.Len(), name)
	}
	return b, nil
}

// useOrder remembers a used order for refunds and items; the caller counts
// it and appends it to the orders table, unless a warehouse folded it.
// currency is as read, has false for null. shared is true for an order
// whose id other rows have too: only such an order can be named by a
// refund, whose row has the id as well, so only it goes into the ledger
// (a tenth of the bytes for a shop where 2% of orders have a refund or a
// duplicate row, against 30 bytes for every order).
func (v *validator) useOrder(key uint64, oid, cid string, ts int64, amt, orig float64, kind int, currency string, has, shared bool, loc *time.Location) {
	if v.ids.HasPayloads() {
		// The rate of one unit rather than amt / orig: an order of 0 has
		// lines worth converting too. It converted amt, so it is known.
		rate := 1.0
		if v.fx != nil {
			rate, _ = v.fx.convert(1, currency, has, ts)
		}
		v.ids.SetPayload(key, fingerprint.Payload{Word: fingerprint.Key(cid), Ratio: rate})
	}
	if v.refundsOn {
		h := customerHash(cid)
		if kind == statusRefund {
			h |= fullRefund
			// Refunded on its own day, which the night before sees
			// only when that day is before the run date: no part is
			// the run date's alone.
			v.appendRefund(cid, oid, localday.Of(ts, loc), amt, 0, 0)
		}
		if shared {
			v.used.add(key, ts, orig, h, v.used.codeOf(currency, has))
		}
	}
	if v.fx == nil {
		v.noteCode(currency, has)
	}
}

// textColumns are the descriptive columns of a used order, in the orders
// table's order; invalid UTF-8 in them is replaced, not quarantined.
var textColumns = [...]string{"currency", "country", "channel", "status"}

// validText reports whether row i of a text column is absent or valid UTF-8.
func validText(f textFn, i int) bool {
	s, st := f(i)
	return st != ok || utf8.ValidString(s)
}

// touchRows is how many order ids' slots are read ahead at a time.
const touchRows = 256

// Flags on the order-id set: used orders, and orders whose items a later
// stage has claimed.
const (
	flagUsed    = fingerprint.FlagA
	flagClaimed = fingerprint.FlagB
)

// usedOrders lends the order-id set to the stage that reads order items.
type usedOrders struct {
	ids  *fingerprint.Set
	mu   *sync.Mutex // guards ids, shared with orderCustomers
	keys []uint64
}

// Claim implements handover.OrderLookup.
func (u *usedOrders) Claim(ids []string, used, claimed []bool) {
	u.keys = u.keys[:0]
	for _, id := range ids {
		u.keys = append(u.keys, orderKey(id))
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ids.Touch(u.keys)
	for i, k := range u.keys {
		before, found := u.ids.MarkKey(k, flagClaimed)
		used[i] = found && before&flagUsed != 0
		claimed[i] = used[i] && before&flagClaimed != 0
	}
}

// orderCustomers lends the order-id set, with each used order's customer
// and exchange rate (see useOrder), to the margin stage.
type orderCustomers struct {
	ids  *fingerprint.Set
	mu   *sync.Mutex // guards ids, shared with usedOrders
	keys []uint64
}

// Customers implements handover.CustomerLookup.
func (o *orderCustomers) Customers(ids []string, got []handover.OrderCustomer) {
	o.keys = o.keys[:0]
	for _, id := range ids {
		o.keys = append(o.keys, orderKey(id))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ids.Touch(o.keys)
	for i, k := range o.keys {
		f, p, found := o.ids.PayloadKey(k)
		if !found || f&flagUsed == 0 {
			got[i] = handover.OrderCustomer{}
			continue
		}
		got[i] = handover.OrderCustomer{Used: true, Customer: p.Word, Rate: p.Ratio}
	}
}

// noteCode remembers the currencies of used orders (a handful; capped so a
// column of junk cannot grow it) when nothing converts them; has is false
// for null.
func (v *validator) noteCode(c string, has bool) {
	if !has || c == v.lastCurrency || len(v.currencies) > 20 {
		return
	}
	v.lastCurrency = c
	code := strings.ToUpper(strings.TrimSpace(c))
	if code == "" || v.currencies[code] {
		return
	}
	if v.currencies == nil {
		v.currencies = map[string]bool{}
	}
	v.currencies[code] = true
}

func emit(ctx context.Context, out engine.Emitter, table string, b *array.RecordBuilder) error {
	rec := b.NewRecord()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	return out.Emit(ctx, table, rec)
}

// What an order's status makes of it.
const (
	statusCounted = iota
	statusRefund  // used, and refunded in full
	statusOther   // excluded
)
