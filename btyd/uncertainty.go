package btyd

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ErrFlatLikelihood is wrapped by an uncertainty that cannot be measured
// because the observed information is not positive definite: the data do
// not pin some combination of the parameters down.
var ErrFlatLikelihood = errors.New("observed information is not positive definite (flat likelihood)")

// Likelihood is a model's log-likelihood over one data set as a function
// of its log-parameters, the form the fits minimize.
type Likelihood struct {
	Model string
	Names []string
	// Params are the parameters the information is measured at, normally
	// the maximum-likelihood estimate for these data.
	Params []float64
	// Weight is the number of customers (summed weights); NLL is per unit
	// of it.
	Weight float64
	// NLL is the negative mean log-likelihood at log-parameters lp. With
	// Gradient set it also writes the gradient with respect to lp into grad
	// when grad is not nil; without, grad is always nil.
	NLL      func(lp, grad []float64) float64
	Gradient bool
}

// Estimable is a fitted purchase model whose parameter uncertainty can be
// measured and sampled: BGNBD, MBGNBD, ParetoNBD, and any model that can give its
// likelihood over log-parameters and rebuild itself from parameter values.
// (A model of this package may also implement batchModel, which makes its
// prediction intervals faster.)
type Estimable interface {
	PurchaseModel
	// Likelihood is the model's log-likelihood of customers (compressed or
	// not), with Params set to the model's own parameters.
	Likelihood(c Customers) (Likelihood, error)
	// WithParams is the same kind of model at other parameter values, in
	// the order of Likelihood's Names, or an error when its formulas do not
	// hold there.
	WithParams(p []float64) (PurchaseModel, error)
}

// Uncertainty describes how precisely the data determine a fit's
// parameters, from the observed information at the estimate.
type Uncertainty struct {
	Model string
	Names []string
	// Level is the two-sided confidence level of Low and High.
	Level float64
	// Estimate are the parameters; SE their standard errors by the delta
	// method, se(θ) = θ·se(ln θ).
	Estimate, SE []float64
	// Low and High bound the confidence interval, computed on the log
	// scale and exponentiated, exp(ln θ ± z·se(ln θ)), so they stay
	// positive and are not symmetric around the estimate.
	Low, High []float64
	// Cov is the covariance of the log-parameters: the inverse of the
	// Hessian of the summed negative log-likelihood in log-parameters.
	Cov *mat.SymDense
	// Customers is the number of customers (summed weights) behind it.
	Customers float64
}

// LogSE is the standard error of ln θᵢ, the square root of Cov's diagonal.
func (u Uncertainty) LogSE(i int) float64 { return math.Sqrt(u.Cov.At(i, i)) }

// Correlation is the correlation of ln θᵢ and ln θⱼ.
func (u Uncertainty) Correlation(i, j int) float64 {
	return u.Cov.At(i, j) / math.Sqrt(u.Cov.At(i, i)*u.Cov.At(j, j))
}

// PurchaseUncertainty measures the uncertainty of a fitted purchase model
// (normally the maximum-likelihood fit to c) at a confidence level in (0, 1).
// Customers without weights are compressed first, so raw rows cost little
// more; weighted ones are taken as Compress gave them, which saves a
// caller that fits several models on one set of customers a compression
// per model.
func PurchaseUncertainty(m Estimable, c Customers, level float64) (Uncertainty, error) {
	if err := c.validate(); err != nil {
		return Uncertainty{}, err
	}
	if c.Weight == nil {
		c = Compress(c)
	}
	l, err := m.Likelihood(c)
	if err != nil {
		return Uncertainty{}, err
	}
	return l.Uncertainty(level)
}

// SpendUncertainty measures the uncertainty of a fitted Gamma-Gamma model
// (normally the maximum-likelihood fit to s) at a confidence level in (0, 1).
func SpendUncertainty(g GammaGamma, s Spend, level float64) (Uncertainty, error) {
	l, err := g.Likelihood(s)
	if err != nil {
		return Uncertainty{}, err
	}
	return l.Uncertainty(level)
}

// Hessian steps in log-parameters: central differences of an analytic
// gradient have truncation error O(h²) and rounding error O(ε/h), balanced
// near ε^(1/3); second differences of the likelihood near ε^(1/4).
const (
	gradientStep   = 1e-5
	likelihoodStep = 1e-4
)

// maxCondition is the largest condition number of the observed information
// accepted: beyond it the smallest curvature is below what the finite
// differences resolve, and the intervals along it would be noise.
const maxCondition = 1e10

