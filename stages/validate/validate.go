// Package validate is the stage that types every raw order row and decides
// its fate: used (the orders table), quarantined with a reason, or excluded
// (after the run date, or a status that does not count).
package validate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/pipeline"
	"retain/schemas"
	"retain/stages/extract"
	"retain/stages/internal/fingerprint"
	"retain/stages/quarantine"
)

// Quarantine reasons, in the order the checks run.
const (
	ReasonMissingOrderID     = "missing_order_id"
	ReasonMissingCustomerID  = "missing_customer_id"
	ReasonMissingOrderTS     = "missing_order_ts"
	ReasonUnparseableOrderTS = "unparseable_order_ts"
	ReasonMissingAmount      = "missing_amount"
	ReasonNonNumericAmount   = "non_numeric_amount"
	ReasonNegativeAmount     = "negative_amount"
	ReasonDuplicateOrderID   = "duplicate_order_id"
)

// Exclusion reasons: rows that are valid but not used by this run.
const (
	ExcludedAfterRunDate     = "after_run_date"
	ExcludedStatusNotCounted = "status_not_counted"
)

// Register adds the validate stage.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Spec{
		Name:    "validate",
		Doc:     "Types raw order rows; emits used orders and quarantined rows with a reason; counts excluded rows.",
		Inputs:  []string{extract.RawOrders},
		Outputs: []string{schemas.Orders.Name, schemas.QuarantinedOrders},
		New: func(rc *pipeline.RunContext) (pipeline.Stage, error) {
			fx, err := loadRates(rc)
			if err != nil {
				return nil, err
			}
			return &validator{
				fx:         fx,
				rc:         rc,
				ids:        fingerprint.NewSet(),
				windowEnd:  rc.WindowEnd.UnixMicro(),
				orders:     array.NewRecordBuilder(rc.Mem, schemas.Orders.Schema()),
				quarantine: quarantine.NewBuilder(rc.Mem, rc.SnapshotDate),
			}, nil
		},
	})
}

type validator struct {
	pipeline.BaseStage
	fx         *rates
	rc         *pipeline.RunContext
	ids        *fingerprint.Set
	windowEnd  int64
	orders     *array.RecordBuilder
	quarantine *quarantine.Builder
	keys       []uint64 // the batch's order-id fingerprints
	// currencies seen when the job converts none; more than one fails.
	currencies   map[string]bool
	lastCurrency string
}

// Finish hands the order-id set, the one piece of state that grows with
// orders, to product affinity when the job reads order items, and otherwise
// drops it before the downstream stages start their own finishing work.
func (v *validator) Finish(context.Context, pipeline.Emitter) error {
	if v.rc.Job.Input.OrderItems != nil {
		v.rc.UsedOrders = &usedOrders{ids: v.ids}
	}
	v.ids = nil
	if len(v.currencies) > 1 {
		codes := slices.Sorted(maps.Keys(v.currencies))
		return fmt.Errorf("%w: used orders are in %s; set input.fx_rates and input.reporting_currency to convert them, or input.reporting_currency alone to quarantine the others",
			ErrMixedCurrencies, strings.Join(codes, ", "))
	}
	return nil
}

func (v *validator) Close() error {
	v.orders.Release()
	v.quarantine.Release()
	return nil
}

func column(rec arrow.Record, name string) arrow.Array {
	if idx := rec.Schema().FieldIndices(name); len(idx) > 0 {
		return rec.Column(idx[0])
	}
	return nil
}

