package btyd

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
)

// BGNBD holds fitted BG/NBD parameters (Fader, Hardie & Lee 2005):
// purchase rates ~ Gamma(R, Alpha), dropout after each purchase ~ Beta(A, B).
type BGNBD struct{ R, Alpha, A, B float64 }

// bgnbdData is a fit's inputs with lookup tables over the distinct values of
// each column, so an evaluation touches each distinct value once.
type bgnbdData struct {
	c                 Customers
	xs, ts, txs       table
	weight            float64
	perX, perT, perTx []float64 // scratch
	dX                [][5]float64
	invT, invTx       []float64
}

func newBGNBDData(c Customers) *bgnbdData {
	d := &bgnbdData{c: c, xs: newTable(c.Frequency), ts: newTable(c.T), txs: newTable(c.Recency)}
	for i := 0; i < c.Len(); i++ {
		d.weight += c.weight(i)
	}
	return d
}

// nll is the negative mean log-likelihood and its gradient in log-parameters.
//
// Per customer (Fader, Hardie & Lee 2005, eq. 6, in log form):
//
//	ll = lnΓ(r+x) − lnΓ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
//	     + logaddexp(−(r+x) ln(α+T), [x>0] (ln a − ln(b+x−1) − (r+x) ln(α+tₓ)))
func (d *bgnbdData) nll(lp, grad []float64) float64 {
	r, alpha, a, b := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2]), math.Exp(lp[3])
	lnAlpha := math.Log(alpha)
	base := -lgamma(r) + r*lnAlpha + lgamma(a+b) - lgamma(b)
	psiR, psiAB, psiB := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	// Per distinct x: the x-only terms and their partial derivatives.
	if cap(d.dX) < len(d.xs.values) {
		d.dX = make([][5]float64, len(d.xs.values))
	}
	dX := d.dX[:len(d.xs.values)]
	for j, x := range d.xs.values {
		dX[j][0] = base + lgamma(r+x) + lgamma(b+x) - lgamma(a+b+x)
		if grad != nil {
			psiABX := mathext.Digamma(a + b + x)
			dX[j][1] = mathext.Digamma(r+x) - psiR + lnAlpha // ∂/∂r
			dX[j][2] = psiAB - psiABX                        // ∂/∂a
			dX[j][3] = psiAB + mathext.Digamma(b+x) - psiB - psiABX
		}
		if x > 0 {
			dX[j][4] = math.Log(a) - math.Log(b+x-1)
		}
	}
	d.perT = d.ts.apply(d.perT, func(T float64) float64 { return math.Log(alpha + T) })
	d.perTx = d.txs.apply(d.perTx, func(tx float64) float64 { return math.Log(alpha + tx) })
	if grad != nil {
		d.invT = d.ts.apply(d.invT, func(T float64) float64 { return 1 / (alpha + T) })
		d.invTx = d.txs.apply(d.invTx, func(tx float64) float64 { return 1 / (alpha + tx) })
	}
	withGrad := grad != nil
	rAlpha := r / alpha // once rather than per row, the same bits
	sums := sumChunks(d.c.Len(), func(lo, hi int) (acc [5]float64) {
		c := d.c
		for i := lo; i < hi; i++ {
			x, w := c.Frequency[i], c.weight(i)
			jx, jt, jtx := d.xs.index[i], d.ts.index[i], d.txs.index[i]
			a3 := -(r + x) * d.perT[jt]
			l, w3, w4 := a3, 1.0, 0.0
			if x > 0 {
				// e = exp(A4 − A3): one exp and one log1p instead of a
				// log-sum-exp and two exps; the exponent is clamped where
				// the weights are exactly 0 or 1 in float64 anyway.
				diff := dX[jx][4] - (r+x)*(d.perTx[jtx]-d.perT[jt])
				if diff > 700 {
					l, w3, w4 = a3+diff, 0, 1
				} else {
					e := math.Exp(diff)
					l, w3, w4 = a3+log1pNonNeg(e), 1/(1+e), e/(1+e)
				}
			}
			acc[0] += w * (dX[jx][0] + l)
			if withGrad {
				acc[1] += w * (dX[jx][1] - w3*d.perT[jt] - w4*d.perTx[jtx])
				acc[2] += w * (rAlpha - (r+x)*(w3*d.invT[jt]+w4*d.invTx[jtx]))
				acc[3] += w * (dX[jx][2] + w4/a)
				if x > 0 {
					acc[4] += w * (dX[jx][3] - w4/(b+x-1))
				} else {
					acc[4] += w * dX[jx][3]
				}
			}
		}
		return acc
	})
	ll, gr, gAlpha, ga, gb := sums[0], sums[1], sums[2], sums[3], sums[4]
	if grad != nil {
		// Chain rule to log-parameters, sign and scale of the objective.
		grad[0], grad[1], grad[2], grad[3] = -gr*r/d.weight, -gAlpha*alpha/d.weight, -ga*a/d.weight, -gb*b/d.weight
	}
	return -ll / d.weight
}

