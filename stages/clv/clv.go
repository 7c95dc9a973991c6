// Package clv is the stage that fits the BTYD models (package btyd) on every
// customer's purchase history, checks them on a holdout, and predicts each
// customer's P(alive), purchases, chance of no purchase, next order date,
// order value and discounted CLV.
package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/btyd"
	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
	"retain/stages/internal/chunked"
	"retain/stages/internal/exactsum"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/history"
	"retain/stages/internal/localday"
	"retain/stages/internal/recovered"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/segments/segmentsconfig"
)

// BatchRows is the number of customers per emitted prediction batch.
const BatchRows = 64 * 1024

// monthDays is a month in the CLV sum, as the lifetimes package counts it.
const monthDays = 30

// maxNextOrderDays caps expected_next_order_date at 100 years of 365.25
// days: further out, the date says no more than null does, and far enough
// out it would not fit a DATE.
const maxNextOrderDays = 36525

// intervalSeed seeds the parameter draws of the prediction intervals. It is
// fixed, not taken from the run, so a rerun writes the same bounds.
const intervalSeed = 0x5eed_c1f0

// purchaseModels are the models clv.model auto fits, in the order their
// model_fit rows come and ties are broken.
var purchaseModels = []string{"bgnbd", "pareto_nbd", "mbgnbd"}

// Register adds the clv stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:   "clv",
		Doc:    "Fits BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma in days; model_fit, model_holdout, model_tracking and per-customer predictions.",
		Inputs: []string{schemas.CustomerPeriods.Name, schemas.CustomerMargins.Name},
		Outputs: []string{schemas.CustomerPredictions.Name, schemas.ModelFit.Name, schemas.ModelHoldout.Name, schemas.ModelTracking.Name,
			schemas.PeriodDayPrediction.Name},
		// Folding its input needs no emitter, so the runner may run its
		// Process calls beside the stages that feed it.
		Background: true,
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			s := &stage{rc: rc, runDay: localday.RunDate(rc), holdout: clvconfig.Of(rc.Job).HoldoutDays}
			s.prev.day = s.runDay - 1
			s.period.day, s.period.periodDay = kpisconfig.PeriodDayBefore(rc.Job, s.runDay), true
			s.changeTracking = segmentsconfig.Of(rc.Job).ChangeTracking
			s.walk.Visit = s.visit
			return s, nil
		},
	}, clvconfig.Section, kpisconfig.Section, segmentsconfig.Section)
}

// inputs are BTYD inputs in days, one entry per customer. add fills them
// a customer at a time and join, once the last is in, makes Customers and
// monetary of them; both are empty until then.
type inputs struct {
	btyd.Customers
	monetary    []float64
	x, tx, t, m chunked.Slice[float64]
}

func (in *inputs) add(x, tx, T, m float64) {
	in.x.Append(x)
	in.tx.Append(tx)
	in.t.Append(T)
	in.m.Append(m)
}

// added is the number of customers added and not yet joined.
func (in *inputs) added() int { return in.x.Len() }

func (in *inputs) join() {
	in.Frequency, in.Recency, in.T, in.monetary = in.x.Join(), in.tx.Join(), in.t.Join(), in.m.Join()
}

// joinVisits ends the customers' visits: what they added becomes the
// slices Finish reads. Only the first call joins.
func (s *stage) joinVisits() {
	if s.joined {
		return
	}
	s.joined = true
	s.ids = s.idsAdded.Join()
	s.full.join()
	s.cal.join()
	for _, p := range []*previous{&s.prev, &s.period} {
		p.at = p.atAdded.Join()
		p.full.join()
		p.cal.join()
	}
}

