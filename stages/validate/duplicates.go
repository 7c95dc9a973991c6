package validate

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/ids"
	"retain/stages/internal/input"
	"retain/stages/internal/rules"
)

// compareDuplicates orders the held rows of shared order ids: by id, then
// by rule R1 (docs: README, "Duplicate order ids"), so the least row of
// each id comes first and wins. Its values, never its place in the
// input, decide: order_ts, customer_id, the amount as read, then
// currency, status, country and channel as read (null first). Rows equal
// in all of these give the same used order; the other values as read
// decide which of them the quarantine table shows, and only rows equal in
// every column fall back to their position, where quarantining either is
// the same.
func compareDuplicates(a, b *heldRow) int {
	if c := strings.Compare(a.orderID, b.orderID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	if c := strings.Compare(a.customer, b.customer); c != 0 {
		return c
	}
	if c := cmp.Compare(a.orig, b.orig); c != 0 {
		return c
	}
	// -0 and 0 compare equal yet differ in the orders table.
	if c := cmp.Compare(signBit(b.orig), signBit(a.orig)); c != 0 {
		return c
	}
	for _, k := range [...]int{currencyColumn, statusColumn, countryColumn, channelColumn, 0, 1, 2, 3} {
		if c := compareRaw(a, b, k); c != 0 {
			return c
		}
	}
	if c := strings.Compare(a.file, b.file); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

// signBit is 1 for a negative zero (amounts are never below zero here).
func signBit(f float64) int {
	if math.Signbit(f) {
		return 1
	}
	return 0
}

// compareRaw compares column k of rawColumns as read: null first, then
// byte order.
func compareRaw(a, b *heldRow, k int) int {
	switch {
	case a.has[k] != b.has[k]:
		if a.has[k] {
			return 1
		}
		return -1
	case !a.has[k]:
		return 0
	}
	return strings.Compare(a.raw[k], b.raw[k])
}

// settleDuplicates decides the held rows of shared order ids: the least
// row of each id (compareDuplicates) is used, or excluded when its status
// does not count, and every other row of the id is quarantined as
// duplicate_order_id. Winners go into the orders table sorted by order id,
// before refunds are matched with their orders.
func (v *validator) settleDuplicates(ctx context.Context, out engine.Emitter) error {
	held := v.dups.Join()
	v.rc.Log.Info().Str("stage", "validate").Int("shared_id_rows_held", len(held)).
		Int64("held_bytes", heldBytes(held)).Msg("deciding duplicate order ids")
	if len(held) == 0 {
		return nil
	}
	order := make([]*heldRow, len(held))
	for i := range held {
		order[i] = &held[i]
	}
	slices.SortFunc(order, compareDuplicates)
	loc := v.rc.Job.Location()
	rows := v.rc.Rows
	ob := v.orders
	oID := ob.Field(0).(*array.StringBuilder)
	oCust := ob.Field(1).(*array.StringBuilder)
	oTS := ob.Field(2).(*array.TimestampBuilder)
	oAmt := ob.Field(3).(*array.Float64Builder)
	// The orders table's text columns and their places in rawColumns.
	oText := []*array.StringBuilder{ob.Field(4).(*array.StringBuilder), ob.Field(5).(*array.StringBuilder), ob.Field(6).(*array.StringBuilder), ob.Field(7).(*array.StringBuilder)}
	texts := [...]int{currencyColumn, countryColumn, channelColumn, statusColumn}
	var replaced [len(textColumns)]int64
	var winner *heldRow
	for i, h := range order {
		if i > 0 && order[i-1].orderID == h.orderID {
			if h.folded || winner.folded {
				// The warehouse settled the id and flagged every loser.
				return fmt.Errorf("%w: order id %q has a row flagged %s and another row that is not flagged %s", ErrWarehouseFlags, h.orderID, input.FoldedOrder, input.LostDuplicate)
			}
			v.duplicate(h)
			continue
		}
		winner = h
		var used fingerprint.Flag
		if h.kind != statusOther {
			used = flagUsed
		}
		if h.folded {
			if h.kind == statusOther {
				return fmt.Errorf("%w: order id %q is flagged %s but its status does not count", ErrWarehouseFlags, h.orderID, input.FoldedOrder)
			}
			// Counted by the warehouse already, so a fingerprint shared
			// with another used id cannot quarantine it now: one of the
			// two would take the other's refunds.
			if !v.ids.AddKey(h.key, used) {
				return fmt.Errorf("%w: order id %q, folded by the warehouse, shares its fingerprint with another order id", ErrFingerprintCollision, h.orderID)
			}
			v.useOrder(h.key, h.orderID, h.customer, h.ts, h.amount, h.orig, int(h.kind), h.raw[currencyColumn], h.has[currencyColumn], true, loc)
			continue
		}
		if !v.ids.AddKey(h.key, used) {
			// Another id with the same fingerprint is used already.
			v.duplicate(h)
			continue
		}
		if h.kind == statusOther {
			rows.Excluded[rules.ExcludedStatusNotCounted]++
			continue
		}
		v.useOrder(h.key, h.orderID, h.customer, h.ts, h.amount, h.orig, int(h.kind), h.raw[currencyColumn], h.has[currencyColumn], true, loc)
		rows.Used++
		oID.Append(h.orderID)
		oCust.Append(h.customer)
		oTS.Append(arrow.Timestamp(h.ts))
		oAmt.Append(h.amount)
		for k, c := range texts {
			if !h.has[c] {
				oText[k].AppendNull()
				continue
			}
			s := h.raw[c]
			if !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "\uFFFD")
				replaced[k]++
			}
			oText[k].Append(s)
		}
		if oID.Len() >= batchRows {
			if err := emit(ctx, out, schemas.Orders.Name, ob); err != nil {
				return err
			}
		}
	}
	for k, c := range replaced {
		ids.AddCount(rows.Replaced, textColumns[k], c)
	}
	if err := emit(ctx, out, schemas.Orders.Name, ob); err != nil {
		return err
	}
	return emit(ctx, out, schemas.Refunds.Name, v.refundRows)
}

// duplicate quarantines a held row that lost to another row of its id.
func (v *validator) duplicate(h *heldRow) {
	v.quarantine.AddValues(ReasonDuplicateOrderID, schemas.Orders.Name, h.file, h.row, h.value)
	v.rc.Rows.Quarantined[ReasonDuplicateOrderID]++
}

// heldBytes is what held rows take: the rows and the text they copied.
func heldBytes(held []heldRow) int64 {
	n := int64(cap(held)) * int64(unsafe.Sizeof(heldRow{}))
	for i := range held {
		h := &held[i]
		n += int64(len(h.orderID) + len(h.customer))
		for k, s := range h.raw {
			// An id as read may be the trimmed id itself (see hold).
			if k == 0 && unsafe.StringData(s) == unsafe.StringData(h.orderID) || k == 1 && unsafe.StringData(s) == unsafe.StringData(h.customer) {
				continue
			}
			n += int64(len(s))
		}
	}
	return n
}
