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
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/night"
	"retain/schemas"
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
	// statuses as read and what they are, see statusKind
	statusSeen  []string
	statusKinds []int
	fx          *rates
	rc          *night.Context
	ids         *fingerprint.Set
	windowEnd   int64
	minTS       int64
	maxAmount   float64
	orders      *array.RecordBuilder
	quarantine  *quarantine.Builder
	// used is what partial refunds are checked against, refunds the
	// partial refund rows held until every order row is seen.
	used       ledger
	refunds    []heldRow
	refundRows *array.RecordBuilder
	// dups are the rows of shared order ids that passed every check, held
	// until the input ends, when R1 picks each id's winner (see
	// settleDuplicates).
	dups []heldRow
	keys []uint64 // the batch's order-id fingerprints
	oids []string // and its order ids, trimmed
	// currencies seen when the job converts none; more than one fails.
	currencies   map[string]bool
	lastCurrency string
}

// Finish hands the order-id set, the one piece of state that grows with
// orders, to product affinity when the job reads order items, and otherwise
// drops it before the downstream stages start their own finishing work.
func (v *validator) Finish(ctx context.Context, out engine.Emitter) error {
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
		if err := handover.UsedOrders.Provide(out, &usedOrders{ids: v.ids}); err != nil {
			return err
		}
		if v.ids.HasPayloads() {
			if err := handover.OrderCustomers.Provide(out, &orderCustomers{ids: v.ids}); err != nil {
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

func (v *validator) Process(ctx context.Context, _ string, rec arrow.Record, out engine.Emitter) error {
	file, firstRow := input.SourceOf(rec)
	shared, err := sharedColumn(rec)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}

	raw := map[string]arrow.Array{}
	for _, c := range schemas.Orders.Columns {
		raw[c.Name] = column(rec, c.Name)
	}
	src := &night.InputOf(v.rc.Job).Orders
	orderID := textAccessor(raw["order_id"])
	customerID := textAccessor(raw["customer_id"])
	orderTS := tsAccessor(raw["order_ts"], v.rc.Job.Location(), src.TimestampFormat)
	amount := amountAccessor(raw["amount"])
	statusOf := textAccessor(raw["status"])
	currency := textAccessor(raw["currency"])
	loc := v.rc.Job.Location()

	ob := v.orders
	oID := ob.Field(0).(*array.StringBuilder)
	oCust := ob.Field(1).(*array.StringBuilder)
	oTS := ob.Field(2).(*array.TimestampBuilder)
	oAmt := ob.Field(3).(*array.Float64Builder)
	oText := []*array.StringBuilder{ob.Field(4).(*array.StringBuilder), ob.Field(5).(*array.StringBuilder), ob.Field(6).(*array.StringBuilder), ob.Field(7).(*array.StringBuilder)}
	texts := []textFn{currency, textAccessor(raw["country"]), textAccessor(raw["channel"]), statusOf}
	var checkText [len(textColumns)]bool
	for k, name := range textColumns {
		checkText[k] = mayBeInvalidUTF8(raw[name])
	}
	checkOID, checkCID := mayBeInvalidUTF8(raw["order_id"]), mayBeInvalidUTF8(raw["customer_id"])
	n := int(rec.NumRows())
	ob.Reserve(n)
	reserveText(oID, raw["order_id"])
	reserveText(oCust, raw["customer_id"])

	// Order-id fingerprints up front, so the set's memory reads can be
	// issued a chunk at a time (see fingerprint.Set.Touch).
	// The trimmed ids are kept for the row loop, so each is trimmed once.
	keys, oids := v.keys[:0], v.oids[:0]
	var trimmedOrder, trimmedCustomer int64
	for i := 0; i < n; i++ {
		var k uint64
		id, st := orderID(i)
		if st == ok {
			id = ids.Trim(id, &trimmedOrder)
			k = fingerprint.Key(id)
		}
		keys, oids = append(keys, k), append(oids, id)
	}
	v.keys, v.oids = keys, oids

	rows := v.rc.Rows
	var replaced [len(textColumns)]int64
	for i := 0; i < n; i++ {
		if i%touchRows == 0 {
			v.ids.Touch(keys[i:min(i+touchRows, n)])
		}
		// Known before the duplicate check, so the id goes into the set
		// already flagged as used or not: one probe per order. An order
		// with a refund status is used: the customer did buy.
		kind := statusCounted
		if st, s := statusOf(i); s == ok {
			kind = v.statusKind(st)
		}
		var used fingerprint.Flag
		if kind != statusOther {
			used = flagUsed
		}
		oid := oids[i] // "" when null
		cid, s2 := customerID(i)
		cid = ids.Trim(cid, &trimmedCustomer)
		ts, s3 := orderTS(i)
		amt, s4 := amount(i)
		// A negative amount is a refund of the order it names, checked
		// against that order once every row is seen; its value from here
		// on is the money refunded, converted like any amount.
		refund := s4 == ok && amt < 0 && v.refundsOn
		if refund {
			amt = -amt
		}
		orig := amt // in the row's own currency
		reason := ""
		switch {
		case oid == "":
			reason = ReasonMissingOrderID
		case s2 != ok || cid == "":
			reason = ReasonMissingCustomerID
		case checkOID && !utf8.ValidString(oid), checkCID && !utf8.ValidString(cid), checkText[0] && !validText(currency, i):
			reason = ReasonInvalidUTF8
		case s3 == null:
			reason = ReasonMissingOrderTS
		case s3 == bad:
			reason = ReasonUnparseableOrderTS
		case s3 == outOfRange || ts < v.minTS:
			reason = ReasonOrderTSOutOfRange
		case s4 == null:
			reason = ReasonMissingAmount
		case s4 == bad:
			reason = ReasonNonNumericAmount
		case amt < 0:
			reason = ReasonNegativeAmount
		case v.fx != nil && !v.convertInPlace(&amt, currency, i, ts):
			reason = ReasonUnknownCurrency
		case !(amt <= v.maxAmount): // +Inf from a huge rate or "1e400" too
			reason = ReasonAmountOutOfRange
		case ts >= v.windowEnd:
			rows.Excluded[rules.ExcludedAfterRunDate]++
			continue
		case refund:
			// Not an order of its own, so not a duplicate of the one it
			// refunds.
			if kind == statusOther {
				rows.Excluded[rules.ExcludedStatusNotCounted]++
			} else {
				v.refunds = append(v.refunds, hold(keys[i], oid, cid, ts, amt, orig, kind, file, input.RowOf(firstRow, i), raw, i))
			}
			continue
		case shared.Value(i):
			// Which of the id's rows wins is known once every row is.
			v.dups = append(v.dups, hold(keys[i], oid, cid, ts, amt, orig, kind, file, input.RowOf(firstRow, i), raw, i))
			continue
		case !v.ids.AddKey(keys[i], used):
			// The source said no other row has the id: two ids sharing a
			// fingerprint (see fingerprint.Set), or a source breaking the
			// contract.
			reason = ReasonDuplicateOrderID
		}
		if reason != "" {
			v.quarantine.Add(reason, schemas.Orders.Name, file, input.RowOf(firstRow, i), raw, i)
			rows.Quarantined[reason]++
			continue
		}
		if kind == statusOther {
			rows.Excluded[rules.ExcludedStatusNotCounted]++
			continue
		}
		c, st := currency(i)
		v.useOrder(keys[i], oid, cid, ts, amt, orig, kind, c, st == ok, loc)
		oID.Append(oid)
		oCust.Append(cid)
		oTS.Append(arrow.Timestamp(ts))
		oAmt.Append(amt)
		for k, f := range texts {
			s, st := f(i)
			if st != ok {
				oText[k].AppendNull()
				continue
			}
			if checkText[k] && !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "\uFFFD")
				replaced[k]++
			}
			oText[k].Append(s)
		}
	}
	clear(oids) // they point into this batch's buffers
	ids.AddCount(rows.Trimmed, "order_id", trimmedOrder)
	ids.AddCount(rows.Trimmed, "customer_id", trimmedCustomer)
	for k, c := range replaced {
		ids.AddCount(rows.Replaced, textColumns[k], c)
	}
	if err := emit(ctx, out, schemas.Orders.Name, ob); err != nil {
		return err
	}
	if err := emit(ctx, out, schemas.Refunds.Name, v.refundRows); err != nil {
		return err
	}
	// Held to the end and sorted, so the order rows arrive in never shows.
	v.quarantine.Hold()
	return nil
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

// useOrder counts a used order and remembers it for the refunds that may
// name it; the caller appends it to the orders table. currency is as read,
// has false for null.
func (v *validator) useOrder(key uint64, oid, cid string, ts int64, amt, orig float64, kind int, currency string, has bool, loc *time.Location) {
	if v.ids.HasPayloads() {
		// The rate of one unit rather than amt / orig: an order of 0 has
		// lines worth converting too. It converted amt, so it is known.
		rate := 1.0
		if v.fx != nil {
			rate, _ = v.fx.convert(1, currency, has, ts)
		}
		v.ids.SetPayload(key, fingerprint.Payload{Word: fingerprint.Key(cid), Ratio: float32(rate)})
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
		v.used.add(key, ts, orig, h, v.used.codeOf(currency, has))
	}
	if v.fx == nil {
		v.noteCode(currency, has)
	}
	v.rc.Rows.Used++
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
	keys []uint64
}

// Claim implements handover.OrderLookup.
func (u *usedOrders) Claim(ids []string, used, claimed []bool) {
	u.keys = u.keys[:0]
	for _, id := range ids {
		u.keys = append(u.keys, fingerprint.Key(id))
	}
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
	keys []uint64
}

// Customers implements handover.CustomerLookup.
func (o *orderCustomers) Customers(ids []string, got []handover.OrderCustomer) {
	o.keys = o.keys[:0]
	for _, id := range ids {
		o.keys = append(o.keys, fingerprint.Key(id))
	}
	o.ids.Touch(o.keys)
	for i, k := range o.keys {
		f, p, found := o.ids.PayloadKey(k)
		if !found || f&flagUsed == 0 {
			got[i] = handover.OrderCustomer{}
			continue
		}
		got[i] = handover.OrderCustomer{Used: true, Customer: p.Word, Rate: float64(p.Ratio)}
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

// convertInPlace turns *amount into the reporting currency.
func (v *validator) convertInPlace(amount *float64, currency textFn, i int, ts int64) bool {
	c, st := currency(i)
	converted, ok := v.fx.convert(*amount, c, st == ok, ts)
	if ok {
		*amount = converted
	}
	return ok
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

// statusKind classifies a status; the config check keeps the lists apart.
// A shop has a handful of statuses as written, so the first few are
// remembered exactly as read, sparing the case-folding comparisons with
// every listed status on each row.
func (v *validator) statusKind(status string) int {
	for i, s := range v.statusSeen {
		if s == status {
			return v.statusKinds[i]
		}
	}
	kind := v.classify(status)
	if len(v.statusSeen) < 8 {
		v.statusSeen = append(v.statusSeen, strings.Clone(status))
		v.statusKinds = append(v.statusKinds, kind)
	}
	return kind
}

func (v *validator) classify(status string) int {
	status = strings.TrimSpace(status)
	for _, c := range v.counted {
		if strings.EqualFold(status, c) {
			return statusCounted
		}
	}
	for _, c := range v.refundSts {
		if strings.EqualFold(status, c) {
			return statusRefund
		}
	}
	return statusOther
}

// reserveText sizes a string builder's data buffer from the source column,
// so appending a batch copies each value once instead of regrowing.
func reserveText(b *array.StringBuilder, src arrow.Array) {
	if s, ok := src.(*array.String); ok && s.Len() > 0 {
		b.ReserveData(int(s.ValueOffset(s.Len()-1)) + s.ValueLen(s.Len()-1) - int(s.ValueOffset(0)))
	}
}
