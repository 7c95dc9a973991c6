package btyd

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// ParetoNBD holds fitted Pareto/NBD parameters (Schmittlein, Morrison &
// Colombo 1987): purchase rates ~ Gamma(R, Alpha), dropout rates ~ Gamma(S, Beta).
type ParetoNBD struct{ R, Alpha, S, Beta float64 }

// logA0 is ln A₀ of the likelihood in Fader & Hardie's note on Pareto/NBD,
// ln[₂F₁(·; z₁)/(m+tₓ)^(r+s+x) − ₂F₁(·; z₂)/(m+T)^(r+s+x)], with the
// hypergeometric argument built on the larger of α and β so it stays in [0, 1).
func (m ParetoNBD) logA0(x, tx, T float64) float64 {
	return a0FromTerms(m.a0Term(x, tx), m.a0Term(x, T))
}

// a0Term is one of logA0's two terms, ln[₂F₁(·; z)/(m+t)^(r+s+x)] at t = tₓ
// or t = T. It depends on the customer through (x, t) alone, so many
// customers share each value: the batch forms compute it once per distinct
// pair, with the very operations logA0 uses, so the results agree to the bit.
func (m ParetoNBD) a0Term(x, t float64) float64 {
	return m.a0TermLog(x, t, math.Log(max(m.Alpha, m.Beta)+t))
}

// a0TermLog is a0Term given ln(max(α, β) + t), which callers that have it
// per distinct t pass in.
func (m ParetoNBD) a0TermLog(x, t, lnQ float64) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	lo, hi, b := alpha, beta, r+x
	if alpha >= beta {
		lo, hi, b = beta, alpha, s+1
	}
	rsx := r + s + x
	q := hi + t
	return logHyp2F1(rsx, b, rsx+1, (hi-lo)/q) - rsx*lnQ
}

// a0FromTerms is logA0 from its terms at tₓ and T.
func a0FromTerms(l1, l2 float64) float64 {
	if l2 >= l1 {
		// tx == T: the difference vanishes; it cannot be negative.
		return math.Inf(-1)
	}
	return logSubExp(l1, l2)
}

// logLikelihood of one customer:
// ln Γ(r+x) − ln Γ(r) + r ln α + s ln β
// + logaddexp(−(r+x) ln(α+T) − s ln(β+T), ln s − ln(r+s+x) + ln A₀).
func (m ParetoNBD) logLikelihood(x, tx, T float64) float64 {
	return m.logLikelihoodA0(x, T, m.logA0(x, tx, T))
}

// logLikelihoodA0 is logLikelihood given ln A₀.
func (m ParetoNBD) logLikelihoodA0(x, T, a0 float64) float64 {
	lead, dead, lsx := m.likelihoodTerms(x, T)
	return lead + logAddExp(dead, lsx+a0)
}

// likelihoodTerms are the parts of logLikelihoodA0 that do not depend on
// recency: lnΓ(r+x) − lnΓ(r) + r ln α + s ln β, −(r+x) ln(α+T) − s ln(β+T)
// and ln s − ln(r+s+x).
func (m ParetoNBD) likelihoodTerms(x, T float64) (lead, dead, lsx float64) {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	lead = lgamma(r+x) - lgamma(r) + r*math.Log(alpha) + s*math.Log(beta)
	dead = -(r+x)*math.Log(alpha+T) - s*math.Log(beta+T)
	lsx = math.Log(s) - math.Log(r+s+x)
	return lead, dead, lsx
}

// paretoData is a data set prepared for repeated Pareto/NBD likelihoods:
// the distinct (x, t) pairs of its customers' (x, tₓ) and (x, T), and each
// row's two pairs. On a nightly shop there are many times fewer pairs than
// rows, and a pair's term (a ₂F₁ series) is the costly part of a row.
type paretoData struct {
	c           Customers
	px, pt      []float64 // the distinct pairs
	rowTx, rowT []int32   // row → its pairs
	terms       []float64 // scratch, per pair
	// Scratch per pair of what logLikelihoodA0 computes from x or (x, T)
	// alone: its leading terms, the first argument of its logaddexp (at t
	// = T) and the x part of its second.
	lead, dead, lsx []float64
	// The distinct x and t of the pairs, for what depends on one of them
	// alone, and scratch per distinct value.
	xs, ts                table
	leadX, lsxX, lnA, lnB []float64
	rowTerms              []float64 // scratch, per row, for small data sets
}

