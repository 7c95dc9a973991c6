// Package customersummary is the stage that folds used orders, in one
// streaming pass, into one row per customer with the BTYD model inputs.
package customersummary

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/exactsum"
	"retain/stages/internal/localday"
	"retain/stages/internal/periods"
	"retain/stages/internal/recovered"
)

// BatchRows is the number of customers per emitted batch.
const BatchRows = 64 * 1024

// Register adds the customer_summary stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "customer_summary",
		Doc:     "One row per customer: first/last order, orders, revenue, and BTYD frequency, recency, T and monetary value in days.",
		Inputs:  []string{schemas.Orders.Name, schemas.OrderCells.Name, schemas.Refunds.Name},
		Outputs: []string{schemas.CustomerSummary.Name, schemas.CustomerPeriods.Name},
		// Product affinity holds validation's order-id set (one entry per
		// order, the largest state of a run) until it has matched every item;
		// finishing it first frees that set before the per-customer stages
		// build theirs.
		After: []string{"affinity"},
		// Folding its input needs no emitter, so the runner may run its
		// Process calls beside the stages that feed it.
		Background: true,
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			s := &stage{rc: rc, runDay: localday.RunDate(rc)}
			s.start()
			return s, nil
		},
	}, periods.Sections...)
}

// workers is how many goroutines fold orders. Each owns the customers
// whose id hashes to it, so no state is shared and nothing is locked; the
// output, sorted by customer id, is the same for any number of them.
var workers = 2

type stage struct {
	engine.BaseStage
	rc     *night.Context
	runDay int32
	// seed hashes ids for the workers' split and their indexes alike.
	seed    maphash.Seed
	parts   []*customers
	queues  []chan batch
	folding sync.WaitGroup
	stopped atomic.Bool
	closed  bool
	// refunds wait for Finish, when every order is folded, and go to the
	// worker that owns their customer.
	refunds []pendingRefund
}

// batch is an input batch queued for a worker, retained until it is folded.
type batch struct {
	table string
	rec   arrow.Record
}

func (s *stage) start() {
	s.seed = maphash.MakeSeed()
	for p := range workers {
		c := newCustomers(s.seed)
		q := make(chan batch, 2)
		s.parts, s.queues = append(s.parts, c), append(s.queues, q)
		s.folding.Add(1)
		go s.fold(p, c, q)
	}
}

// owner is the worker of the customer whose id hashes to h. It starts at
// bit 31, above the bits the index probes with, so each worker's index
// still spreads its ids over every position (for two workers it is bit 31
// alone, below the index's tags too).
func owner(h uint64) int { return int((h >> 31) % uint64(workers)) }

func (s *stage) fold(p int, c *customers, q <-chan batch) {
	defer s.folding.Done()
	for b := range q {
		if !s.stopped.Load() && c.err == nil {
			// A panic here would end the process: this goroutine is the
			// stage's own, out of the engine's reach.
			c.fail(recovered.Call("customer fold", nil, func() error {
				if b.table == schemas.OrderCells.Name {
					s.foldCells(p, c, b.rec)
				} else {
					s.foldOrders(p, c, b.rec)
				}
				return nil
			}))
		}
		b.rec.Release()
	}
}

// stop ends the workers once they have folded what is queued, or, after a
// failure, dropped it.
func (s *stage) stop(failed bool) {
	if s.closed {
		return
	}
	s.closed = true
	if failed {
		s.stopped.Store(true)
	}
	for _, q := range s.queues {
		close(q)
	}
	s.folding.Wait()
}

// Process hands an orders or order_cells batch to every worker. It does not
// wait on the context: the one a background stage gets may end with the
// stage that fed it, and the workers always take what they are given.
func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	if table == schemas.Refunds.Name {
		s.addRefunds(rec)
		return nil
	}
	for _, q := range s.queues {
		rec.Retain()
		q <- batch{table: table, rec: rec}
	}
	return nil
}