type stage struct {
	engine.BaseStage
	rc      *night.Context
	runDay  int32
	holdout int
	walk    history.PeriodWalker
	// ids are the customers' ids in customer order, built in idsAdded.
	ids      []string
	idsAdded chunked.Slice[string]
	joined   bool // joinVisits ran
	full     inputs
	// fullHistories is full's compression, made for the fits and kept for
	// the predictions; nil once they are done.
	fullHistories *histories
	// calibration inputs and holdout purchase days of customers whose first
	// order falls before the holdout window.
	cal    inputs
	actual []float64
	// holdoutDays counts the calibration customers' purchase days by day of
	// the holdout window (index 1 is the day after calibration ends), which
	// is all model_tracking needs of them.
	holdoutDays []float64
	// net is the visited customer's exact net value per cell.
	net []exactsum.Sum
	// prev is the night before the run date, period the same day of the
	// previous kpis.period.
	prev, period previous
	// changeTracking is segments.change_tracking: without it neither earlier
	// night is visited or fitted, and their columns stay null.
	changeTracking bool
	// margins are the customers' margin rates from their item costs, by
	// the fingerprint of customer_id (customer_margins); empty without
	// margin.item_costs.
	margins map[uint64]float64
	// intervalMethod is the method tonight's prediction intervals used,
	// draws or linear; empty without them.
	intervalMethod btyd.IntervalMethod
	// spendInIntervals says the CLV intervals carry the spend model's
	// uncertainty too.
	spendInIntervals bool
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	if table == schemas.CustomerMargins.Name {
		s.addMargins(rec)
		return nil
	}
	return s.walk.Add(rec)
}

// addMargins keeps the margin rates of a customer_margins batch; a customer
// whose rate is null (items worth nothing) falls back like one without items.
func (s *stage) addMargins(rec arrow.Record) {
	t := schemas.CustomerMargins
	keys := rec.Column(t.MustIndex("customer_key")).(*array.Int64)
	rates := rec.Column(t.MustIndex("margin_rate")).(*array.Float64)
	for i := 0; i < keys.Len(); i++ {
		if rates.IsNull(i) {
			continue
		}
		if s.margins == nil {
			s.margins = map[uint64]float64{}
		}
		s.margins[uint64(keys.Value(i))] = rates.Value(i)
	}
}

// marginOf is customer i's margin rate and whether it comes from the
// customer's item costs; ok is false when there is none.
func (s *stage) marginOf(i int, fallback *float64) (rate float64, fromItems, ok bool) {
	if len(s.margins) > 0 {
		if r, found := s.margins[fingerprint.Key(s.ids[i])]; found {
			return r, true, true
		}
	}
	if fallback != nil {
		return *fallback, false, true
	}
	return 0, false, false
}

func (s *stage) visit(c *history.Cells) error {
	s.idsAdded.Append(strings.Clone(c.ID))
	first := c.First[0]
	// The spend model is fitted on what purchases were worth once refunds
	// are netted off their days.
	n := len(c.First)
	s.net = c.NetSums(s.net[:0], n)
	x, tx, T, m := btydInputs(c, s.net, n, s.runDay)
	s.full.add(x, tx, T, m)
	if s.changeTracking {
		s.visitAsOf(&s.prev, c)
		s.visitAsOf(&s.period, c)
	}
	if s.holdout > 0 {
		calEnd := s.runDay - int32(s.holdout)
		if first <= calEnd {
			// The grid cuts after calEnd, and each day of the holdout
			// window is a cell of its own.
			k := c.Upto(calEnd)
			x, tx, T, m := btydInputs(c, s.net, k, calEnd)
			s.cal.add(x, tx, T, m)
			s.actual = append(s.actual, float64(c.PurchaseDays(n)-c.PurchaseDays(k)))
			if s.holdoutDays == nil {
				s.holdoutDays = make([]float64, s.holdout+1)
			}
			for j := k; j < n; j++ {
				off := int(c.First[j] - calEnd)
				if off > s.holdout {
					break
				}
				if c.Last[j] != c.First[j] {
					return fmt.Errorf("%s: customer %q has a cell of several days in the holdout window, from %s", schemas.CustomerPeriods.Name, c.ID,
						calendar.Date(c.First[j]).Format(time.DateOnly))
				}
				s.holdoutDays[off]++
			}
		}
	}
	return nil
}

// btydInputs are frequency, recency, T and mean repeat spend (of values,
// one per cell) from the first k cells, observed until day end. The first
// purchase day is a cell of its own, so the repeat purchase days are the
// days of cells 1 to k−1 and their value is those cells' sum.
func btydInputs(c *history.Cells, value []exactsum.Sum, k int, end int32) (x, tx, T, m float64) {
	x = float64(c.PurchaseDays(k) - 1)
	tx = float64(c.Last[k-1] - c.First[0])
	T = float64(end - c.First[0])
	if k > 1 {
		// Summed exactly and rounded once: a run for another night cuts
		// the same days into other cells, and must get the same bits.
		var sum exactsum.Sum
		for _, r := range value[1:k] {
			sum.Merge(r)
		}
		m = sum.Float64() / x
	}
	return x, tx, T, m
}

