package validate

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/schemas"
	"retain/stages/internal/ids"
	"retain/stages/internal/input"
	"retain/stages/internal/localday"
)

// checker does the part of validation that looks at one row alone: typing
// the values, converting the amount and finding the first failing check.
// It reads only settings and rates, which nothing changes once the stage
// is built, so one checker per worker checks batches side by side; what
// depends on rows before (the order-id set, the ledger, the counts) is
// left to the validator, which merges checked batches in arrival order.
type checker struct {
	counted   []string
	refundSts []string
	refundsOn bool
	fx        *rates
	loc       *time.Location
	layout    string
	windowEnd int64
	minTS     int64
	maxAmount float64
	// statuses as read and what they are, see statusKind
	statusSeen  []string
	statusKinds []int
	orders      *array.RecordBuilder
	oids        []string // the batch's order ids, trimmed
	// the orders record's text columns (order_id, customer_id, then
	// textColumns), gathered row by row and built whole (see textColumn)
	oText [2 + len(textColumns)]textColumn
	// the first few currencies as read, and their rates (see convert)
	seenCur []seenCurrency
	// free holds candidate slices of merged batches for reuse.
	free chan []candidate
	mem  memory.Allocator
}

// textColumn gathers the values of a string column, to be built in one
// go: a value appended to an Arrow builder one at a time pays for its
// bounds, growth and bitmap checks on every row, and the orders record
// takes six text values a row. The bytes gather in buffers that hold no
// pointers and are reused batch after batch; array copies them out whole.
// Values that are their raw column's, row after row, as most are, are
// copied a run of rows at a time.
type textColumn struct {
	data  []byte
	ends  []int32 // of each value in data
	nulls []int32 // the rows that are null, ascending
	// the raw column's offsets and bytes when it is a string column, and
	// the run of its rows [runFrom, runTo) taken but not yet copied
	srcOffs        []int32
	srcBytes       []byte
	runFrom, runTo int
}

// take adds s, row i's value, taken from the raw column as is unless it
// is shorter (trimmed) or the column is not strings. A value changed to
// one of the same length goes through add.
func (t *textColumn) take(i int, s string) {
	if t.srcOffs == nil || int(t.srcOffs[i+1]-t.srcOffs[i]) != len(s) {
		t.add(s)
		return
	}
	if i != t.runTo || t.runTo == t.runFrom {
		t.flush()
		t.runFrom = i
	}
	t.runTo = i + 1
}

// flush copies the run of raw rows taken.
func (t *textColumn) flush() {
	if t.runTo == t.runFrom {
		return
	}
	base, at := t.srcOffs[t.runFrom], int32(len(t.data))
	t.data = append(t.data, t.srcBytes[base:t.srcOffs[t.runTo]]...)
	for _, end := range t.srcOffs[t.runFrom+1 : t.runTo+1] {
		t.ends = append(t.ends, at+end-base)
	}
	t.runFrom, t.runTo = 0, 0
}

func (t *textColumn) add(s string) {
	t.flush()
	t.data = append(t.data, s...)
	t.ends = append(t.ends, int32(len(t.data)))
}

func (t *textColumn) addNull() {
	t.flush()
	t.nulls = append(t.nulls, int32(len(t.ends)))
	t.ends = append(t.ends, int32(len(t.data)))
}

// array returns the values gathered as a String array, and empties t.
func (t *textColumn) array(mem memory.Allocator) arrow.Array {
	t.flush()
	n := len(t.ends)
	offsets := memory.NewResizableBuffer(mem)
	offsets.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	offs[0] = 0
	copy(offs[1:], t.ends)
	data := memory.NewResizableBuffer(mem)
	data.Resize(len(t.data))
	copy(data.Bytes(), t.data)
	var valid *memory.Buffer
	if len(t.nulls) > 0 {
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := valid.Bytes()
		bitutil.SetBitsTo(bits, 0, int64(n), true)
		for _, i := range t.nulls {
			bitutil.ClearBit(bits, int(i))
		}
	}
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offsets, data}, nil, len(t.nulls), 0)
	a := array.NewStringData(d)
	d.Release()
	offsets.Release()
	data.Release()
	if valid != nil {
		valid.Release()
	}
	t.reset()
	return a
}