// Uncertainty computes the observed information at l.Params — the Hessian
// of the summed negative log-likelihood in log-parameters, by central
// differences of the analytic gradient where there is one and second
// differences of the likelihood otherwise — and from its inverse the
// standard errors and confidence intervals at level. It fails, wrapping
// ErrFlatLikelihood, when the Hessian is not positive definite.
func (l Likelihood) Uncertainty(level float64) (Uncertainty, error) {
	if !(level > 0 && level < 1) {
		return Uncertainty{}, fmt.Errorf("%s: %w: confidence level %v outside (0, 1)", l.Model, ErrBadInput, level)
	}
	if !(l.Weight > 0) || len(l.Params) == 0 || len(l.Names) != len(l.Params) {
		return Uncertainty{}, fmt.Errorf("%s: %w: no customers or parameters", l.Model, ErrNoData)
	}
	n := len(l.Params)
	lp := make([]float64, n)
	for i, v := range l.Params {
		if !(v > 0) || math.IsInf(v, 0) {
			return Uncertainty{}, fmt.Errorf("%s: %w: parameter %s = %v", l.Model, ErrBadInput, l.Names[i], v)
		}
		lp[i] = math.Log(v)
	}
	h := mat.NewSymDense(n, nil)
	if l.Gradient {
		jac := mat.NewDense(n, n, nil)
		fd.Jacobian(jac, func(g, x []float64) { l.NLL(x, g) }, lp,
			&fd.JacobianSettings{Formula: fd.Central, Step: gradientStep})
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				h.SetSym(i, j, (jac.At(i, j)+jac.At(j, i))/2*l.Weight)
			}
		}
	} else {
		fd.Hessian(h, func(x []float64) float64 { return l.NLL(x, nil) }, lp,
			&fd.Settings{Formula: fd.Central, Step: likelihoodStep})
		h.ScaleSym(l.Weight, h)
	}
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			if v := h.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return Uncertainty{}, fmt.Errorf("%s: %w: the Hessian is not finite at %v", l.Model, ErrFlatLikelihood, l.Params)
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(h) {
		return Uncertainty{}, fmt.Errorf("%s: %w: the data do not determine %v at %v (or it is not a maximum)",
			l.Model, ErrFlatLikelihood, l.Names, l.Params)
	}
	if c := chol.Cond(); c > maxCondition {
		return Uncertainty{}, fmt.Errorf("%s: %w: condition number %.3g, some combination of %v is not determined by the data",
			l.Model, ErrFlatLikelihood, c, l.Names)
	}
	cov := mat.NewSymDense(n, nil)
	if err := chol.InverseTo(cov); err != nil {
		return Uncertainty{}, fmt.Errorf("%s: %w: %v", l.Model, ErrFlatLikelihood, err)
	}
	z := distuv.UnitNormal.Quantile((1 + level) / 2)
	u := Uncertainty{
		Model: l.Model, Names: append([]string(nil), l.Names...), Level: level,
		Estimate: append([]float64(nil), l.Params...),
		SE:       make([]float64, n), Low: make([]float64, n), High: make([]float64, n),
		Cov: cov, Customers: l.Weight,
	}
	for i := range lp {
		s := math.Sqrt(cov.At(i, i))
		u.SE[i] = l.Params[i] * s
		u.Low[i], u.High[i] = math.Exp(lp[i]-z*s), math.Exp(lp[i]+z*s)
	}
	return u, nil
}

// Likelihood is the BG/NBD log-likelihood of customers, with its analytic
// gradient.
func (m BGNBD) Likelihood(c Customers) (Likelihood, error) {
	if err := c.validate(); err != nil {
		return Likelihood{}, err
	}
	d := newBGNBDData(c)
	return Likelihood{Model: "bgnbd", Names: []string{"r", "alpha", "a", "b"},
		Params: []float64{m.R, m.Alpha, m.A, m.B}, Weight: d.weight, NLL: d.nll, Gradient: true}, nil
}

// WithParams is BG/NBD at r, α, a, b. Its expected-purchases formula needs
// a + b > 1 (the hypergeometric series of a customer without repeat
// purchases) and a ≠ 1.
func (m BGNBD) WithParams(p []float64) (PurchaseModel, error) {
	if len(p) != 4 || !finiteAll(p) || p[2]+p[3] <= 1 || math.Abs(p[2]-1) < 1e-9 {
		return nil, fmt.Errorf("bgnbd: %w: parameters %v", ErrBadInput, p)
	}
	return BGNBD{p[0], p[1], p[2], p[3]}, nil
}