// fitted is one purchase model's outcome.
type fitted struct {
	name  string
	model btyd.PurchaseModel
	fit   btyd.Fit
	err   error
	// unc is the full fit's parameter uncertainty, uncErr why there is none
	// although the fit succeeded.
	unc    btyd.Uncertainty
	uncErr error
	// calibration fit and holdout scores
	calModel  btyd.PurchaseModel
	calFit    btyd.Fit
	calErr    error
	calUnc    btyd.Uncertainty
	calUncErr error
	scores    []bucketScore
	holdMAE   float64
	hasScore  bool
}

// ErrTooFewCustomers is wrapped when a fit is refused for lack of data.
var ErrTooFewCustomers = errors.New("too few customers to fit")

// ErrNoRepeatPurchases is wrapped when no customer has bought twice: the
// purchase models' dropout process is then not identified (the likelihood
// does not depend on it), and predictions from whatever the optimiser stops
// at would be confident nonsense, or infinite.
var ErrNoRepeatPurchases = errors.New("no customer has a repeat purchase")

// histories are a night's customers and, once a fit asks for them, their
// distinct (x, tₓ, T) with counts, which every candidate model fits on: the
// compression costs about as much as a BG/NBD fit at a million customers,
// so it is done once per set of customers, not once per model.
// The predictions and holdout scores on the same customers take the
// compression from here too.
type histories struct {
	btyd.Customers
	compression *btyd.Histories
}

func (h *histories) compressed() btyd.Customers { return h.of().Distinct() }

// of is the customers' compression, made on first use.
func (h *histories) of() *btyd.Histories {
	if h.compression == nil {
		h.compression = btyd.NewHistories(h.Customers)
	}
	return h.compression
}

func (s *stage) fitPurchase(name string, h *histories) (btyd.PurchaseModel, btyd.Fit, error) {
	c := h.Customers
	if n, min := c.Len(), clvconfig.Of(s.rc.Job).MinCustomers; n < min {
		return nil, btyd.Fit{Model: name, Customers: float64(n)}, fmt.Errorf("%s: %w: %d, clv.min_customers is %d", name, ErrTooFewCustomers, n, min)
	}
	if !slices.ContainsFunc(c.Frequency, func(f float64) bool { return f > 0 }) {
		return nil, btyd.Fit{Model: name, Customers: float64(c.Len())}, fmt.Errorf("%s: %w among %d: the dropout process cannot be estimated", name, ErrNoRepeatPurchases, c.Len())
	}
	switch name {
	case "bgnbd":
		m, f, err := btyd.FitBGNBD(h.compressed())
		return m, f, err
	case "mbgnbd":
		m, f, err := btyd.FitMBGNBD(h.compressed())
		return m, f, err
	case "pareto_nbd":
		m, f, err := btyd.FitParetoNBD(h.compressed())
		return m, f, err
	}
	return nil, btyd.Fit{Model: name}, fmt.Errorf("%s: unknown purchase model", name)
}