// foldOrders folds worker p's customers' rows of an orders batch.
func (s *stage) foldOrders(p int, c *customers, rec arrow.Record) {
	col := func(name string) arrow.Array { return rec.Column(schemas.Orders.MustIndex(name)) }
	ids := col("customer_id").(*array.String)
	ts := col("order_ts").(*array.Timestamp).TimestampValues()
	amounts := col("amount").(*array.Float64).Float64Values()
	country := col("country").(*array.String)
	channel := col("channel").(*array.String)
	loc := s.rc.Job.Location()
	own := c.run[:0]
	for i := range ts {
		id := ids.Value(i)
		h := maphash.String(s.seed, id)
		if owner(h) != p {
			continue
		}
		us := int64(ts[i])
		own = append(own, order{
			customer: id, hash: h, ts: us, lastTS: us, day: localday.Of(us, loc), orders: 1, amount: exactsum.Of(amounts[i]),
			country: country.Value(i), hasCtry: country.IsValid(i),
			channel: channel.Value(i), hasChan: channel.IsValid(i),
		})
		if len(own) == prefetchRows {
			c.addAll(own)
			own = own[:0]
		}
	}
	c.addAll(own)
	clear(own[:cap(own)]) // the ids point into rec, which is released next
	c.run = own[:0]
}

// foldCells folds worker p's customers' rows of an order_cells batch, which
// a warehouse computed with the same rules as foldOrders and the night's
// grid, its revenue as the exact sum's parts.
func (s *stage) foldCells(p int, c *customers, rec arrow.Record) {
	col := func(name string) arrow.Array { return rec.Column(schemas.OrderCells.MustIndex(name)) }
	ids := col("customer_id").(*array.String)
	firstDays := col("first_date").(*array.Date32).Date32Values()
	lastDays := col("last_date").(*array.Date32).Date32Values()
	days := col("purchase_days").(*array.Int64).Int64Values()
	orders := col("orders").(*array.Int64).Int64Values()
	units := col("revenue_units").(*array.Int64).Int64Values()
	hi := col("revenue_frac_hi").(*array.Int64).Int64Values()
	lo := col("revenue_frac_lo").(*array.Int64).Int64Values()
	first := col("first_order_at").(*array.Timestamp).TimestampValues()
	last := col("last_order_at").(*array.Timestamp).TimestampValues()
	country := col("country").(*array.String)
	channel := col("channel").(*array.String)
	for i := range firstDays {
		id := ids.Value(i)
		h := maphash.String(s.seed, id)
		if owner(h) != p {
			continue
		}
		var amount exactsum.Sum
		amount.AddParts(units[i], hi[i], lo[i])
		c.addCell(order{
			customer: id, hash: h, ts: int64(first[i]), lastTS: int64(last[i]), day: int32(firstDays[i]),
			orders: int32(orders[i]), amount: amount,
			country: country.Value(i), hasCtry: country.IsValid(i),
			channel: channel.Value(i), hasChan: channel.IsValid(i),
		}, int32(lastDays[i]), int32(days[i]))
	}
}

// Close ends the workers if Finish did not.
func (s *stage) Close(context.Context) error {
	s.stop(true)
	return nil
}

// slot is a customer of one worker's state.
type slot struct {
	part int32
	k    int32
	// prefix is the id's first 8 bytes, big-endian and zero-padded: it
	// orders ids as their bytes do, and most comparisons end on it
	// without reading the ids themselves.
	prefix uint64
}

// idPrefix is slot.prefix of id.
func idPrefix(id string) uint64 {
	var b [8]byte
	copy(b[:], id)
	return binary.BigEndian.Uint64(b[:])
}

