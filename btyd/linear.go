package btyd

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// intervalMethod resolves IntervalAuto by the standard errors of pu and
// gu (gu without a covariance holds the spend model fixed and does not
// count).
func intervalMethod(m IntervalMethod, pu, gu Uncertainty) (IntervalMethod, error) {
	switch m {
	case IntervalDraws, IntervalLinear:
		return m, nil
	case "", IntervalAuto:
	default:
		return "", fmt.Errorf("intervals: %w: method %q, want auto, draws or linear", ErrBadInput, m)
	}
	for _, u := range []Uncertainty{pu, gu} {
		if u.Cov == nil {
			continue
		}
		for i := range u.Cov.SymmetricDim() {
			if !(u.LogSE(i) <= LinearMaxLogSE) {
				return IntervalDraws, nil
			}
		}
	}
	if pu.Cov == nil {
		return IntervalDraws, nil
	}
	return IntervalLinear, nil
}

// axisParams are the parameter sets the linear method evaluates: in pairs
// (plus, minus) h standard deviations either side of the estimate along
// each column of the purchase model's log-covariance Cholesky factor, then
// pm itself, whose P(alive)·discounted purchases in the same batch forms
// scale the spend axes' differences; and, apart, the spend model's pairs
// along its own factor (none when gu has no covariance), the purchase model
// held at pm. Along column j of L the log-parameters move by h·L·eⱼ, so a
// pair's difference over 2h is the gradient of a value in the coordinates
// z where the log-parameters are ln θ̂ + L z, z ~ N(0, I), and the squares
// sum to the delta method's variance. h is 1 unless a point falls outside
// the model's domain (a dropout parameter of a small shop with a wide
// error), when it halves until both are inside; steps holds it per pair,
// the purchase pairs' first.
func axisParams(pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty) ([]PurchaseModel, []GammaGamma, []float64, error) {
	models, steps, err := axes(pu, func(p []float64) (PurchaseModel, error) { return pm.WithParams(p) })
	if err != nil {
		return nil, nil, nil, err
	}
	models = append(models, pm)
	if gu.Cov == nil {
		return models, nil, steps, nil
	}
	spend, spendSteps, err := axes(gu, gg.withParams)
	if err != nil {
		return nil, nil, nil, err
	}
	return models, spend, append(steps, spendSteps...), nil
}

// minAxisStep is the smallest step, in standard deviations, an axis may
// shrink to before the linear method gives up.
const minAxisStep = 1.0 / 1024

// axes builds the model at ln θ̂ ± h·L·eⱼ for every column j, plus first,
// and each column's h.
func axes[M any](u Uncertainty, build func(p []float64) (M, error)) ([]M, []float64, error) {
	dim := len(u.Estimate)
	if u.Cov == nil || u.Cov.SymmetricDim() != dim || dim == 0 {
		return nil, nil, fmt.Errorf("intervals: %w: %s uncertainty has no covariance for its %d parameters", ErrBadInput, u.Model, dim)
	}
	var chol mat.Cholesky
	if !chol.Factorize(u.Cov) {
		return nil, nil, fmt.Errorf("intervals: %s: %w: covariance is not positive definite", u.Model, ErrFlatLikelihood)
	}
	var l mat.TriDense
	chol.LTo(&l)
	at := func(j int, by float64) (M, error) {
		p := make([]float64, dim)
		for i, v := range u.Estimate {
			p[i] = math.Exp(math.Log(v) + by*l.At(i, j))
		}
		return build(p)
	}
	out := make([]M, 0, 2*dim)
	steps := make([]float64, 0, dim)
	for j := range dim {
		for h := 1.0; ; h /= 2 {
			if h < minAxisStep {
				return nil, nil, fmt.Errorf("intervals: %s: %w: the parameters %g standard deviations from the estimate are outside the model's domain", u.Model, ErrDegenerate, 2*h)
			}
			plus, err1 := at(j, h)
			minus, err2 := at(j, -h)
			if err1 == nil && err2 == nil {
				out, steps = append(out, plus, minus), append(steps, h)
				break
			}
		}
	}
	return out, steps, nil
}

