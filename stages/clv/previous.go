package clv

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/rs/zerolog"

	"retain/btyd"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
	"retain/stages/internal/chunked"
	"retain/stages/internal/exactsum"
	"retain/stages/internal/history"
)

// previous is an earlier night as a run for that date would fit it on the
// same input: its own full fit and holdout split, model choice and
// Gamma-Gamma, with point predictions for its customers. The stage keeps
// two: the night before the run date (previous_* columns, model_fit's
// drift) and the same day of the previous kpis.period (the report's tile).
type previous struct {
	// day is the night; periodDay marks the same day of the previous
	// kpis.period, which nets refunds with NetUptoPeriodDay.
	day       int32
	periodDay bool
	// at is, per customer of the run in id order, the customer's index in
	// full, or −1 for a customer whose first order is on the run date.
	at      []int32
	atAdded chunked.Slice[int32] // at, as visitAsOf builds it
	full    inputs
	cal     inputs
	actual  []float64
	// fits by model and fit scope, as model_fit names them; a missing key
	// is a fit the previous night did not make.
	fits map[[2]string]prevFit
	// net is the visited customer's net value per cell as the
	// previous night saw it, reused from customer to customer.
	net []exactsum.Sum
	p   btyd.Predictions
	// has: a purchase model was selected; hasValue: Gamma-Gamma fitted too.
	has, hasValue bool
	// customers and total are the night's customers and summed CLV, all
	// the previous period's day keeps once fitted (see periodTotal).
	customers int
	total     float64
	// panicked is the fit's panic, recovered on its goroutine.
	panicked error
}

type prevFit struct {
	fit btyd.Fit
	err error
}

// visitAsOf adds the customer as of night p.day: the same inputs a run for
// that night computes, on net values as that night saw them (refunds dated
// after it left out). The grid cuts after the night and after its
// calibration end, so both are whole cells.
func (s *stage) visitAsOf(p *previous, c *history.Cells) {
	end := p.day
	k := c.Upto(end)
	// Only the previous night is looked up per customer.
	if k == 0 {
		if !p.periodDay {
			p.atAdded.Append(-1)
		}
		return
	}
	if !p.periodDay {
		p.atAdded.Append(int32(p.full.added()))
	}
	if p.periodDay {
		p.net = c.NetUptoPeriodDaySums(p.net[:0], k)
	} else {
		p.net = c.NetUptoSums(p.net[:0], k)
	}
	x, tx, T, m := btydInputs(c, p.net, k, end)
	p.full.add(x, tx, T, m)
	if s.holdout > 0 {
		calEnd := end - int32(s.holdout)
		if j := c.Upto(calEnd); j > 0 {
			x, tx, T, m := btydInputs(c, p.net, j, calEnd)
			p.cal.add(x, tx, T, m)
			p.actual = append(p.actual, float64(c.PurchaseDays(k)-c.PurchaseDays(j)))
		}
	}
}

// fitAsOf fits night p with the model choice of Finish. Parameter
// uncertainty and intervals are left out: only point predictions and
// parameters are compared.
func (s *stage) fitAsOf(p *previous, candidates []string, log zerolog.Logger) {
	p.fits = map[[2]string]prevFit{}
	n := len(p.full.Frequency)
	p.customers = n
	if n == 0 {
		return
	}
	cfg := clvconfig.Of(s.rc.Job)
	warn := func(model string, err error) {
		// Too few customers on the previous night is expected while a
		// shop is young, and tonight's fit says so already.
		if !errors.Is(err, ErrTooFewCustomers) && !errors.Is(err, ErrNoRepeatPurchases) {
			if p.periodDay {
				log.Warn().Str("model", model).Err(err).Msg("the fit as of the same day of the previous period failed; the report's predicted value is not compared with it")
			} else {
				log.Warn().Str("model", model).Err(err).Msg("previous night's fit failed; its previous_* values are left null")
			}
		}
	}
	var models []*fitted
	full, cal := &histories{Customers: p.full.Customers}, &histories{Customers: p.cal.Customers}
	for _, name := range candidates {
		f := &fitted{name: name}
		f.model, f.fit, f.err = s.fitPurchase(name, full)
		p.fits[[2]string{name, "full"}] = prevFit{f.fit, f.err}
		if f.err != nil {
			warn(name, f.err)
		}
		if s.holdout > 0 && len(p.actual) > 0 {
			f.calModel, f.calFit, f.calErr = s.fitPurchase(name, cal)
			p.fits[[2]string{name, "calibration"}] = prevFit{f.calFit, f.calErr}
			if f.calErr == nil {
				predicted := cal.of().Expected(f.calModel, float64(s.holdout))
				f.scores = score(p.cal.Frequency, predicted, p.actual)
				f.holdMAE, f.hasScore = f.scores[0].mae, true
			}
		}
		models = append(models, f)
	}
	selected, _ := choose(models)
	spend := btyd.RepeatBuyers(p.full.Frequency, p.full.monetary)
	var gg btyd.GammaGamma
	var ggFit btyd.Fit
	var ggErr error
	if m := len(spend.Frequency); m < cfg.MinCustomers {
		ggFit.Model, ggFit.Customers = "gamma_gamma", float64(m)
		ggErr = fmt.Errorf("gamma_gamma: %w: %d repeat buyers, clv.min_customers is %d", ErrTooFewCustomers, m, cfg.MinCustomers)
	} else if gg, ggFit, ggErr = btyd.FitGammaGamma(spend); ggErr != nil {
		warn("gamma_gamma", ggErr)
	}
	p.fits[[2]string{"gamma_gamma", "full"}] = prevFit{ggFit, ggErr}
	if selected == nil {
		return
	}
	o := btyd.PredictOptions{Horizon: float64(cfg.HorizonDays), MonthLength: monthDays, Months: cfg.HorizonMonths, DiscountRate: cfg.MonthlyDiscountRate}
	p.p = full.of().PredictValue(selected.model, gg, p.full.monetary, o)
	p.has, p.hasValue = true, ggErr == nil
	if p.periodDay {
		// The report needs the sum alone: what a run for that day adds up
		// of customer_segments' predicted_clv, whose nulls (a value that
		// is not finite) it leaves out, in customer order.
		for _, v := range p.p.CLV {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				p.total += v
			}
		}
		p.p, p.full, p.cal = btyd.Predictions{}, inputs{}, inputs{}
	}
}