// Finish emits customers sorted by customer_id, so reruns write identical
// files whichever worker folded whom, then their daily activity in the same
// order.
func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	s.stop(false)
	for _, r := range s.refunds {
		c := s.parts[owner(maphash.String(s.seed, r.customer))]
		c.refunds.pending = append(c.refunds.pending, r)
	}
	s.refunds = nil
	n, days, pooled, spilled, bytes := 0, 0, 0, 0, 0
	for _, c := range s.parts {
		if c.err != nil {
			return c.err
		}
		if err := c.settleRefunds(); err != nil {
			return err
		}
		n += c.len()
		for k := range c.len() {
			days += int(c.purchaseDays(int32(k)))
		}
		pooled += c.pool.len()
		spilled += len(c.spill)
		bytes += c.bytes()
	}
	s.rc.Log.Info().Str("stage", "customer_summary").Int("customers", n).Int("purchase_days", days).
		Int("pooled_days", pooled).Int("spilled_days", spilled).Int("state_bytes", bytes).Msg("orders folded")
	order := make([]slot, 0, n)
	for p, c := range s.parts {
		for k := range c.len() {
			order = append(order, slot{part: int32(p), k: int32(k), prefix: idPrefix(c.id(int32(k)))})
		}
	}
	slices.SortFunc(order, func(a, b slot) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		return strings.Compare(s.parts[a.part].id(a.k), s.parts[b.part].id(b.k))
	})
	grid, err := periods.For(s.rc.Job, s.runDay)
	if err != nil {
		return err
	}
	cells := s.startCutting(grid, order)
	err = s.emitSummary(ctx, order, out)
	var rows int
	if err == nil {
		rows, err = emitPeriods(ctx, s.rc.Mem, cells, out)
	}
	// A cutter that failed ended customer_periods early, which the
	// emitter cannot tell from its end: its error comes first.
	if cutErr := cells.stop(); cutErr != nil {
		return cutErr
	}
	if err != nil {
		return err
	}
	// What a warehouse folding by the same grid would send instead of one
	// row per purchase day.
	s.rc.Log.Info().Str("stage", "customer_summary").Int("customers", len(order)).Int("cells", rows).
		Int("daily_from_days_before_run_date", int(s.runDay-grid.DailyFrom)).Msg("customer periods cut")
	// Later stages finish with this state no longer needed.
	s.parts = nil
	return nil
}

// cutter is the goroutine cutting customer_periods' batches (see
// cutPeriods) while Finish emits them: the stages that read
// customer_periods run inside Emit, so cutting and reading would otherwise
// take turns on one core.
type cutter struct {
	free, cut chan *periodColumns
	done      chan struct{}
	running   sync.WaitGroup
	err       error
}

// startCutting starts cutting the cells of the customers in order.
func (s *stage) startCutting(grid periods.Grid, order []slot) *cutter {
	c := &cutter{free: make(chan *periodColumns, periodBuffers), cut: make(chan *periodColumns), done: make(chan struct{})}
	for range periodBuffers {
		c.free <- &periodColumns{}
	}
	c.running.Add(1)
	go func() {
		defer c.running.Done()
		defer close(c.cut)
		// A panic here would end the process with no status line.
		c.err = recovered.Call("customer_periods cutter", nil, func() error {
			s.cutPeriods(grid, order, c.free, c.cut, c.done)
			return nil
		})
	}()
	return c
}

// stop ends the cutting, early if it has not finished, and returns why it
// failed.
func (c *cutter) stop() error {
	close(c.done)
	c.running.Wait()
	return c.err
}