// Likelihood is the Pareto/NBD log-likelihood of customers, which has no
// analytic gradient; its Hessian comes from second differences.
//
// Beyond ParetoMaxRows distinct histories it is the likelihood FitParetoNBD
// searches: the same systematic sample, weights scaled to all customers.
// The fit's estimate is that function's maximum, so its curvature there is
// the information the estimate has; and the thirty-odd evaluations of the
// Hessian then cost what a few steps of the search do, rather than each a
// pass over every distinct history.
func (m ParetoNBD) Likelihood(c Customers) (Likelihood, error) {
	if err := c.validate(); err != nil {
		return Likelihood{}, err
	}
	if k := c.Len() / ParetoMaxRows; k > 1 {
		c = c.subsample(k + 1)
	}
	var weight float64
	for i := 0; i < c.Len(); i++ {
		weight += c.weight(i)
	}
	data := newParetoData(c)
	f := func(lp, _ []float64) float64 {
		m := ParetoNBD{math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2]), math.Exp(lp[3])}
		return -data.logLikelihood(m) / weight
	}
	return Likelihood{Model: "pareto_nbd", Names: []string{"r", "alpha", "s", "beta"},
		Params: []float64{m.R, m.Alpha, m.S, m.Beta}, Weight: weight, NLL: f}, nil
}

// WithParams is Pareto/NBD at r, α, s, β.
func (m ParetoNBD) WithParams(p []float64) (PurchaseModel, error) {
	if len(p) != 4 || !finiteAll(p) {
		return nil, fmt.Errorf("pareto_nbd: %w: parameters %v", ErrBadInput, p)
	}
	return ParetoNBD{p[0], p[1], p[2], p[3]}, nil
}

// Likelihood is the Gamma-Gamma log-likelihood of repeat buyers' spend,
// with its analytic gradient.
func (g GammaGamma) Likelihood(s Spend) (Likelihood, error) {
	if len(s.Frequency) == 0 {
		return Likelihood{}, fmt.Errorf("gamma_gamma: %w: no repeat buyers", ErrNoData)
	}
	if len(s.Monetary) != len(s.Frequency) || (s.Weight != nil && len(s.Weight) != len(s.Frequency)) {
		return Likelihood{}, fmt.Errorf("gamma_gamma: %w: columns differ in length", ErrBadInput)
	}
	logM := make([]float64, len(s.Monetary))
	var weight float64
	for i, m := range s.Monetary {
		if !(m > 0) || !(s.Frequency[i] > 0) || math.IsInf(m, 0) {
			return Likelihood{}, fmt.Errorf("gamma_gamma: %w: needs frequency > 0 and a positive, finite mean spend", ErrBadInput)
		}
		logM[i] = math.Log(m)
		weight += s.weight(i)
	}
	return Likelihood{Model: "gamma_gamma", Names: []string{"p", "q", "gamma"},
		Params: []float64{g.P, g.Q, g.Gamma}, Weight: weight,
		NLL: s.nll(newTable(s.Frequency), logM, weight), Gradient: true}, nil
}

// withParams is Gamma-Gamma at p, q, γ; q must exceed 1 for the
// population mean spend to exist.
func (g GammaGamma) withParams(p []float64) (GammaGamma, error) {
	if len(p) != 3 || !finiteAll(p) || p[1] <= 1 {
		return GammaGamma{}, fmt.Errorf("gamma_gamma: %w: parameters %v", ErrBadInput, p)
	}
	return GammaGamma{p[0], p[1], p[2]}, nil
}

// Likelihood is the MBG/NBD log-likelihood of customers, with its analytic
// gradient.
func (m MBGNBD) Likelihood(c Customers) (Likelihood, error) {
	if err := c.validate(); err != nil {
		return Likelihood{}, err
	}
	d := newMBGNBDData(c)
	return Likelihood{Model: "mbgnbd", Names: []string{"r", "alpha", "a", "b"},
		Params: []float64{m.R, m.Alpha, m.A, m.B}, Weight: d.weight, NLL: d.nll, Gradient: true}, nil
}

// WithParams is MBG/NBD at r, α, a, b. Unlike BG/NBD's, its expected
// purchases hold for any a + b (the series' c is a+b+x, positive even
// without repeat purchases); only a ≠ 1 is needed.
func (m MBGNBD) WithParams(p []float64) (PurchaseModel, error) {
	if len(p) != 4 || !finiteAll(p) || math.Abs(p[2]-1) < 1e-9 {
		return nil, fmt.Errorf("mbgnbd: %w: parameters %v", ErrBadInput, p)
	}
	return MBGNBD{p[0], p[1], p[2], p[3]}, nil
}