func newParetoData(c Customers) *paretoData {
	n := c.Len()
	x := make([]float64, 2*n)
	t := make([]float64, 2*n)
	copy(x, c.Frequency)
	copy(x[n:], c.Frequency)
	copy(t, c.Recency)
	copy(t[n:], c.T)
	pairs, rows := compress(Customers{Frequency: x, Recency: t, T: t})
	return &paretoData{c: c, px: pairs.Frequency, pt: pairs.T, rowTx: rows[:n], rowT: rows[n:],
		xs: newTable(pairs.Frequency), ts: newTable(pairs.T)}
}

// logLikelihood is the summed log-likelihood under m, the same sum in the
// same order as ParetoNBD.LogLikelihood's, so the bits agree.
func (d *paretoData) logLikelihood(m ParetoNBD) float64 {
	d.terms = slices.Grow(d.terms[:0], len(d.px))[:len(d.px)]
	terms := d.terms
	n := len(d.px)
	d.lead = slices.Grow(d.lead[:0], n)[:n]
	d.dead = slices.Grow(d.dead[:0], n)[:n]
	d.lsx = slices.Grow(d.lsx[:0], n)[:n]
	lead, dead, lsx := d.lead, d.dead, d.lsx
	// A row's lgammas and logs depend on its x and T alone, which its
	// (x, T) pair holds, and most of them on x or T alone: computed once
	// per distinct x and t and combined per pair with logLikelihoodA0's
	// own operations, they leave each row a logsubexp and a logaddexp and
	// every bit as it was.
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	lnAlpha, lnBeta, lgR, lnS := math.Log(alpha), math.Log(beta), lgamma(r), math.Log(s)
	d.leadX = d.xs.apply(d.leadX, func(x float64) float64 { return lgamma(r+x) - lgR + r*lnAlpha + s*lnBeta })
	d.lsxX = d.xs.apply(d.lsxX, func(x float64) float64 { return lnS - math.Log(r+s+x) })
	d.lnA = d.ts.apply(d.lnA, func(t float64) float64 { return math.Log(alpha + t) })
	d.lnB = d.ts.apply(d.lnB, func(t float64) float64 { return math.Log(beta + t) })
	parallel(n, func(p int) {
		x, t := d.px[p], d.pt[p]
		jx, jt := d.xs.index[p], d.ts.index[p]
		lnQ := d.lnB[jt]
		if alpha >= beta {
			lnQ = d.lnA[jt]
		}
		terms[p] = m.a0TermLog(x, t, lnQ)
		lead[p], dead[p], lsx[p] = d.leadX[jx], -(r+x)*d.lnA[jt]-s*d.lnB[jt], d.lsxX[jx]
	})
	c := d.c
	row := func(i int) float64 {
		pt := d.rowT[i]
		a0 := a0FromTerms(terms[d.rowTx[i]], terms[pt])
		return c.weight(i) * (lead[pt] + logAddExp(dead[pt], lsx[pt]+a0))
	}
	if rows := c.Len(); rows < serialSumRows {
		// sumChunks adds so few rows on one goroutine, as the warm-up
		// slice's hundreds of evaluations have them; their terms are
		// computed on every core and added in the same order instead.
		d.rowTerms = slices.Grow(d.rowTerms[:0], rows)[:rows]
		parallel(rows, func(i int) { d.rowTerms[i] = row(i) })
		var sum float64
		for _, v := range d.rowTerms {
			sum += v
		}
		return sum
	}
	sums := sumChunks(c.Len(), func(lo, hi int) (acc [5]float64) {
		for i := lo; i < hi; i++ {
			acc[0] += row(i)
		}
		return acc
	})
	return sums[0]
}