// reserve empties t, left over if a batch before panicked, and makes room
// for n values, as many bytes as src's values hold when it is a string
// column (trimmed ids are shorter, other columns' values format as they
// come).
func (t *textColumn) reserve(n int, src arrow.Array) {
	t.reset()
	size := 0
	if s, ok := src.(*array.String); ok && s.Len() > 0 {
		size = int(s.ValueOffset(s.Len()-1)) + s.ValueLen(s.Len()-1) - int(s.ValueOffset(0))
		t.srcOffs = s.ValueOffsets()
		if b := s.Data().Buffers()[2]; b != nil {
			t.srcBytes = b.Bytes()
		}
	}
	t.data, t.ends = slices.Grow(t.data, size), slices.Grow(t.ends, n)
}

// reset empties t.
func (t *textColumn) reset() {
	t.data, t.ends, t.nulls = t.data[:0], t.ends[:0], t.nulls[:0]
	t.srcOffs, t.srcBytes, t.runFrom, t.runTo = nil, nil, 0, 0 // they point into the raw batch
}

func newChecker(v *validator, mem memory.Allocator, free chan []candidate) *checker {
	return &checker{
		free:    free,
		counted: v.counted, refundSts: v.refundSts, refundsOn: v.refundsOn, fx: v.fx,
		loc: v.rc.Job.Location(), layout: v.layout,
		windowEnd: v.windowEnd, minTS: v.minTS, maxAmount: v.maxAmount,
		orders: array.NewRecordBuilder(mem, schemas.Orders.Schema()),
		mem:    mem,
	}
}

// checked is a raw batch with every row's verdict as far as the row alone
// decides it.
type checked struct {
	rec      arrow.Record // retained until merged
	file     string
	firstRow int64
	shared   *array.Boolean
	// lost and folded are the warehouse's flags (input.LostDuplicate,
	// input.FoldedOrder), nil when the batch has none.
	lost, folded *array.Boolean
	raw          map[string]arrow.Array
	// cands are the rows that passed every check and are not held, in
	// row order: the order-id set decides whether each is a duplicate.
	cands []candidate
	// orders holds the candidates that count as orders (kind is not
	// statusOther), in the same order.
	orders   arrow.Record
	rejected []rejected
	refunds  []heldRow
	dups     []heldRow
	// excluded rows: after the run date, and refunds whose status is not
	// counted.
	afterRunDate, refundsNotCounted int64
	trimmedOrder, trimmedCustomer   int64
	err                             error
	done                            chan struct{}
}

// seenCurrency is a currency as read and its rates; same is true when
// amounts in it need no conversion.
type seenCurrency struct {
	raw  string
	pts  []ratePoint
	same bool
	// the rate on the day last looked up, since rows of a day come
	// together in most exports
	day     int32
	rate    float64
	hasRate bool
	looked  bool
	// byDay[k] is the rate on day from+k, built on the first look up
	// (see rateOn); nil when the rates span too many days for a table.
	byDay []float64
	from  int32
	built bool
}

// maxRateDays bounds the days a currency's table of rates covers: some
// 180 years of daily rates, half a megabyte.
const maxRateDays = 1 << 16

// rateOn is rateOn(c.pts, day), looked up in a table of the days the
// rates span: rows come in any order of days, and a binary search over
// years of rates on every row costs more than the rest of the conversion.
func (c *seenCurrency) rateOn(day int32) (float64, bool) {
	if !c.built {
		c.built = true
		if n := len(c.pts); n > 0 && int64(c.pts[n-1].day)-int64(c.pts[0].day) < maxRateDays {
			c.from = c.pts[0].day
			c.byDay = make([]float64, int(c.pts[n-1].day-c.from)+1)
			k := 0
			for d := range c.byDay {
				for k+1 < n && c.pts[k+1].day <= c.from+int32(d) {
					k++
				}
				c.byDay[d] = c.pts[k].rate
			}
		}
	}
	if c.byDay == nil {
		return rateOn(c.pts, day)
	}
	switch {
	case day < c.from:
		return 0, false
	case int64(day)-int64(c.from) >= int64(len(c.byDay)):
		return c.byDay[len(c.byDay)-1], true
	}
	return c.byDay[day-c.from], true
}

// candidate is a row of a checked batch that passed every check. It holds
// no pointers, so a batch's candidates cost the collector nothing; a
// candidate that counts as an order has its other values in the batch's
// orders record.
type candidate struct {
	key  uint64
	orig float64 // the amount in the row's own currency
	row  int32
	kind uint8
	// replaced has bit k set when invalid UTF-8 in textColumns[k] was
	// replaced in the orders row.
	replaced uint8
}

