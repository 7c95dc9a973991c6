package btyd

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Fit is the outcome of one maximum-likelihood fit.
type Fit struct {
	Model  string
	Names  []string
	Params []float64
	// LogLikelihood is the sum over customers (weighted).
	LogLikelihood float64
	Customers     float64
	Iterations    int
	Evaluations   int
	Converged     bool
	Duration      time.Duration
}

// Param returns a parameter by name.
func (f Fit) Param(name string) float64 {
	return f.Params[slices.Index(f.Names, name)]
}

// objective returns the negative mean log-likelihood at log-parameters lp
// and, when grad is not nil, its gradient with respect to lp.
type objective func(lp, grad []float64) float64

// minimize fits on a log scale, so parameters stay positive without
// constraints, with BFGS on an analytic gradient or Nelder-Mead without one.
func minimize(model string, names []string, start []float64, weight float64, f objective, withGrad bool) (Fit, error) {
	began := time.Now()
	lp0 := make([]float64, len(start))
	for i, v := range start {
		lp0[i] = math.Log(v)
	}
	// Func and Grad ask for the same points, not always in turn (the line
	// search comes back to a point it evaluated before another): remember
	// the last few and evaluate each once. An objective gives the same bits
	// for the same point, so this changes no result, only the cost.
	type point struct {
		x, grad []float64
		val     float64
	}
	var recent [evalCache]point
	next := 0
	eval := func(x []float64) (float64, []float64) {
		for _, p := range recent {
			if p.x != nil && slices.Equal(x, p.x) {
				return p.val, p.grad
			}
		}
		g := make([]float64, len(x))
		var gp []float64
		if withGrad {
			gp = g
		}
		v := f(x, gp)
		if math.IsNaN(v) {
			v = math.Inf(1) // steer the line search away rather than stop
		}
		recent[next] = point{slices.Clone(x), g, v}
		next = (next + 1) % evalCache
		return v, g
	}
	p := optimize.Problem{Func: func(x []float64) float64 { v, _ := eval(x); return v }}
	var method optimize.Method = &optimize.NelderMead{}
	if withGrad {
		p.Grad = func(grad, x []float64) { _, g := eval(x); copy(grad, g) }
		method = &optimize.BFGS{}
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-8,
		MajorIterations:   2000,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 50},
	}
	res, err := optimize.Minimize(p, lp0, settings, method)
	fit := Fit{Model: model, Names: names, Customers: weight, Duration: time.Since(began)}
	if res == nil {
		return fit, fmt.Errorf("%s: %w: %v", model, ErrNotConverged, err)
	}
	fit.Iterations, fit.Evaluations = res.Stats.MajorIterations, res.Stats.FuncEvaluations
	fit.Params = make([]float64, len(res.X))
	for i, v := range res.X {
		fit.Params[i] = math.Exp(v)
	}
	fit.LogLikelihood = -res.F * weight
	switch {
	case math.IsNaN(res.F) || math.IsInf(res.F, 0):
		return fit, fmt.Errorf("%s: %w: likelihood is not finite at %v", model, ErrNotConverged, fit.Params)
	case !finiteAll(fit.Params):
		return fit, fmt.Errorf("%s: %w: parameters ran off to %v", model, ErrNotConverged, fit.Params)
	}
	fit.Converged = err == nil && (res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence ||
		res.Status == optimize.MethodConverge)
	// A line search that cannot improve on a point where the gradient has
	// vanished is at the optimum, only flatter than float precision resolves.
	if !fit.Converged && withGrad {
		_, g := eval(res.X)
		fit.Converged = maxAbs(g) < 1e-5
	}
	if !fit.Converged {
		if err == nil {
			err = fmt.Errorf("stopped with status %v", res.Status)
		}
		return fit, fmt.Errorf("%s: %w: %v", model, ErrNotConverged, err)
	}
	return fit, nil
}

// evalCache is how many recent points minimize remembers.
const evalCache = 8

