package btyd

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat"
)

// GammaGamma holds fitted Gamma-Gamma spend parameters (Fader, Hardie & Lee
// 2005b): each customer's mean spend per transaction ~ Gamma(Q, Gamma)-mixed
// with shape P per transaction.
type GammaGamma struct{ P, Q, Gamma float64 }

// Spend is what Gamma-Gamma fits: repeat buyers' number of repeat purchases
// and their mean spend, with optional weights.
type Spend struct {
	Frequency, Monetary, Weight []float64
}

// RepeatBuyers picks the customers Gamma-Gamma models: frequency > 0 and a
// positive mean spend (a zero spend has no Gamma density).
func RepeatBuyers(frequency, monetary []float64) Spend {
	// Counted first: growing two slices of a million entries by append
	// costs more than this whole pass.
	n := 0
	for i, x := range frequency {
		if x > 0 && monetary[i] > 0 {
			n++
		}
	}
	var s Spend
	if n == 0 {
		return s
	}
	s.Frequency, s.Monetary = make([]float64, 0, n), make([]float64, 0, n)
	for i, x := range frequency {
		if x > 0 && monetary[i] > 0 {
			s.Frequency = append(s.Frequency, x)
			s.Monetary = append(s.Monetary, monetary[i])
		}
	}
	return s
}

func (s Spend) weight(i int) float64 {
	if s.Weight == nil {
		return 1
	}
	return s.Weight[i]
}

// Correlation is the Pearson correlation of frequency and mean spend: the
// model assumes they are independent, so a strong correlation (|ρ| > 0.3 is
// the usual warning level) says its predictions deserve less trust.
func (s Spend) Correlation() float64 {
	return stat.Correlation(s.Frequency, s.Monetary, s.Weight)
}

// nll per customer: lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m
// + px ln x − (px+q) ln(xm+γ), the density of the observed mean spend m.
//
// The one logarithm per customer, ln(xm+γ), depends on γ alone: it is kept
// from the last evaluation and reused while γ stays the same, as it does
// for four of the six evaluations of the observed information's central
// differences (steps in p and q), the same bits without the logarithms.
// The objective is therefore for one goroutine at a time.
func (s Spend) nll(xs table, logM []float64, weight float64) objective {
	var lgPX, psiPX, psiPXQ []float64
	lnXMGs := make([]float64, len(s.Frequency))
	lastG := math.NaN() // no γ yet
	return func(lp, grad []float64) float64 {
		p, q, g := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2])
		reuse := g == lastG
		lastG = g
		lgPX = xs.apply(lgPX, func(x float64) float64 { return lgamma(p*x+q) - lgamma(p*x) + p*x*math.Log(x) })
		if grad != nil {
			psiPX = xs.apply(psiPX, func(x float64) float64 {
				return x*(mathext.Digamma(p*x+q)-mathext.Digamma(p*x)) + x*math.Log(x)
			})
			psiPXQ = xs.apply(psiPXQ, func(x float64) float64 { return mathext.Digamma(p*x + q) })
		}
		base := -lgamma(q) + q*math.Log(g)
		psiQ := mathext.Digamma(q)
		withGrad := grad != nil
		lnG := math.Log(g)
		sums := sumChunks(len(s.Frequency), func(lo, hi int) (acc [5]float64) {
			for i := lo; i < hi; i++ {
				x, w, m := s.Frequency[i], s.weight(i), s.Monetary[i]
				j := xs.index[i]
				lnXMG := lnXMGs[i]
				if !reuse {
					lnXMG = math.Log(x*m + g)
					lnXMGs[i] = lnXMG
				}
				acc[0] += w * (base + lgPX[j] + (p*x-1)*logM[i] - (p*x+q)*lnXMG)
				if withGrad {
					acc[1] += w * (psiPX[j] + x*logM[i] - x*lnXMG)
					acc[2] += w * (psiPXQ[j] - psiQ + lnG - lnXMG)
					acc[3] += w * (q/g - (p*x+q)/(x*m+g))
				}
			}
			return acc
		})
		ll, gp, gq, gg := sums[0], sums[1], sums[2], sums[3]
		if grad != nil {
			grad[0], grad[1], grad[2] = -gp*p/weight, -gq*q/weight, -gg*g/weight
		}
		return -ll / weight
	}
}