func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	if err := s.walk.Flush(); err != nil {
		return err
	}
	s.joinVisits()
	cfg := clvconfig.Of(s.rc.Job)
	log := s.rc.Log.With().Str("stage", "clv").Logger()
	var candidates []string
	switch cfg.Model {
	case "auto":
		candidates = purchaseModels
	case "bgnbd", "pareto_nbd", "mbgnbd":
		candidates = []string{cfg.Model}
	}
	// The earlier nights' fits are independent of tonight's and each fit
	// runs on one core, so they run beside them.
	var earlier []*previous
	if s.changeTracking {
		earlier = []*previous{&s.prev, &s.period}
	}
	prevDone := make(chan struct{}, len(earlier))
	for _, p := range earlier {
		go func() {
			defer func() { prevDone <- struct{}{} }()
			start := time.Now()
			// A panic on this goroutine would end the process; waitEarlier
			// raises it again where the engine recovers it.
			p.panicked = recovered.Call("earlier night's fit", nil, func() error {
				s.fitAsOf(p, candidates, log)
				return nil
			})
			// What each earlier night costs, for sizing change tracking.
			log.Info().Str("as_of", calendar.Date(p.day).Format(time.DateOnly)).Int("customers", p.customers).
				Float64("seconds", time.Since(start).Seconds()).Msg("earlier night fitted")
		}()
	}
	var models []*fitted
	s.fullHistories = &histories{Customers: s.full.Customers}
	full, cal := s.fullHistories, &histories{Customers: s.cal.Customers}
	for _, name := range candidates {
		f := &fitted{name: name}
		f.model, f.fit, f.err = s.fitPurchase(name, full)
		if f.err != nil {
			log.Error().Str("model", name).Err(f.err).Msg("purchase model fit failed; its predictions are left out")
		} else if f.unc, f.uncErr = purchaseUncertainty(f.model, full.compressed(), cfg.IntervalLevel); f.uncErr != nil {
			log.Warn().Str("model", name).Err(f.uncErr).Msg("no standard errors for the purchase model; its prediction intervals are left out")
		}
		if s.holdout > 0 && len(s.actual) > 0 {
			f.calModel, f.calFit, f.calErr = s.fitPurchase(name, cal)
			if f.calErr == nil {
				f.calUnc, f.calUncErr = purchaseUncertainty(f.calModel, cal.compressed(), cfg.IntervalLevel)
				predicted := cal.of().Expected(f.calModel, float64(s.holdout))
				f.scores = score(s.cal.Frequency, predicted, s.actual)
				f.holdMAE, f.hasScore = f.scores[0].mae, true
			} else {
				log.Error().Str("model", name).Err(f.calErr).Msg("calibration fit failed; no holdout score")
			}
		}
		models = append(models, f)
	}
	selected, reason := choose(models)

	spend := btyd.RepeatBuyers(s.full.Frequency, s.full.monetary)
	var gg btyd.GammaGamma
	var ggFit btyd.Fit
	var ggErr, ggUncErr error
	var ggUnc btyd.Uncertainty
	if n := len(spend.Frequency); n < cfg.MinCustomers {
		ggFit.Model, ggFit.Customers = "gamma_gamma", float64(n)
		ggErr = fmt.Errorf("gamma_gamma: %w: %d repeat buyers, clv.min_customers is %d", ErrTooFewCustomers, n, cfg.MinCustomers)
	} else {
		gg, ggFit, ggErr = btyd.FitGammaGamma(spend)
	}
	if ggErr != nil {
		log.Error().Err(ggErr).Msg("spend model fit failed; expected order value and CLV are left out")
	} else if ggUnc, ggUncErr = btyd.SpendUncertainty(gg, spend, cfg.IntervalLevel); ggUncErr != nil {
		log.Warn().Err(ggUncErr).Msg("no standard errors for the spend model; CLV intervals are left out")
	}
	spendModel := spendFit{gg: gg, ok: ggErr == nil, unc: ggUnc, uncOK: ggErr == nil && ggUncErr == nil}
	// Tonight's predictions and intervals need no earlier night, so they
	// are computed while the earlier fits finish; only the rows, which
	// carry the previous values, wait for them.
	waited := false
	waitEarlier := func() {
		if !waited {
			waited = true
			for range earlier {
				<-prevDone
			}
			for _, p := range earlier {
				if p.panicked != nil {
					panic(p.panicked)
				}
			}
		}
	}
	defer waitEarlier()
	if err := s.emitPredictions(ctx, out, selected, spendModel, waitEarlier); err != nil {
		return err
	}
	rec := s.periodTotal(&s.period)
	err := out.Emit(ctx, schemas.PeriodDayPrediction.Name, rec)
	rec.Release()
	if err != nil {
		return err
	}
	if err := s.emitFits(ctx, out, models, selected, reason, ggFit, ggErr, ggUnc, ggUncErr, spend); err != nil {
		return err
	}
	if err := s.emitHoldout(ctx, out, models); err != nil {
		return err
	}
	return s.emitTracking(ctx, out, models)
}

// purchaseUncertainty is a fitted purchase model's parameter uncertainty on
// the customers it was fitted to.
func purchaseUncertainty(m btyd.PurchaseModel, c btyd.Customers, level float64) (btyd.Uncertainty, error) {
	e, ok := m.(btyd.Estimable)
	if !ok {
		return btyd.Uncertainty{}, fmt.Errorf("%T has no likelihood to measure its uncertainty by", m)
	}
	return btyd.PurchaseUncertainty(e, c, level)
}

// spendFit is the spend model behind the predictions: ok when it fitted,
// uncOK when its standard errors were measured too.
type spendFit struct {
	gg        btyd.GammaGamma
	ok, uncOK bool
	unc       btyd.Uncertainty
}