func finiteAll(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || x <= 0 {
			return false
		}
	}
	return true
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// newton minimizes f from start by Newton steps on a quasi-Newton Hessian
// that starts at hess, the Hessian of a close stand-in for f (the same
// mean likelihood over a systematic sample of the rows), and is refined by
// BFGS updates of the Hessian itself. From a start near the optimum and
// with a Hessian that already has the curvature's scale, it needs a
// handful of evaluations where BFGS from the identity spends dozens on
// learning that scale. It reports false when it cannot make progress
// (a Hessian that is not positive definite, a step that no backtracking
// improves while the gradient is far from zero), and the caller falls
// back to minimize. It stops once no gradient component exceeds gradTol.
func newton(model string, names []string, start []float64, hess *mat.SymDense, weight float64, f objective, gradTol float64) (Fit, bool) {
	began := time.Now()
	n := len(start)
	x := make([]float64, n)
	for i, v := range start {
		x[i] = math.Log(v)
	}
	g := make([]float64, n)
	val := f(x, g)
	evals := 1
	h := mat.NewSymDense(n, nil)
	h.CopySym(hess)
	var chol mat.Cholesky
	dir := mat.NewVecDense(n, nil)
	xNew, gNew := make([]float64, n), make([]float64, n)
	converged := false
	iter := 0
	for ; iter < newtonIterations; iter++ {
		if maxAbs(g) < gradTol {
			converged = true
			break
		}
		if !chol.Factorize(h) {
			return Fit{}, false
		}
		if err := chol.SolveVecTo(dir, mat.NewVecDense(n, slices.Clone(g))); err != nil {
			return Fit{}, false
		}
		var slope float64
		for i := range n {
			slope -= g[i] * dir.AtVec(i)
		}
		if !(slope < 0) {
			return Fit{}, false
		}
		// The full step is nearly always taken, so it is evaluated with
		// its gradient; shorter ones get theirs only once accepted.
		step, vNew, accepted := 1.0, math.Inf(1), false
		for try := range 20 {
			for i := range n {
				xNew[i] = x[i] - step*dir.AtVec(i)
			}
			if try == 0 {
				vNew = f(xNew, gNew)
			} else {
				vNew = f(xNew, nil)
			}
			evals++
			// Armijo's sufficient decrease, or no worse where float
			// precision no longer resolves the decrease a tiny step makes.
			if vNew < val+1e-4*step*slope || (vNew <= val && try == 0 && maxAbs(gNew) < maxAbs(g)) {
				if try > 0 {
					f(xNew, gNew)
					evals++
				}
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			// No step improves: at the optimum only if the gradient has
			// vanished to what float precision resolves, as minimize has it.
			converged = maxAbs(g) < 1e-5
			break
		}
		bfgsUpdate(h, x, xNew, g, gNew)
		copy(x, xNew)
		copy(g, gNew)
		val = vNew
	}
	if !converged || math.IsNaN(val) || math.IsInf(val, 0) {
		return Fit{}, false
	}
	fit := Fit{Model: model, Names: names, Customers: weight, Iterations: iter, Evaluations: evals, Converged: true,
		LogLikelihood: -val * weight, Params: make([]float64, n)}
	for i, v := range x {
		fit.Params[i] = math.Exp(v)
	}
	if !finiteAll(fit.Params) {
		return Fit{}, false
	}
	fit.Duration = time.Since(began)
	return fit, true
}

// newtonIterations bounds newton's steps before it gives up.
const newtonIterations = 50

// bfgsUpdate moves the Hessian approximation h toward the curvature seen
// between two points, H + yyᵀ/(yᵀs) − Hssᵀ H/(sᵀHs), skipped when the pair
// does not show positive curvature (which would break positive definiteness).
func bfgsUpdate(h *mat.SymDense, x0, x1, g0, g1 []float64) {
	n := len(x0)
	s, y := mat.NewVecDense(n, nil), mat.NewVecDense(n, nil)
	for i := range n {
		s.SetVec(i, x1[i]-x0[i])
		y.SetVec(i, g1[i]-g0[i])
	}
	ys := mat.Dot(y, s)
	var hs mat.VecDense
	hs.MulVec(h, s)
	shs := mat.Dot(s, &hs)
	if !(ys > 1e-300) || !(shs > 1e-300) {
		return
	}
	h.SymRankOne(h, 1/ys, y)
	h.SymRankOne(h, -1/shs, &hs)
}

// objectiveHessian is the Hessian of f at log-parameters lp by central
// differences of its analytic gradient, symmetrized.
func objectiveHessian(f objective, lp []float64) *mat.SymDense {
	n := len(lp)
	jac := mat.NewDense(n, n, nil)
	fd.Jacobian(jac, func(g, x []float64) { f(x, g) }, lp, &fd.JacobianSettings{Formula: fd.Central, Step: gradientStep})
	h := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			h.SetSym(i, j, (jac.At(i, j)+jac.At(j, i))/2)
		}
	}
	return h
}

// Gradients newton stops at: minimize's own for an analytic gradient; for
// one by central differences the floor its rounding noise leaves (about
// 1e-7 on a Pareto/NBD likelihood, whose ₂F₁ terms cancel in A₀), where
// the parameters are within a few parts in 10⁷ of the optimum, far inside
// their standard errors.
const (
	analyticGradientTol    = 1e-8
	differencedGradientTol = 1e-6
)