func (v *validator) Process(ctx context.Context, _ string, rec arrow.Record, out pipeline.Emitter) error {
	file, firstRow := extract.SourceOf(rec)

	raw := map[string]arrow.Array{}
	for _, c := range schemas.Orders.Columns {
		raw[c.Name] = column(rec, c.Name)
	}
	src := &v.rc.Job.Input.Orders
	orderID := textAccessor(raw["order_id"])
	customerID := textAccessor(raw["customer_id"])
	orderTS := tsAccessor(raw["order_ts"], v.rc.Job.Location(), src.TimestampFormat)
	amount := amountAccessor(raw["amount"])
	statusOf := textAccessor(raw["status"])
	currency := textAccessor(raw["currency"])
	counted := v.rc.Job.Validate.CountedStatuses

	ob := v.orders
	oID := ob.Field(0).(*array.StringBuilder)
	oCust := ob.Field(1).(*array.StringBuilder)
	oTS := ob.Field(2).(*array.TimestampBuilder)
	oAmt := ob.Field(3).(*array.Float64Builder)
	oText := []*array.StringBuilder{ob.Field(4).(*array.StringBuilder), ob.Field(5).(*array.StringBuilder), ob.Field(6).(*array.StringBuilder), ob.Field(7).(*array.StringBuilder)}
	texts := []textFn{currency, textAccessor(raw["country"]), textAccessor(raw["channel"]), statusOf}
	n := int(rec.NumRows())
	ob.Reserve(n)
	reserveText(oID, raw["order_id"])
	reserveText(oCust, raw["customer_id"])

	// Order-id fingerprints up front, so the set's memory reads can be
	// issued a chunk at a time (see fingerprint.Set.Touch).
	keys := v.keys[:0]
	for i := 0; i < n; i++ {
		var k uint64
		if id, st := orderID(i); st == ok {
			k = fingerprint.Key(id)
		}
		keys = append(keys, k)
	}
	v.keys = keys

	rows := v.rc.Rows
	for i := 0; i < n; i++ {
		if i%touchRows == 0 {
			v.ids.Touch(keys[i:min(i+touchRows, n)])
		}
		// Known before the duplicate check, so the id goes into the set
		// already flagged as used or not: one probe per order.
		countedStatus := true
		if st, s := statusOf(i); s == ok && !isCounted(st, counted) {
			countedStatus = false
		}
		var used fingerprint.Flag
		if countedStatus {
			used = flagUsed
		}
		oid, s1 := orderID(i)
		cid, s2 := customerID(i)
		ts, s3 := orderTS(i)
		amt, s4 := amount(i)
		reason := ""
		switch {
		case s1 != ok || strings.TrimSpace(oid) == "":
			reason = ReasonMissingOrderID
		case s2 != ok || strings.TrimSpace(cid) == "":
			reason = ReasonMissingCustomerID
		case s3 == null:
			reason = ReasonMissingOrderTS
		case s3 == bad:
			reason = ReasonUnparseableOrderTS
		case s4 == null:
			reason = ReasonMissingAmount
		case s4 == bad:
			reason = ReasonNonNumericAmount
		case amt < 0:
			reason = ReasonNegativeAmount
		case v.fx != nil && !v.convertInPlace(&amt, currency, i, ts):
			reason = ReasonUnknownCurrency
		case ts >= v.windowEnd:
			rows.Excluded[ExcludedAfterRunDate]++
			continue
		case !v.ids.AddKey(keys[i], used):
			reason = ReasonDuplicateOrderID
		}
		if reason != "" {
			v.quarantine.Add(reason, schemas.Orders.Name, file, firstRow+int64(i), raw, i)
			rows.Quarantined[reason]++
			continue
		}
		if !countedStatus {
			rows.Excluded[ExcludedStatusNotCounted]++
			continue
		}
		if v.fx == nil {
			v.noteCurrency(currency, i)
		}
		rows.Used++
		oID.Append(oid)
		oCust.Append(cid)
		oTS.Append(arrow.Timestamp(ts))
		oAmt.Append(amt)
		for k, f := range texts {
			if s, st := f(i); st == ok {
				oText[k].Append(s)
			} else {
				oText[k].AppendNull()
			}
		}
	}
	if err := emit(ctx, out, schemas.Orders.Name, ob); err != nil {
		return err
	}
	return v.quarantine.Emit(ctx, out, schemas.QuarantinedOrders)
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

// Claim implements pipeline.OrderLookup.
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

// noteCurrency remembers the currencies of used orders (a handful; capped
// so a column of junk cannot grow it) when nothing converts them.
func (v *validator) noteCurrency(currency textFn, i int) {
	c, st := currency(i)
	if st != ok || c == v.lastCurrency || len(v.currencies) > 20 {
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

func emit(ctx context.Context, out pipeline.Emitter, table string, b *array.RecordBuilder) error {
	rec := b.NewRecord()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	return out.Emit(ctx, table, rec)
}

func isCounted(status string, counted []string) bool {
	status = strings.TrimSpace(status)
	for _, c := range counted {
		if strings.EqualFold(status, c) {
			return true
		}
	}
	return false
}

// reserveText sizes a string builder's data buffer from the source column,
// so appending a batch copies each value once instead of regrowing.
func reserveText(b *array.StringBuilder, src arrow.Array) {
	if s, ok := src.(*array.String); ok && s.Len() > 0 {
		b.ReserveData(int(s.ValueOffset(s.Len()-1)) + s.ValueLen(s.Len()-1) - int(s.ValueOffset(0)))
	}
}
