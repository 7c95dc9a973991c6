package clv

import (
	"context"
	"math"
	"slices"

	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/btyd"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
)

// bucketScore compares predicted and actual holdout purchases for one
// calibration-frequency bucket.
type bucketScore struct {
	bucket            string
	customers         int64
	actual, predicted float64
	mae, rmse         float64
}

var buckets = []struct {
	name   string
	lo, hi float64
}{{"0", 0, 0}, {"1", 1, 1}, {"2", 2, 2}, {"3-5", 3, 5}, {"6-10", 6, 10}, {"11+", 11, math.Inf(1)}}

// score returns the overall row first, then one per non-empty bucket.
func score(frequency, predicted, actual []float64) []bucketScore {
	all := bucketScore{bucket: "all"}
	per := make([]bucketScore, len(buckets))
	sq := make([]float64, len(buckets)+1)
	for i, x := range frequency {
		d := predicted[i] - actual[i]
		for k, b := range buckets {
			if x >= b.lo && x <= b.hi {
				per[k].customers++
				per[k].actual += actual[i]
				per[k].predicted += predicted[i]
				per[k].mae += math.Abs(d)
				sq[k] += d * d
			}
		}
		all.customers++
		all.actual += actual[i]
		all.predicted += predicted[i]
		all.mae += math.Abs(d)
		sq[len(buckets)] += d * d
	}
	finish := func(s *bucketScore, sum float64) {
		if s.customers > 0 {
			s.mae /= float64(s.customers)
			s.rmse = math.Sqrt(sum / float64(s.customers))
		}
	}
	finish(&all, sq[len(buckets)])
	out := []bucketScore{all}
	for k := range per {
		per[k].bucket = buckets[k].name
		finish(&per[k], sq[k])
		if per[k].customers > 0 {
			out = append(out, per[k])
		}
	}
	return out
}

// fitRow is one row of model_fit.
type fitRow struct {
	model, role, scope string
	selected           bool
	reason             string
	fit                btyd.Fit
	err                error
	unc                btyd.Uncertainty
	uncErr             error
	corr               *float64
	holdout            *bucketScore
}

func (s *stage) emitFits(ctx context.Context, out engine.Emitter, models []*fitted, selected *fitted, reason string,
	ggFit btyd.Fit, ggErr error, ggUnc btyd.Uncertainty, ggUncErr error, spend btyd.Spend) error {
	log := s.rc.Log.With().Str("stage", "clv").Logger()
	var rows []fitRow
	for _, m := range models {
		r := fitRow{model: m.name, role: "purchase", scope: "full", selected: m == selected, fit: m.fit, err: m.err, unc: m.unc, uncErr: m.uncErr}
		if m == selected {
			r.reason = reason
		}
		rows = append(rows, r)
		if s.holdout > 0 && len(s.actual) > 0 {
			c := fitRow{model: m.name, role: "purchase", scope: "calibration", fit: m.calFit, err: m.calErr, unc: m.calUnc, uncErr: m.calUncErr}
			if m.hasScore {
				c.holdout = &m.scores[0]
			}
			rows = append(rows, c)
		}
	}
	if len(s.ids) > 0 {
		g := fitRow{model: "gamma_gamma", role: "spend", scope: "full", selected: ggErr == nil && selected != nil, fit: ggFit, err: ggErr, unc: ggUnc, uncErr: ggUncErr}
		if len(spend.Frequency) > 1 {
			corr := spend.Correlation()
			if !math.IsNaN(corr) {
				g.corr = &corr
			}
		}
		rows = append(rows, g)
	}

	b := array.NewRecordBuilder(s.rc.Mem, schemas.ModelFit.Schema())
	defer b.Release()
	t := schemas.ModelFit
	str := func(name, v string) { b.Field(t.MustIndex(name)).(*array.StringBuilder).Append(v) }
	optStr := func(name, v string) {
		if v == "" {
			b.Field(t.MustIndex(name)).AppendNull()
		} else {
			str(name, v)
		}
	}
	f64 := func(name string, v float64, ok bool) {
		fb := b.Field(t.MustIndex(name)).(*array.Float64Builder)
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			fb.Append(v)
		} else {
			fb.AppendNull()
		}
	}
	for _, r := range rows {
		s.rc.ModelFits = append(s.rc.ModelFits, night.ModelFitTime{Model: r.model, FitScope: r.scope, Seconds: r.fit.Duration.Seconds()})
		b.Field(t.MustIndex("snapshot_date")).(*array.Date32Builder).Append(s.rc.SnapshotDate)
		str("model", r.model)
		str("role", r.role)
		str("fit_scope", r.scope)
		b.Field(t.MustIndex("is_selected")).(*array.BooleanBuilder).Append(r.selected)
		optStr("selection_reason", r.reason)
		b.Field(t.MustIndex("converged")).(*array.BooleanBuilder).Append(r.err == nil && r.fit.Converged)
		errText := ""
		if r.err != nil {
			errText = r.err.Error()
		}
		optStr("error", errText)
		b.Field(t.MustIndex("customers")).(*array.Int64Builder).Append(int64(math.Round(r.fit.Customers)))
		b.Field(t.MustIndex("iterations")).(*array.Int64Builder).Append(int64(r.fit.Iterations))
		ok := r.err == nil && r.fit.Converged
		f64("log_likelihood", r.fit.LogLikelihood, ok)
		for _, p := range schemas.FitParams {
			v, has := param(r.fit, p)
			f64(p, v, ok && has)
		}
		if r.corr != nil {
			f64("spend_frequency_correlation", *r.corr, true)
		} else {
			f64("spend_frequency_correlation", 0, false)
		}
		hb := b.Field(t.MustIndex("holdout_days")).(*array.Int64Builder)
		if r.scope == "calibration" {
			hb.Append(int64(s.holdout))
		} else {
			hb.AppendNull()
		}
		h := r.holdout
		f64("holdout_mae", val(h, func(h *bucketScore) float64 { return h.mae }), h != nil)
		f64("holdout_rmse", val(h, func(h *bucketScore) float64 { return h.rmse }), h != nil)
		f64("holdout_predicted_total", val(h, func(h *bucketScore) float64 { return h.predicted }), h != nil)
		f64("holdout_actual_total", val(h, func(h *bucketScore) float64 { return h.actual }), h != nil)
		// Standard errors only for a fit whose estimates are reported.
		hasUnc := ok && r.uncErr == nil && r.unc.Cov != nil
		for _, p := range schemas.FitParams {
			i := slices.Index(r.unc.Names, p)
			has := hasUnc && i >= 0
			at := func(v []float64) float64 {
				if has {
					return v[i]
				}
				return 0
			}
			f64(p+"_se", at(r.unc.SE), has)
			f64(p+"_low", at(r.unc.Low), has)
			f64(p+"_high", at(r.unc.High), has)
		}
		b.Field(t.MustIndex("interval_level")).(*array.Float64Builder).Append(clvconfig.Of(s.rc.Job).IntervalLevel)
		uncText := ""
		if ok && r.uncErr != nil {
			uncText = r.uncErr.Error()
		}
		optStr("uncertainty_error", uncText)
		method := ""
		if r.selected && r.scope == "full" && (r.role == "purchase" || s.spendInIntervals) {
			method = string(s.intervalMethod)
		}
		optStr("prediction_interval_method", method)
		s.putDrift(b, r, ok, log)
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.ModelFit.Name, rec)
}