// LogLikelihood is the summed log-likelihood of customers under m.
func (m ParetoNBD) LogLikelihood(c Customers) float64 {
	return newParetoData(c).logLikelihood(m)
}

// FitParetoNBD fits Pareto/NBD by maximum likelihood. Its likelihood has no
// cheap analytic gradient (it runs through ₂F₁), so a cold search is
// Nelder-Mead on the compressed customers; from paretoWarmRows·2 histories
// on, that search runs on a slice and Newton steps on central-difference
// gradients finish it (Nelder-Mead again if they cannot).
//
// Beyond ParetoMaxRows distinct histories the search runs on a systematic
// sample of them (weights scaled), which keeps a nightly fit to seconds; the
// reported log-likelihood is always over all customers, so it compares with
// BG/NBD's.
func FitParetoNBD(c Customers) (ParetoNBD, Fit, error) {
	if err := c.validate(); err != nil {
		return ParetoNBD{}, Fit{Model: "pareto_nbd"}, err
	}
	search := c
	var full *paretoData
	var pairs group
	if k := c.Len() / ParetoMaxRows; k > 1 {
		search = c.subsample(k + 1)
		// The log-likelihood over every customer needs their pairs, which
		// do not depend on the fit: they are found while the search's
		// serial stretches leave a core to spare.
		pairs.Go(func() { full = newParetoData(c) })
	}
	f, weight := paretoObjective(search)
	scale := meanOf(c.T, c) / 4
	start := []float64{1, scale, 1, scale}
	names := []string{"r", "alpha", "s", "beta"}
	// Nelder-Mead spends most of a cold search far from the optimum; a
	// search on a slice of the sample gets close for a tenth of the cost.
	var hess *mat.SymDense
	if k := search.Len() / paretoWarmRows; k > 1 {
		// A slice that ran into the shape wall says the data has no spread
		// to fit; starting there would pin the full search to the wall too.
		slice := search.subsample(k)
		if m, wf, err := FitParetoNBD(slice); err == nil && wf.Converged && max(m.R, m.S) < math.Exp(logMaxShape)/10 {
			start = []float64{m.R, m.Alpha, m.S, m.Beta}
			// From there Newton steps on the slice's curvature, with
			// gradients by central differences, finish in a few dozen
			// evaluations what Nelder-Mead takes hundreds for.
			sf, _ := paretoObjective(slice)
			hess = mat.NewSymDense(4, nil)
			fd.Hessian(hess, func(x []float64) float64 { return sf(x, nil) }, logsOf(start),
				&fd.Settings{Formula: fd.Central, Step: likelihoodStep})
		}
	}
	var fit Fit
	var err error
	ok := false
	if hess != nil {
		// Count every pass, the gradients' included.
		passes := 0
		counted := func(lp, grad []float64) float64 { passes++; return f(lp, grad) }
		if fit, ok = newton("pareto_nbd", names, start, hess, weight, differenced(counted), differencedGradientTol); ok {
			fit.Evaluations = passes
		}
	}
	if !ok {
		if fit, err = minimize("pareto_nbd", names, start, weight, f, false); err != nil {
			pairs.Wait() // no goroutine outlives the call, and none panics unseen
			return ParetoNBD{}, fit, err
		}
	}
	m := ParetoNBD{fit.Params[0], fit.Params[1], fit.Params[2], fit.Params[3]}
	if search.Len() != c.Len() {
		pairs.Wait()
		fit.LogLikelihood, fit.Customers = full.logLikelihood(m), 0
		for i := 0; i < c.Len(); i++ {
			fit.Customers += c.weight(i)
		}
	}
	return m, fit, nil
}

// paretoObjective is the Pareto/NBD negative mean log-likelihood of c over
// log-parameters, and c's summed weight.
func paretoObjective(c Customers) (objective, float64) {
	var weight float64
	for i := 0; i < c.Len(); i++ {
		weight += c.weight(i)
	}
	data := newParetoData(c)
	return func(lp, _ []float64) float64 {
		// Shapes beyond maxShape describe rates and lifetimes with no
		// spread at all; data without heterogeneity drives the search
		// there, where ₂F₁'s series needs a million terms a customer. The
		// wall makes such a search end, near it, in seconds.
		if lp[0] > logMaxShape || lp[2] > logMaxShape {
			return math.Inf(1)
		}
		m := ParetoNBD{math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2]), math.Exp(lp[3])}
		return -data.logLikelihood(m) / weight
	}, weight
}