// rejected is a row of a checked batch quarantined for its own values.
type rejected struct {
	row    int
	reason string
}

// check judges every row of c.rec by its own values, in row order.
func (ck *checker) check(c *checked) {
	rec := c.rec
	file, firstRow := c.file, c.firstRow
	raw := map[string]arrow.Array{}
	for _, col := range schemas.Orders.Columns {
		raw[col.Name] = column(rec, col.Name)
	}
	c.raw = raw
	orderID := textAccessor(raw["order_id"])
	customerID := textAccessor(raw["customer_id"])
	orderTS := tsAccessor(raw["order_ts"], ck.loc, ck.layout)
	amount := amountAccessor(raw["amount"])
	statusOf := textAccessor(raw["status"])
	currency := textAccessor(raw["currency"])

	ob := ck.orders
	oTS := ob.Field(2).(*array.TimestampBuilder)
	oAmt := ob.Field(3).(*array.Float64Builder)
	oID, oCust, oText := &ck.oText[0], &ck.oText[1], ck.oText[2:]
	texts := []textFn{currency, textAccessor(raw["country"]), textAccessor(raw["channel"]), statusOf}
	var checkText [len(textColumns)]bool
	for k, name := range textColumns {
		checkText[k] = mayBeInvalidUTF8(raw[name])
	}
	checkOID, checkCID := mayBeInvalidUTF8(raw["order_id"]), mayBeInvalidUTF8(raw["customer_id"])
	n := int(rec.NumRows())
	oTS.Reserve(n)
	oAmt.Reserve(n)
	for k, name := range [...]string{"order_id", "customer_id", textColumns[0], textColumns[1], textColumns[2], textColumns[3]} {
		ck.oText[k].reserve(n, raw[name])
	}

	oids := ck.oids[:0]
	for i := 0; i < n; i++ {
		id, st := orderID(i)
		if st == ok {
			id = ids.Trim(id, &c.trimmedOrder)
		}
		oids = append(oids, id)
	}
	ck.oids = oids

	shared := c.shared
	c.cands = ck.takeCands(n)
	for i := 0; i < n; i++ {
		// Known before the duplicate check, so the id goes into the set
		// already flagged as used or not: one probe per order. An order
		// with a refund status is used: the customer did buy.
		kind := statusCounted
		if st, s := statusOf(i); s == ok {
			kind = ck.statusKind(st)
		}
		oid := oids[i] // "" when null
		cid, s2 := customerID(i)
		cid = ids.Trim(cid, &c.trimmedCustomer)
		ts, s3 := orderTS(i)
		amt, s4 := amount(i)
		// A negative amount is a refund of the order it names, checked
		// against that order once every row is seen; its value from here
		// on is the money refunded, converted like any amount.
		refund := s4 == ok && amt < 0 && ck.refundsOn
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
		case s3 == outOfRange || ts < ck.minTS:
			reason = ReasonOrderTSOutOfRange
		case s4 == null:
			reason = ReasonMissingAmount
		case s4 == bad:
			reason = ReasonNonNumericAmount
		case amt < 0:
			reason = ReasonNegativeAmount
		case ck.fx != nil && !ck.convert(&amt, currency, i, ts):
			reason = ReasonUnknownCurrency
		case !(amt <= ck.maxAmount): // +Inf from a huge rate or "1e400" too
			reason = ReasonAmountOutOfRange
		case ts >= ck.windowEnd:
			c.afterRunDate++
			continue
		case refund:
			// Not an order of its own, so not a duplicate of the one it
			// refunds.
			if kind == statusOther {
				c.refundsNotCounted++
			} else {
				c.refunds = append(c.refunds, hold(orderKey(oid), oid, cid, ts, amt, orig, kind, file, input.RowOf(firstRow, i), raw, i))
			}
			continue
		case c.lost != nil && c.lost.Value(i):
			// The warehouse compared it with its id's other rows.
			reason = ReasonDuplicateOrderID
		case c.folded != nil && c.folded.Value(i):
			// Counted and folded by the warehouse; held for refunds
			// to be matched against (see settleDuplicates).
			h := hold(orderKey(oid), oid, cid, ts, amt, orig, kind, file, input.RowOf(firstRow, i), raw, i)
			h.folded = true
			c.dups = append(c.dups, h)
			continue
		case shared.Value(i):
			// Which of the id's rows wins is known once every row is.
			c.dups = append(c.dups, hold(orderKey(oid), oid, cid, ts, amt, orig, kind, file, input.RowOf(firstRow, i), raw, i))
			continue
		}
		if reason != "" {
			c.rejected = append(c.rejected, rejected{row: i, reason: reason})
			continue
		}
		cd := candidate{row: int32(i), key: orderKey(oid), orig: orig, kind: uint8(kind)}
		if kind != statusOther {
			oID.take(i, oid)
			oCust.take(i, cid)
			oTS.UnsafeAppend(arrow.Timestamp(ts))
			oAmt.UnsafeAppend(amt)
			for k, f := range texts {
				s, st := f(i)
				if st != ok {
					oText[k].addNull()
					continue
				}
				if checkText[k] && !utf8.ValidString(s) {
					s = strings.ToValidUTF8(s, "\uFFFD")
					cd.replaced |= 1 << k
				}
				if cd.replaced&(1<<k) != 0 {
					oText[k].add(s)
				} else {
					oText[k].take(i, s)
				}
			}
		}
		c.cands = append(c.cands, cd)
	}
	clear(oids) // they point into this batch's buffers
	c.orders = ck.ordersRecord()
}

