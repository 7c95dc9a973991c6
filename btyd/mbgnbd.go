package btyd

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// MBGNBD holds fitted MBG/NBD parameters (Batislam, Denizel & Filiztekin
// 2007): purchase rates ~ Gamma(R, Alpha) and dropout probabilities
// ~ Beta(A, B) as in BG/NBD, but a customer may drop out right at the first
// purchase as well as after each repeat purchase. A customer without repeat
// purchases is therefore not certainly alive, as BG/NBD has it even for a
// one-time buyer of years ago.
type MBGNBD struct{ R, Alpha, A, B float64 }

// mbgnbdData shares BG/NBD's inputs and lookup tables: both likelihoods
// depend on the data through the same distinct x, tₓ and T.
type mbgnbdData struct{ bgnbdData }

func newMBGNBDData(c Customers) *mbgnbdData { return &mbgnbdData{*newBGNBDData(c)} }

// nll is the negative mean log-likelihood and its gradient in log-parameters.
//
// A customer alive at T has survived x+1 dropout chances (at time 0 and after
// each repeat purchase); one who dropped out did so right after tₓ (at time 0
// when x = 0). Mixing over λ ~ Gamma(r, α) and p ~ Beta(a, b) (Batislam et
// al. 2007):
//
//	L = Γ(r+x)/Γ(r) · αʳ · [B(a, b+x+1)/B(a, b) · (α+T)^−(r+x)
//	                        + B(a+1, b+x)/B(a, b) · (α+tₓ)^−(r+x)]
//
// and, as B(a+1, b+x)/B(a, b+x+1) = a/(b+x), in log form
//
//	ll = lnΓ(r+x) − lnΓ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b)
//	     + logaddexp(−(r+x) ln(α+T), ln a − ln(b+x) − (r+x) ln(α+tₓ)).
//
// Unlike BG/NBD's, the second term is there for x = 0 too.
func (d *mbgnbdData) nll(lp, grad []float64) float64 {
	r, alpha, a, b := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2]), math.Exp(lp[3])
	lnAlpha := math.Log(alpha)
	base := -lgamma(r) + r*lnAlpha + lgamma(a+b) - lgamma(b)
	psiR, psiAB, psiB := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	// Per distinct x: the x-only terms and their partial derivatives.
	if cap(d.dX) < len(d.xs.values) {
		d.dX = make([][5]float64, len(d.xs.values))
	}
	dX := d.dX[:len(d.xs.values)]
	lnA := math.Log(a)
	for j, x := range d.xs.values {
		dX[j][0] = base + lgamma(r+x) + lgamma(b+x+1) - lgamma(a+b+x+1)
		if grad != nil {
			psiABX := mathext.Digamma(a + b + x + 1)
			dX[j][1] = mathext.Digamma(r+x) - psiR + lnAlpha // ∂/∂r
			dX[j][2] = psiAB - psiABX                        // ∂/∂a
			dX[j][3] = psiAB + mathext.Digamma(b+x+1) - psiB - psiABX
		}
		dX[j][4] = lnA - math.Log(b+x)
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
			// As in BG/NBD's nll: e = exp(A4 − A3), one exp and one log1p,
			// clamped where the weights are exactly 0 or 1 in float64.
			diff := dX[jx][4] - (r+x)*(d.perTx[jtx]-d.perT[jt])
			var l, w3, w4 float64
			if diff > 700 {
				l, w3, w4 = a3+diff, 0, 1
			} else {
				e := math.Exp(diff)
				l, w3, w4 = a3+log1pNonNeg(e), 1/(1+e), e/(1+e)
			}
			acc[0] += w * (dX[jx][0] + l)
			if withGrad {
				acc[1] += w * (dX[jx][1] - w3*d.perT[jt] - w4*d.perTx[jtx])
				acc[2] += w * (rAlpha - (r+x)*(w3*d.invT[jt]+w4*d.invTx[jtx]))
				acc[3] += w * (dX[jx][2] + w4/a)
				acc[4] += w * (dX[jx][3] - w4/(b+x))
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

// FitMBGNBD fits MBG/NBD by maximum likelihood, the same way FitBGNBD fits
// BG/NBD. Customers may be compressed.
func FitMBGNBD(c Customers) (MBGNBD, Fit, error) {
	p, fit, err := fitRAlphaAB("mbgnbd", c, func(c Customers) (objective, float64) {
		d := newMBGNBDData(c)
		return d.nll, d.weight
	})
	return MBGNBD{p[0], p[1], p[2], p[3]}, fit, err
}

// LogLikelihood is the summed log-likelihood of customers under m.
func (m MBGNBD) LogLikelihood(c Customers) float64 {
	d := newMBGNBDData(c)
	return -d.nll([]float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, nil) * d.weight
}

// logDropoutOdds is ln of the odds that the customer has already dropped
// out, the ratio of the likelihood's two terms:
// a/(b+x) · ((α+T)/(α+tₓ))^(r+x).
func (m MBGNBD) logDropoutOdds(x, tx, T float64) float64 {
	return math.Log(m.A) - math.Log(m.B+x) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
}

// PAlive is the probability the customer is still active (Batislam et al.
// 2007, appendix A): 1 / (1 + a/(b+x) · ((α+T)/(α+tₓ))^(r+x)). It is
// below 1 for a customer without repeat purchases too, who may have dropped
// out at the first purchase.
func (m MBGNBD) PAlive(x, tx, T float64) float64 {
	return sigmoid(-m.logDropoutOdds(x, tx, T))
}

// ExpectedPurchases is the expected number of purchases in the next t time
// units: P(alive) times ExpectedIfAlive, as a customer who dropped out buys
// nothing.
func (m MBGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return m.PAlive(x, tx, T) * m.ExpectedIfAlive(t, x, T)
}

// ExpectedIfAlive is the expected number of purchases in the next t time
// units of a customer known to be alive. Alive at T, the customer's rate is
// Gamma(r+x, α+T) and dropout probability Beta(a, b+x+1) (x+1 dropout chances
// survived), and from T on the story is BG/NBD's, so its unconditional mean
// with those parameters applies (Wagner & Hoppe 2008, the erratum to
// Batislam et al.'s conditional expectation):
//
//	(a+b+x)/(a−1) · (1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))).
//
// That is BG/NBD's expectation with b one higher, written out rather than
// delegated so that the sums round as the formula reads. It does not depend
// on recency, so predictions compute it once per distinct (x, T).
func (m MBGNBD) ExpectedIfAlive(t, x, T float64) float64 {
	if t <= 0 {
		return 0
	}
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	z := t / (alpha + T + t)
	logTerm := (r+x)*math.Log1p(-z) + logHyp2F1(r+x, b+x+1, a+b+x, z)
	return math.Max(0, (a+b+x)/(a-1)*-math.Expm1(logTerm))
}