// choose picks the purchase model behind the predictions among those that
// fitted: the lowest holdout MAE when every one of them has a holdout score,
// otherwise the highest log-likelihood, so that all candidates are ranked by
// one measure; the first in order wins a tie.
func choose(models []*fitted) (*fitted, string) {
	var ok []*fitted
	scored := true
	for _, m := range models {
		if m.err == nil {
			ok = append(ok, m)
			scored = scored && m.hasScore
		}
	}
	if len(ok) == 0 {
		return nil, ""
	}
	best := ok[0]
	for _, m := range ok[1:] {
		if scored && m.holdMAE < best.holdMAE || !scored && m.fit.LogLikelihood > best.fit.LogLikelihood {
			best = m
		}
	}
	var reason string
	switch {
	case len(models) == 1:
		reason = "the only model configured (clv.model)"
	case scored:
		reason = fmt.Sprintf("lowest holdout MAE (%.4f)", best.holdMAE)
	default:
		reason = fmt.Sprintf("highest log-likelihood (%.1f); no holdout", best.fit.LogLikelihood)
		var unscored []string
		for _, m := range ok {
			if !m.hasScore {
				unscored = append(unscored, m.name)
			}
		}
		if len(unscored) < len(ok) {
			// A holdout was scored, but not for every model.
			reason += " score for " + strings.Join(unscored, ", ")
		}
	}
	for _, m := range models {
		if m != best && m.err != nil {
			reason += "; " + m.name + " failed"
		}
	}
	return best, reason
}

// fullCompression is tonight's customers' compression, the fits' own
// when they made one.
func (s *stage) fullCompression() *btyd.Histories {
	if s.fullHistories == nil {
		s.fullHistories = &histories{Customers: s.full.Customers}
	}
	return s.fullHistories.of()
}