// differenced gives f a gradient by central differences, for a search that
// needs one where f has none.
func differenced(f objective) objective {
	return func(lp, grad []float64) float64 {
		v := f(lp, nil)
		if grad != nil {
			fd.Gradient(grad, func(x []float64) float64 { return f(x, nil) }, lp,
				&fd.Settings{Formula: fd.Central, Step: gradientStep})
		}
		return v
	}
}

func logsOf(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Log(x)
	}
	return out
}

// ParetoMaxRows caps the distinct histories a Pareto/NBD search evaluates.
const ParetoMaxRows = 25_000

// logMaxShape is the log of the largest r or s a Pareto/NBD search tries:
// a gamma shape of 1,000 is a coefficient of variation of 3%.
var logMaxShape = math.Log(1000)

// paretoWarmRows is the size of the slice a large Pareto/NBD search warms up on.
const paretoWarmRows = 2_500

// PAlive is the probability the customer is still active.
func (m ParetoNBD) PAlive(x, tx, T float64) float64 {
	return m.pAliveA0(x, T, m.logA0(x, tx, T))
}

// pAliveA0 is PAlive given ln A₀.
func (m ParetoNBD) pAliveA0(x, T, a0 float64) float64 {
	return pAliveFrom(m.aliveBase(x, T), a0)
}

// aliveBase is the part of P(alive)'s log-odds that depends on (x, T)
// alone, shared by every recency.
func (m ParetoNBD) aliveBase(x, T float64) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	return math.Log(s) - math.Log(r+s+x) + (r+x)*math.Log(alpha+T) + s*math.Log(beta+T)
}

// aliveLead is aliveBase's part that does not depend on T.
func (m ParetoNBD) aliveLead(x float64) float64 {
	return math.Log(m.S) - math.Log(m.R+m.S+x)
}

// aliveBaseLogs is aliveBase from aliveLead, ln(α+T) and ln(β+T), the same
// bits by the same operations, for callers that tabulate the logarithms.
func (m ParetoNBD) aliveBaseLogs(lead, x, lnAlphaT, lnBetaT float64) float64 {
	return lead + (m.R+x)*lnAlphaT + m.S*lnBetaT
}

// pAliveFrom is P(alive) from aliveBase and ln A₀.
func pAliveFrom(base, a0 float64) float64 { return sigmoid(-(base + a0)) }

// ExpectedPurchases is the expected number of purchases in the next t time
// units: P(alive) times ExpectedIfAlive.
func (m ParetoNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return m.PAlive(x, tx, T) * m.ExpectedIfAlive(t, x, T)
}

// ExpectedIfAlive is the expected number of purchases in the next t time
// units of a customer known to be alive:
// (r+x)/(α+T) · (β+T)/(s−1) · (1 − ((β+T)/(β+T+t))^(s−1)), with its s → 1 limit.
func (m ParetoNBD) ExpectedIfAlive(t, x, T float64) float64 {
	if t <= 0 {
		return 0
	}
	return (m.R + x) / (m.Alpha + T) * m.lifetimeWithin(t, T)
}

// lifetimeWithin is the factor of ExpectedIfAlive that does not depend on
// x, (β+T)/(s−1) · (1 − ((β+T)/(β+T+t))^(s−1)), the expected time alive
// in the next t; shared by every x of one T.
func (m ParetoNBD) lifetimeWithin(t, T float64) float64 {
	s, beta := m.S, m.Beta
	shrink := math.Log((beta + T) / (beta + T + t))
	if math.Abs(s-1) < 1e-9 {
		return (beta + T) * -shrink
	}
	return (beta + T) * -math.Expm1((s-1)*shrink) / (s - 1)
}