func val(h *bucketScore, f func(*bucketScore) float64) float64 {
	if h == nil {
		return 0
	}
	return f(h)
}

func param(f btyd.Fit, name string) (float64, bool) {
	for i, n := range f.Names {
		if n == name && i < len(f.Params) {
			return f.Params[i], true
		}
	}
	return 0, false
}

func (s *stage) emitHoldout(ctx context.Context, out engine.Emitter, models []*fitted) error {
	b := array.NewRecordBuilder(s.rc.Mem, schemas.ModelHoldout.Schema())
	defer b.Release()
	for _, m := range models {
		for _, sc := range m.scores {
			b.Field(0).(*array.Date32Builder).Append(s.rc.SnapshotDate)
			b.Field(1).(*array.StringBuilder).Append(m.name)
			b.Field(2).(*array.StringBuilder).Append(sc.bucket)
			b.Field(3).(*array.Int64Builder).Append(sc.customers)
			b.Field(4).(*array.Float64Builder).Append(sc.actual)
			b.Field(5).(*array.Float64Builder).Append(sc.predicted)
			b.Field(6).(*array.Float64Builder).Append(sc.mae)
			b.Field(7).(*array.Float64Builder).Append(sc.rmse)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.ModelHoldout.Name, rec)
}

// trackingWeek is one row of model_tracking.
type trackingWeek struct {
	week, days        int
	predicted, actual float64
}

// tracking is model m's cumulative predicted and actual holdout purchases at
// the end of each holdout week; nil when m has no holdout score.
func (s *stage) tracking(m *fitted) []trackingWeek {
	if !m.hasScore {
		return nil
	}
	var out []trackingWeek
	var actual float64
	day := 0
	for w := 1; day < s.holdout; w++ {
		end := min(7*w, s.holdout)
		for ; day < end; day++ {
			actual += s.holdoutDays[day+1]
		}
		var predicted float64
		for _, e := range btyd.Expected(m.calModel, s.cal.Customers, float64(end)) {
			predicted += e
		}
		out = append(out, trackingWeek{week: w, days: end, predicted: predicted, actual: actual})
	}
	return out
}

func (s *stage) emitTracking(ctx context.Context, out engine.Emitter, models []*fitted) error {
	t := schemas.ModelTracking
	b := array.NewRecordBuilder(s.rc.Mem, t.Schema())
	defer b.Release()
	for _, m := range models {
		for _, w := range s.tracking(m) {
			b.Field(t.MustIndex("snapshot_date")).(*array.Date32Builder).Append(s.rc.SnapshotDate)
			b.Field(t.MustIndex("model")).(*array.StringBuilder).Append(m.name)
			b.Field(t.MustIndex("week")).(*array.Int64Builder).Append(int64(w.week))
			b.Field(t.MustIndex("days")).(*array.Int64Builder).Append(int64(w.days))
			b.Field(t.MustIndex("predicted_repeat_purchases")).(*array.Float64Builder).Append(w.predicted)
			b.Field(t.MustIndex("actual_repeat_purchases")).(*array.Float64Builder).Append(w.actual)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, t.Name, rec)
}