// emitPredictions computes tonight's predictions, then calls earlierDone,
// which returns once the earlier nights' values it joins are there.
func (s *stage) emitPredictions(ctx context.Context, out engine.Emitter, selected *fitted, spend spendFit, earlierDone func()) error {
	gg, hasValue := spend.gg, spend.ok
	var p btyd.Predictions
	var iv btyd.PredictionIntervals
	// hasIntervals: P(alive) and purchases; hasCLVInterval: CLV, which also
	// needs the spend model's uncertainty.
	var hasIntervals, hasCLVInterval bool
	if selected != nil && len(s.ids) > 0 {
		cfg := clvconfig.Of(s.rc.Job)
		o := btyd.PredictOptions{
			Horizon: float64(cfg.HorizonDays), MonthLength: monthDays, Months: cfg.HorizonMonths, DiscountRate: cfg.MonthlyDiscountRate,
		}
		e, ok := selected.model.(btyd.Estimable)
		if ok && cfg.IntervalDraws > 0 && selected.uncErr == nil {
			var gu btyd.Uncertainty // zero: the spend model held at its estimate
			if spend.uncOK {
				gu = spend.unc
			}
			var err error
			p, iv, err = s.fullCompression().PredictWithIntervals(e, selected.unc, gg, gu, s.full.monetary, o,
				btyd.IntervalOptions{Level: cfg.IntervalLevel, Draws: cfg.IntervalDraws, Seed: intervalSeed, Method: btyd.IntervalMethod(cfg.IntervalMethod)})
			if err != nil {
				s.rc.Log.Warn().Str("stage", "clv").Str("model", selected.name).Err(err).Msg("prediction intervals failed; they are left out")
			} else {
				hasIntervals, hasCLVInterval = true, spend.uncOK
				s.intervalMethod, s.spendInIntervals = iv.Method, spend.uncOK
				s.rc.Log.Info().Str("stage", "clv").Str("model", selected.name).Str("interval_method", string(iv.Method)).Int("draws", iv.Draws).Msg("prediction intervals")
			}
		}
		if !hasIntervals {
			p = s.fullCompression().Predict(selected.model, gg, s.full.monetary, o)
		}
	}
	s.fullHistories = nil
	earlierDone()
	t := schemas.CustomerPredictions
	b := array.NewRecordBuilder(s.rc.Mem, t.Schema())
	defer b.Release()
	f64 := func(name string) *array.Float64Builder { return b.Field(t.MustIndex(name)).(*array.Float64Builder) }
	ids, model := b.Field(t.MustIndex("customer_id")).(*array.StringBuilder), b.Field(t.MustIndex("clv_model")).(*array.StringBuilder)
	pAlive, expected, value, clv := f64("p_alive"), f64("expected_purchases"), f64("expected_avg_order_value"), f64("predicted_clv")
	none, gap := f64("p_no_purchase"), f64("avg_days_between_orders")
	next := b.Field(t.MustIndex("expected_next_order_date")).(*array.Date32Builder)
	pAliveLo, pAliveHi := f64("p_alive_low"), f64("p_alive_high")
	expectedLo, expectedHi := f64("expected_purchases_low"), f64("expected_purchases_high")
	clvLo, clvHi := f64("predicted_clv_low"), f64("predicted_clv_high")
	clvMargin, marginRate := f64("predicted_clv_margin"), f64("margin_rate")
	fromItems := b.Field(t.MustIndex("is_margin_rate_from_items")).(*array.BooleanBuilder)
	margin := clvconfig.Of(s.rc.Job).MarginRate
	// A prediction that is not finite (a fit at the edge of its parameter
	// space, such as BG/NBD at a = 1, where the expectation divides by
	// a − 1) is left null and counted: the writer refuses an infinity, and
	// one customer's would otherwise fail the whole night.
	var infinite int64
	put := func(fb *array.Float64Builder, v float64, ok bool) {
		switch {
		case !ok || math.IsNaN(v):
			fb.AppendNull()
		case math.IsInf(v, 0):
			infinite++
			fb.AppendNull()
		default:
			fb.Append(v)
		}
	}
	// Without a model the prediction columns are nil, and every value is
	// NaN, which put and nextOrderDate turn into null.
	at := func(v []float64, i int) float64 {
		if i < len(v) {
			return v[i]
		}
		return math.NaN()
	}
	has := selected != nil
	for start := 0; start < len(s.ids); start += BatchRows {
		for i := start; i < min(start+BatchRows, len(s.ids)); i++ {
			ids.Append(s.ids[i])
			put(pAlive, at(p.PAlive, i), has)
			put(expected, at(p.ExpectedPurchases, i), has)
			put(value, at(p.ExpectedAvgValue, i), hasValue && has)
			put(clv, at(p.CLV, i), hasValue && has)
			if has {
				model.Append(selected.name)
			} else {
				model.AppendNull()
			}
			put(none, at(p.PNoPurchase, i), has)
			if d, ok := nextOrderDate(s.runDay, at(p.NextOrderDays, i)); ok {
				next.Append(arrow.Date32(d))
			} else {
				next.AppendNull()
			}
			x := s.full.Frequency[i]
			put(gap, s.full.Recency[i]/x, x > 0)
			put(pAliveLo, at(iv.PAlive.Low, i), hasIntervals)
			put(pAliveHi, at(iv.PAlive.High, i), hasIntervals)
			put(expectedLo, at(iv.ExpectedPurchases.Low, i), hasIntervals)
			put(expectedHi, at(iv.ExpectedPurchases.High, i), hasIntervals)
			clvOK := hasCLVInterval && hasValue && !math.IsNaN(at(p.CLV, i))
			put(clvLo, at(iv.CLV.Low, i), clvOK)
			put(clvHi, at(iv.CLV.High, i), clvOK)
			rate, items, hasRate := s.marginOf(i, margin)
			put(clvMargin, at(p.CLV, i)*rate, hasRate && hasValue && has)
			put(marginRate, rate, hasRate)
			fromItems.Append(items)
			prevAlive, okAlive, prevCLV, okCLV := s.prev.values(i)
			put(f64("previous_p_alive"), prevAlive, okAlive)
			put(f64("previous_predicted_clv"), prevCLV, okCLV)
		}
		rec := b.NewRecord()
		err := out.Emit(ctx, schemas.CustomerPredictions.Name, rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	if infinite > 0 {
		s.rc.Log.Warn().Str("stage", "clv").Str("model", selected.name).Int64("values", infinite).
			Msg("predictions that are not finite were left null; the fit sits at the edge of its parameters (see model_fit)")
	}
	return nil
}

// nextOrderDate is the day number of expected_next_order_date for the
// even-odds time h: purchase days count from the run day in the model's
// time, so the first whole day after the run day by whose end the odds of
// another purchase reach even is ⌈h⌉ days on. False for NaN (no model),
// +Inf (no even odds) and beyond maxNextOrderDays.
func nextOrderDate(runDay int32, h float64) (int32, bool) {
	if !(h > 0 && h <= maxNextOrderDays) {
		return 0, false
	}
	return runDay + int32(math.Ceil(h)), true
}