// warmRows is the size of the slice a large fit warms up on. That slice,
// when it has warmStep·coldRows rows or more, warms up in turn on a
// warmStep-th of itself: BFGS from a cold start then runs on a few thousand
// rows, and Newton steps carry its estimate to the slice and the slice's
// to all rows.
const (
	warmRows = 25_000
	warmStep = 8
	coldRows = 3_000
)

// FitBGNBD fits BG/NBD by maximum likelihood. Customers may be compressed.
func FitBGNBD(c Customers) (BGNBD, Fit, error) {
	p, fit, err := fitRAlphaAB("bgnbd", c, func(c Customers) (objective, float64) {
		d := newBGNBDData(c)
		return d.nll, d.weight
	})
	return BGNBD{p[0], p[1], p[2], p[3]}, fit, err
}

// fitRAlphaAB fits a model with BG/NBD's parameters (r, α, a, b): BFGS on
// the analytic gradient over log-parameters. Most of a cold fit is spent
// far from the optimum, so with many rows it starts from a fit on a slice
// of them, which gets close for a fraction of the cost, and finishes with
// Newton steps (BFGS again if they cannot).
func fitRAlphaAB(model string, c Customers, prepare func(Customers) (objective, float64)) ([4]float64, Fit, error) {
	if err := c.validate(); err != nil {
		return [4]float64{}, Fit{Model: model}, err
	}
	names := []string{"r", "alpha", "a", "b"}
	start := []float64{1, meanOf(c.T, c) / 10, 1, 1}
	var hess *mat.SymDense
	k := c.Len() / warmRows
	if k <= 1 && c.Len() >= warmStep*coldRows {
		k = warmStep
	}
	if k > 1 {
		sub := c.subsample(k)
		if p, _, err := fitRAlphaAB(model, sub, prepare); err == nil {
			start = p[:]
			// The sample's mean likelihood has nearly the full one's
			// curvature at nearly its optimum: Newton steps on it finish
			// the fit in a few passes over every row.
			subNLL, _ := prepare(sub)
			hess = objectiveHessian(subNLL, []float64{math.Log(p[0]), math.Log(p[1]), math.Log(p[2]), math.Log(p[3])})
		}
	}
	nll, weight := prepare(c)
	if hess != nil {
		if fit, ok := newton(model, names, start, hess, weight, nll, analyticGradientTol); ok {
			return [4]float64{fit.Params[0], fit.Params[1], fit.Params[2], fit.Params[3]}, fit, nil
		}
	}
	fit, err := minimize(model, names, start, weight, nll, true)
	if err != nil {
		return [4]float64{}, fit, err
	}
	return [4]float64{fit.Params[0], fit.Params[1], fit.Params[2], fit.Params[3]}, fit, nil
}

func meanOf(v []float64, c Customers) float64 {
	var s, w float64
	for i, x := range v {
		s += c.weight(i) * x
		w += c.weight(i)
	}
	if w == 0 || s == 0 {
		return 10
	}
	return s / w
}

// LogLikelihood is the summed log-likelihood of customers under m.
func (m BGNBD) LogLikelihood(c Customers) float64 {
	d := newBGNBDData(c)
	return -d.nll([]float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, nil) * d.weight
}

// logDropoutOdds is ln of the odds that a customer with x > 0 repeat
// purchases has already dropped out: a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x).
func (m BGNBD) logDropoutOdds(x, tx, T float64) float64 {
	return math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
}

// PAlive is the probability the customer is still active; exactly 1 for a
// customer without repeat purchases, who by the model cannot have dropped out.
func (m BGNBD) PAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	return sigmoid(-m.logDropoutOdds(x, tx, T))
}

// ExpectedPurchases is the expected number of purchases in the next t time
// units (Fader, Hardie & Lee 2005, eq. 10): P(alive) times ExpectedIfAlive.
func (m BGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return m.PAlive(x, tx, T) * m.ExpectedIfAlive(t, x, T)
}

// ExpectedIfAlive is the expected number of purchases in the next t time
// units of a customer known to be alive; it does not depend on recency, so
// predictions compute it once per distinct (x, T).
func (m BGNBD) ExpectedIfAlive(t, x, T float64) float64 {
	if t <= 0 {
		return 0
	}
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	z := t / (alpha + T + t)
	// 1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z), in log space.
	logTerm := (r+x)*math.Log1p(-z) + logHyp2F1(r+x, b+x, a+b+x-1, z)
	return math.Max(0, (a+b+x-1)/(a-1)*-math.Expm1(logTerm))
}

func sigmoid(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}