// cutPeriods cuts every customer's cells, in order, into batches it takes
// from free and sends on cut; it stops early when done is closed. It only
// reads the customers' state.
func (s *stage) cutPeriods(grid periods.Grid, order []slot, free <-chan *periodColumns, cut chan<- *periodColumns, done <-chan struct{}) {
	// send hands a full batch on and returns an empty one, or nil once
	// the emitter has stopped.
	send := func(cols *periodColumns) *periodColumns {
		select {
		case cut <- cols:
		case <-done:
			return nil
		}
		select {
		case next := <-free:
			return next
		case <-done:
			return nil
		}
	}
	var cols *periodColumns
	select {
	case cols = <-free:
	case <-done:
		return
	}
	var dayNums []int32
	for _, sl := range order {
		c, k := s.parts[sl.part], sl.k
		id, ctry := c.id(k), c.country(k)
		days := c.days(k)
		refunds := c.refundDays(k)
		dayNums = dayNums[:0]
		for _, d := range days {
			dayNums = append(dayNums, d.day)
		}
		// A warehouse's folded cell is one entry, its first day standing
		// for its days; it is a whole cell of the same grid.
		grid.Cells(dayNums, func(from, to int) {
			var orders, purchaseDays int64
			var revenue, refunded, runDate, later exactsum.Sum
			lastDay := days[to-1].day
			for _, d := range days[from:to] {
				orders += int64(d.orders)
				revenue.Merge(c.revenueOf(d))
				sp := c.spanOf(k, d.day)
				purchaseDays += int64(sp.days)
				lastDay = sp.last
				// Both lists are sorted by day: a refunded day is the
				// next refund's, or has none.
				for len(refunds) > 0 && refunds[0].day < d.day {
					refunds = refunds[1:]
				}
				for len(refunds) > 0 && refunds[0].day <= sp.last {
					refunded.Merge(refunds[0].amount)
					runDate.Merge(refunds[0].runDate)
					later.Merge(refunds[0].periodLater)
					refunds = refunds[1:]
				}
			}
			cols.ids = append(cols.ids, id)
			cols.countries = append(cols.countries, ctry)
			cols.hasCountry = append(cols.hasCountry, ctry != "")
			cols.first = append(cols.first, arrow.Date32(days[from].day))
			cols.last = append(cols.last, arrow.Date32(lastDay))
			cols.days = append(cols.days, purchaseDays)
			cols.orders = append(cols.orders, orders)
			cols.revenue = append(cols.revenue, revenue.Float64())
			cols.refunded = append(cols.refunded, refunded.Float64())
			cols.runDate = append(cols.runDate, runDate.Float64())
			cols.later = append(cols.later, later.Float64())
			for i, sum := range []exactsum.Sum{revenue, refunded, runDate, later} {
				r, ok := exactsum.Residual(sum)
				cols.residuals[i], cols.hasResid[i] = append(cols.residuals[i], r), append(cols.hasResid[i], ok)
			}
		})
		if len(cols.ids) >= BatchRows {
			if cols = send(cols); cols == nil {
				return
			}
		}
	}
	if len(cols.ids) > 0 {
		send(cols)
	}
}

// summaryColumns are one batch of customer_summary's computed columns, as
// slices appended to the builders whole: per-value appends to seventeen
// builders cost more than computing the rows.
type summaryColumns struct {
	first, last                 []arrow.Timestamp
	orders, refundedOrders      []int64
	freq, recency, tenure       []int64
	revenue, aov, refunded, net []float64
	rate, repeat                []float64
	hasRate, hasRepeat          []bool
	ids, countries, channels    []string
	hasCountry, hasChannel      []bool
}