// linearBounds reduces the values of axisParams' pairs to an interval.
type linearBounds struct {
	z float64 // the standard normal quantile at (1 + level) / 2
	// purchase is the number of values from the purchase model's axes,
	// which come first; the last is the estimate's, which P(alive) and
	// purchases leave out.
	purchase int
	// steps are axisParams' steps, one per pair.
	steps []float64
}

// bounds is point ± z·sd on the logit scale for a probability and on the
// log scale otherwise, so the interval stays within the value's range and
// is skewed as the value is; v holds the pairs' values. Where point or a
// pair's value is at the edge of that range (a P(alive) of exactly 1, no
// purchases expected) the scale is the value's own and the ends are
// clamped to the range. A pair with a value that is not finite adds
// nothing, as a draw does not; a point that is not finite is its own
// interval.
func (b *linearBounds) bounds(v []float64, point float64, probability bool) (lo, hi float64) {
	if math.IsNaN(point) || math.IsInf(point, 0) {
		return point, point
	}
	scale := func(x float64) float64 { return math.Log(x) }
	// One logarithm per pair: ln(a/c), and for the logit
	// ln(a(1−c) / (c(1−a))); 1−x is exact for x in [½, 1], where it matters.
	diff := func(a, c float64) float64 { return math.Log(a / c) }
	if probability {
		scale = func(x float64) float64 { return math.Log(x) - math.Log1p(-x) }
		diff = func(a, c float64) float64 { return math.Log(a * (1 - c) / (c * (1 - a))) }
	}
	inner := func(x float64) bool { return x > 0 && (!probability || x < 1) }
	onScale := inner(point)
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) && !inner(x) {
			onScale = false
			break
		}
	}
	var s2 float64
	for j := 0; j+1 < len(v); j += 2 {
		a, c := v[j], v[j+1]
		if math.IsNaN(a-c) || math.IsInf(a-c, 0) {
			continue
		}
		d := (a - c) / 2
		if onScale {
			d = diff(a, c) / 2
		}
		d /= b.steps[j/2]
		s2 += d * d
	}
	half := b.z * math.Sqrt(s2)
	if half == 0 {
		return point, point
	}
	if !onScale {
		lo, hi = point-half, point+half
		if lo < 0 {
			lo = 0
		}
		if probability && hi > 1 {
			hi = 1
		}
		return lo, hi
	}
	t := scale(point)
	if probability {
		return sigmoid(t - half), sigmoid(t + half)
	}
	return math.Exp(t - half), math.Exp(t + half)
}

// bounds is the interval of one value over the parameter sets: the draws'
// quantiles, or the linear method's reduction of the purchase pairs when
// w.lin is set (which computes no CLV here, see linearTriples).
func (w *intervalWork) bounds(v []float64, pLo, pHi, point float64, probability bool) (lo, hi float64) {
	if w.lin != nil {
		lo, hi = w.lin.bounds(v[:w.lin.purchase], point, probability)
		// Rounding in the inverse scale must not put point outside.
		return min(lo, point), max(hi, point)
	}
	return w.q.bounds(v, pLo, pHi, point)
}

// linearTriples is what the linear method keeps per distinct history for
// the pass in customer order: the P(alive) and purchase bounds, and for the
// CLV the purchase axes' variance on the log and on the value's own scale.
// A CLV is P(alive)·discounted purchases (per history) times the expected
// spend (per customer), and each axis moves one factor only, so a
// customer's variance is the history's part plus the spend axes' part.
// The pass reads a history's values at random, so they sit together, one
// cache line per history, rather than in a column each.
type linearTriples struct{ rows []linearTriple }