// FitGammaGamma fits the spend model on repeat buyers.
func FitGammaGamma(s Spend) (GammaGamma, Fit, error) {
	if len(s.Frequency) == 0 {
		return GammaGamma{}, Fit{Model: "gamma_gamma"}, fmt.Errorf("gamma_gamma: %w: no repeat buyers", ErrNoData)
	}
	logM := make([]float64, len(s.Monetary))
	var weight, mean float64
	for i, m := range s.Monetary {
		if !(m > 0) || !(s.Frequency[i] > 0) || math.IsInf(m, 0) {
			return GammaGamma{}, Fit{Model: "gamma_gamma"}, fmt.Errorf("gamma_gamma: %w", errors.Join(ErrBadInput, errors.New("needs frequency > 0 and a positive, finite mean spend")))
		}
		logM[i] = math.Log(m)
		weight += s.weight(i)
		mean += s.weight(i) * m
	}
	mean /= weight
	start := []float64{1, 1, mean}
	names := []string{"p", "q", "gamma"}
	var hess *mat.SymDense
	if k := len(s.Frequency) / warmRows; k > 1 {
		var part Spend
		for i := 0; i < len(s.Frequency); i += k {
			part.Frequency = append(part.Frequency, s.Frequency[i])
			part.Monetary = append(part.Monetary, s.Monetary[i])
			part.Weight = append(part.Weight, s.weight(i)*float64(k))
		}
		if g, _, err := FitGammaGamma(part); err == nil {
			start = []float64{g.P, g.Q, g.Gamma}
			// As in fitRAlphaAB: Newton steps on the part's curvature
			// finish the fit in a few passes over every buyer.
			if l, err := g.Likelihood(part); err == nil {
				hess = objectiveHessian(l.NLL, logsOf(start))
			}
		}
	}
	f := s.nll(newTable(s.Frequency), logM, weight)
	var fit Fit
	ok := false
	if hess != nil {
		fit, ok = newton("gamma_gamma", names, start, hess, weight, f, analyticGradientTol)
	}
	if !ok {
		var err error
		if fit, err = minimize("gamma_gamma", names, start, weight, f, true); err != nil {
			return GammaGamma{}, fit, err
		}
	}
	if fit.Params[1] <= 1 {
		// The population mean spend pγ/(q−1) does not exist: spends this
		// heavy-tailed (often unconverted currencies mixed together) are not
		// Gamma-Gamma, and any value it predicted would be meaningless.
		fit.Converged = false
		return GammaGamma{}, fit, fmt.Errorf("gamma_gamma: %w: q = %.3g <= 1, so mean spend has no finite expectation (mixed currencies or extreme spends?)", ErrDegenerate, fit.Params[1])
	}
	return GammaGamma{fit.Params[0], fit.Params[1], fit.Params[2]}, fit, nil
}

// ExpectedAverageValue is the expected mean spend per future purchase of a
// customer with x repeat purchases of mean spend m: a weighted average of
// the population mean pγ/(q−1) and the customer's own mean, the weight growing
// with x. For x = 0 (or m NaN, unknown) it is the population mean. m = 0,
// repeat purchases refunded in full, is outside what the model is fitted
// on, yet the formula holds there and pulls the value below the mean.
func (g GammaGamma) ExpectedAverageValue(x, m float64) float64 {
	population, w := g.valueWeight(x)
	return blendValue(population, w, x, m)
}

// valueWeight is ExpectedAverageValue's population mean and the weight of
// the customer's own mean at x repeat purchases, shared by every customer
// of one x.
func (g GammaGamma) valueWeight(x float64) (population, w float64) {
	return g.P * g.Gamma / (g.Q - 1), g.P * x / (g.P*x + g.Q - 1)
}

// blendValue is ExpectedAverageValue from valueWeight's parts.
func blendValue(population, w, x, m float64) float64 {
	if x <= 0 || !(m >= 0) {
		return population
	}
	return (1-w)*population + w*m
}