func (s *stage) emitSummary(ctx context.Context, order []slot, out engine.Emitter) error {
	b := array.NewRecordBuilder(s.rc.Mem, schemas.CustomerSummary.Schema())
	defer b.Release()
	col := func(name string) array.Builder { return b.Field(schemas.CustomerSummary.MustIndex(name)) }
	snapshot := col("snapshot_date").(*array.Date32Builder)
	id := col("customer_id").(*array.StringBuilder)
	first := col("first_order_at").(*array.TimestampBuilder)
	last := col("last_order_at").(*array.TimestampBuilder)
	orders := col("order_count").(*array.Int64Builder)
	revenue := col("total_revenue").(*array.Float64Builder)
	aov := col("avg_order_value").(*array.Float64Builder)
	refunded := col("refunded_revenue").(*array.Float64Builder)
	netRevenue := col("net_revenue").(*array.Float64Builder)
	rate := col("refund_rate").(*array.Float64Builder)
	refundedOrders := col("refunded_orders").(*array.Int64Builder)
	freq := col("frequency").(*array.Int64Builder)
	recency := col("recency_days").(*array.Int64Builder)
	tenure := col("tenure_days").(*array.Int64Builder)
	repeat := col("repeat_avg_value").(*array.Float64Builder)
	country := col("country").(*array.StringBuilder)
	channel := col("channel").(*array.StringBuilder)

	var cols summaryColumns
	var snapshots []arrow.Date32
	for start := 0; start < len(order); start += BatchRows {
		batch := order[start:min(start+BatchRows, len(order))]
		c := &cols
		*c = summaryColumns{
			first: c.first[:0], last: c.last[:0], orders: c.orders[:0], refundedOrders: c.refundedOrders[:0],
			freq: c.freq[:0], recency: c.recency[:0], tenure: c.tenure[:0],
			revenue: c.revenue[:0], aov: c.aov[:0], refunded: c.refunded[:0], net: c.net[:0],
			rate: c.rate[:0], repeat: c.repeat[:0], hasRate: c.hasRate[:0], hasRepeat: c.hasRepeat[:0],
			ids: c.ids[:0], countries: c.countries[:0], channels: c.channels[:0], hasCountry: c.hasCountry[:0], hasChannel: c.hasChannel[:0],
		}
		for _, sl := range batch {
			p, k := s.parts[sl.part], sl.k
			days := p.days(k)
			f := p.purchaseDays(k) - 1
			cu := p.slots.At(int(k))
			c.ids = append(c.ids, p.id(k))
			c.first = append(c.first, arrow.Timestamp(cu.firstTS))
			c.last = append(c.last, arrow.Timestamp(cu.lastTS))
			c.orders = append(c.orders, cu.orders)
			total := p.totalOf(k)
			gross := total.Float64()
			c.revenue = append(c.revenue, gross)
			c.aov = append(c.aov, gross/float64(cu.orders))
			r := p.refundsOf(k)
			net := total
			net.Merge(r.amount.Neg())
			c.refunded = append(c.refunded, r.amount.Float64())
			c.net = append(c.net, net.Float64())
			if gross != 0 {
				c.rate, c.hasRate = append(c.rate, r.amount.Float64()/gross), append(c.hasRate, true)
			} else {
				c.rate, c.hasRate = append(c.rate, 0), append(c.hasRate, false)
			}
			c.refundedOrders = append(c.refundedOrders, r.orders)
			c.freq = append(c.freq, f)
			c.recency = append(c.recency, int64(p.lastDay(k)-days[0].day))
			c.tenure = append(c.tenure, int64(s.runDay-days[0].day))
			if f > 0 {
				// Monetary value leaves out the first purchase day, and
				// is net of refunds: what the customer's repeat days were
				// worth, summed exactly.
				repeatNet := net
				repeatNet.Merge(p.revenueOf(days[0]).Neg())
				repeatNet.Merge(p.dayRefund(k, days[0].day).amount)
				c.repeat, c.hasRepeat = append(c.repeat, repeatNet.Float64()/float64(f)), append(c.hasRepeat, true)
			} else {
				c.repeat, c.hasRepeat = append(c.repeat, 0), append(c.hasRepeat, false)
			}
			ctry, ch := p.country(k), p.channel(k)
			c.countries, c.hasCountry = append(c.countries, ctry), append(c.hasCountry, ctry != "")
			c.channels, c.hasChannel = append(c.channels, ch), append(c.hasChannel, ch != "")
		}
		for len(snapshots) < len(batch) {
			snapshots = append(snapshots, s.rc.SnapshotDate)
		}
		snapshot.AppendValues(snapshots[:len(batch)], nil)
		id.AppendValues(c.ids, nil)
		first.AppendValues(c.first, nil)
		last.AppendValues(c.last, nil)
		orders.AppendValues(c.orders, nil)
		revenue.AppendValues(c.revenue, nil)
		aov.AppendValues(c.aov, nil)
		refunded.AppendValues(c.refunded, nil)
		netRevenue.AppendValues(c.net, nil)
		rate.AppendValues(c.rate, c.hasRate)
		refundedOrders.AppendValues(c.refundedOrders, nil)
		freq.AppendValues(c.freq, nil)
		recency.AppendValues(c.recency, nil)
		tenure.AppendValues(c.tenure, nil)
		repeat.AppendValues(c.repeat, c.hasRepeat)
		country.AppendValues(c.countries, c.hasCountry)
		channel.AppendValues(c.channels, c.hasChannel)
		if err := emitBuilt(ctx, out, schemas.CustomerSummary.Name, b); err != nil {
			return err
		}
	}
	return nil
}