type linearTriple struct {
	paLo, paHi, eLo, eHi float64
	// base is the point's P(alive)·discounted purchases (Predict's
	// operations); batchBase at the point of the batch forms, used on the
	// value's own scale.
	base, batchBase float64
	// logVar and rawVar are Σ (½ Δ)² over the purchase axes of ln(P(alive)·
	// discounted purchases) and of the product itself; logVar is −1 where
	// some axis value is not positive and finite, and the log scale is out.
	logVar, rawVar float64
}

func newLinearTriples(n int) *linearTriples {
	return &linearTriples{rows: make([]linearTriple, n)}
}

// set records history j; pd holds P(alive)·discounted purchases per
// parameter set of axisParams: the first purchase of them along the
// purchase model's axes, the last at its estimate.
func (t *linearTriples) set(j int32, paLo, paHi, eLo, eHi, base float64, pd []float64, purchase int, steps []float64) {
	onLog := true
	var logVar, rawVar float64
	for d := 0; d+1 < purchase; d += 2 {
		a, c := pd[d], pd[d+1]
		if math.IsNaN(a-c) || math.IsInf(a-c, 0) {
			continue
		}
		if !(a > 0 && c > 0) {
			onLog = false
		}
		h := (a - c) / 2 / steps[d/2]
		rawVar += h * h
		if onLog {
			l := math.Log(a/c) / 2 / steps[d/2]
			logVar += l * l
		}
	}
	if !onLog {
		logVar = -1
	}
	t.rows[j] = linearTriple{paLo: paLo, paHi: paHi, eLo: eLo, eHi: eHi, base: base, batchBase: pd[purchase], logVar: logVar, rawVar: rawVar}
}

// customers writes every customer's bounds: P(alive) and purchases as
// their history's, the CLV from the history's variance and its own spend
// axes, with linearBounds' rules (the log scale where every value is
// positive, else the value's own, clamped at 0; widened to hold the
// point). spend are the spend axes' models, in pairs.
func (t *linearTriples) customers(out *PredictionIntervals, lin *linearBounds, gg GammaGamma, spend []GammaGamma, x, monetary []float64, rows []int32, point *Predictions) {
	parallel(len(rows), func(i int) {
		tr := &t.rows[rows[i]]
		out.PAlive.Low[i], out.PAlive.High[i] = tr.paLo, tr.paHi
		out.ExpectedPurchases.Low[i], out.ExpectedPurchases.High[i] = tr.eLo, tr.eHi
		xi, mi := x[i], monetary[i]
		var clv float64
		if point != nil {
			clv = point.CLV[i]
		} else {
			clv = tr.base * gg.ExpectedAverageValue(xi, mi)
		}
		if math.IsNaN(clv) || math.IsInf(clv, 0) {
			out.CLV.Low[i], out.CLV.High[i] = clv, clv
			return
		}
		v := gg.ExpectedAverageValue(xi, mi)
		onLog := tr.logVar >= 0 && clv > 0 && v > 0
		var logVar, rawVar float64
		for d := 0; d+1 < len(spend); d += 2 {
			p0, w0 := spend[d].valueWeight(xi)
			p1, w1 := spend[d+1].valueWeight(xi)
			a, c := blendValue(p0, w0, xi, mi), blendValue(p1, w1, xi, mi)
			if math.IsNaN(a-c) || math.IsInf(a-c, 0) {
				continue
			}
			if !(a > 0 && c > 0) {
				onLog = false
			}
			step := lin.steps[(lin.purchase+d)/2]
			h := (a - c) / 2 / step * tr.batchBase
			rawVar += h * h
			if onLog {
				l := math.Log(a/c) / 2 / step
				logVar += l * l
			}
		}
		var lo, hi float64
		if onLog {
			half := lin.z * math.Sqrt(tr.logVar+logVar)
			e := math.Exp(half)
			lo, hi = clv/e, clv*e
		} else {
			half := lin.z * math.Sqrt(v*v*tr.rawVar+rawVar)
			lo, hi = max(clv-half, 0), clv+half
		}
		out.CLV.Low[i], out.CLV.High[i] = min(lo, clv), max(hi, clv)
	})
}