// ordersRecord builds the orders record of the rows gathered, and empties
// the builders for the next batch.
func (ck *checker) ordersRecord() arrow.Record {
	ob := ck.orders
	cols := make([]arrow.Array, ob.Schema().NumFields())
	for k := range ck.oText {
		f := k
		if k >= 2 {
			f = k + 2 // after order_ts and amount
		}
		cols[f] = ck.oText[k].array(ck.mem)
	}
	cols[2] = ob.Field(2).NewArray()
	cols[3] = ob.Field(3).NewArray()
	rec := array.NewRecord(ob.Schema(), cols, int64(cols[2].Len()))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// statusKind classifies a status; the config check keeps the lists apart.
// A shop has a handful of statuses as written, so the first few are
// remembered exactly as read, sparing the case-folding comparisons with
// every listed status on each row.
func (ck *checker) statusKind(status string) int {
	for i, s := range ck.statusSeen {
		if s == status {
			return ck.statusKinds[i]
		}
	}
	kind := ck.classify(status)
	if len(ck.statusSeen) < 8 {
		ck.statusSeen = append(ck.statusSeen, strings.Clone(status))
		ck.statusKinds = append(ck.statusKinds, kind)
	}
	return kind
}

func (ck *checker) classify(status string) int {
	status = strings.TrimSpace(status)
	for _, c := range ck.counted {
		if strings.EqualFold(status, c) {
			return statusCounted
		}
	}
	for _, c := range ck.refundSts {
		if strings.EqualFold(status, c) {
			return statusRefund
		}
	}
	return statusOther
}

// convert turns *amount into the reporting currency. A shop has a handful
// of currencies as written, so the rates of the first few are kept by
// their text as read, sparing the case folding and the map lookup.
func (ck *checker) convert(amount *float64, currency textFn, i int, ts int64) bool {
	c, st := currency(i)
	if st != ok {
		return true // taken to be in the reporting currency
	}
	var cur *seenCurrency
	for k := range ck.seenCur {
		if ck.seenCur[k].raw == c {
			cur = &ck.seenCur[k]
			break
		}
	}
	if cur == nil {
		pts, same := ck.fx.pointsOf(c)
		if len(ck.seenCur) >= 8 {
			if same {
				return true
			}
			converted, found := ck.fx.at(pts, *amount, ts)
			if found {
				*amount = converted
			}
			return found
		}
		ck.seenCur = append(ck.seenCur, seenCurrency{raw: strings.Clone(c), pts: pts, same: same})
		cur = &ck.seenCur[len(ck.seenCur)-1]
	}
	if cur.same {
		return true
	}
	if day := localday.Of(ts, ck.loc); !cur.looked || day != cur.day {
		cur.rate, cur.hasRate = cur.rateOn(day)
		cur.day, cur.looked = day, true
	}
	if !cur.hasRate {
		return false
	}
	*amount *= cur.rate
	return true
}

// takeCands returns an empty slice for n candidates, one a merged batch
// gave back when there is one.
func (ck *checker) takeCands(n int) []candidate {
	select {
	case c := <-ck.free:
		if cap(c) >= n {
			return c[:0]
		}
	default:
	}
	return make([]candidate, 0, n)
}