func emitBuilt(ctx context.Context, out engine.Emitter, table string, b *array.RecordBuilder) error {
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, table, rec)
}

// periodColumns are one batch of customer_periods, as slices appended to
// the builders whole.
type periodColumns struct {
	ids, countries             []string
	hasCountry                 []bool
	first, last                []arrow.Date32
	days, orders               []int64
	revenue, refunded, runDate []float64
	later                      []float64
	// residuals are the four money columns' residuals, valid where set.
	residuals [4][]float64
	hasResid  [4][]bool
}

func (p *periodColumns) reset() {
	*p = periodColumns{ids: p.ids[:0], countries: p.countries[:0], hasCountry: p.hasCountry[:0], first: p.first[:0], last: p.last[:0],
		days: p.days[:0], orders: p.orders[:0], revenue: p.revenue[:0], refunded: p.refunded[:0], runDate: p.runDate[:0], later: p.later[:0],
		residuals: p.residuals, hasResid: p.hasResid}
	for i := range p.residuals {
		p.residuals[i], p.hasResid[i] = p.residuals[i][:0], p.hasResid[i][:0]
	}
}

// periodBuffers is how many batches of customer_periods are being cut or
// emitted at once: one being cut while the other is emitted. A third
// bought no time on the 1M shop, and each costs about 8 MB.
const periodBuffers = 2

// emitPeriods emits the batches of customer_periods the cutter cuts and
// returns their rows: a batch of about BatchRows rows at a time, one
// customer's cells in one batch. Each cell's money is the exact sum of its
// days', rounded once, so the warehouse summing the same orders in SQL
// gives the same bits.
func emitPeriods(ctx context.Context, mem memory.Allocator, c *cutter, out engine.Emitter) (int, error) {
	b := array.NewRecordBuilder(mem, schemas.CustomerPeriods.Schema())
	defer b.Release()
	rows := 0
	for cols := range c.cut {
		b.Field(0).(*array.StringBuilder).AppendValues(cols.ids, nil)
		b.Field(1).(*array.StringBuilder).AppendValues(cols.countries, cols.hasCountry)
		b.Field(2).(*array.Date32Builder).AppendValues(cols.first, nil)
		b.Field(3).(*array.Date32Builder).AppendValues(cols.last, nil)
		b.Field(4).(*array.Int64Builder).AppendValues(cols.days, nil)
		b.Field(5).(*array.Int64Builder).AppendValues(cols.orders, nil)
		b.Field(6).(*array.Float64Builder).AppendValues(cols.revenue, nil)
		b.Field(7).(*array.Float64Builder).AppendValues(cols.refunded, nil)
		b.Field(8).(*array.Float64Builder).AppendValues(cols.runDate, nil)
		b.Field(9).(*array.Float64Builder).AppendValues(cols.later, nil)
		for i := range cols.residuals {
			b.Field(10+i).(*array.Float64Builder).AppendValues(cols.residuals[i], cols.hasResid[i])
		}
		rows += len(cols.ids)
		cols.reset()
		c.free <- cols
		if err := emitBuilt(ctx, out, schemas.CustomerPeriods.Name, b); err != nil {
			return rows, err
		}
	}
	return rows, nil
}