// previousValues are customer i's previous_p_alive and previous_predicted_clv
// with whether each is known.
func (p *previous) values(i int) (pAlive float64, okAlive bool, clv float64, okCLV bool) {
	if i >= len(p.at) || p.at[i] < 0 || !p.has {
		return 0, false, 0, false
	}
	k := p.at[i]
	return p.p.PAlive[k], true, p.p.CLV[k], p.hasValue
}

// putDrift appends model_fit's previous_<param>, <param>_change and
// is_drifted for row r, and logs a drifted fit.
func (s *stage) putDrift(b *array.RecordBuilder, r fitRow, ok bool, log zerolog.Logger) {
	t := schemas.ModelFit
	pf, had := s.prev.fits[[2]string{r.model, r.scope}]
	prevOK := had && pf.err == nil && pf.fit.Converged
	threshold := clvconfig.Of(s.rc.Job).DriftThreshold
	var drifted []string
	for _, name := range schemas.FitParams {
		now, hasNow := param(r.fit, name)
		before, hasBefore := param(pf.fit, name)
		hasBefore = hasBefore && prevOK
		appendFloat(b.Field(t.MustIndex("previous_"+name)).(*array.Float64Builder), before, hasBefore)
		change := (now - before) / math.Abs(before)
		hasChange := hasBefore && ok && hasNow
		appendFloat(b.Field(t.MustIndex(name+"_change")).(*array.Float64Builder), change, hasChange)
		if hasChange && math.Abs(change) > threshold {
			drifted = append(drifted, name)
		}
	}
	b.Field(t.MustIndex("is_drifted")).(*array.BooleanBuilder).Append(len(drifted) > 0)
	if len(drifted) > 0 {
		log.Warn().Str("model", r.model).Str("fit_scope", r.scope).Strs("parameters", drifted).Float64("drift_threshold", threshold).
			Msg("model parameters moved more than clv.drift_threshold since the previous night (" + strings.Join(drifted, ", ") + "); check the input feed")
	}
}

func appendFloat(fb *array.Float64Builder, v float64, ok bool) {
	if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
		fb.Append(v)
	} else {
		fb.AppendNull()
	}
}

// periodTotal is the record of period_day_prediction: what the report of a
// run for p.day adds up as its predicted value, null when that day's fits
// made no CLV.
func (s *stage) periodTotal(p *previous) arrow.Record {
	t := schemas.PeriodDayPrediction
	b := array.NewRecordBuilder(s.rc.Mem, t.Schema())
	defer b.Release()
	b.Field(t.MustIndex("as_of_date")).(*array.Date32Builder).Append(arrow.Date32(p.day))
	b.Field(t.MustIndex("customers")).(*array.Int64Builder).Append(int64(p.customers))
	total := b.Field(t.MustIndex("predicted_clv")).(*array.Float64Builder)
	if p.has && p.hasValue {
		total.Append(p.total)
	} else {
		total.AppendNull()
	}
	return b.NewRecord()
}
