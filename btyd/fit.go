package btyd

import (
	"fmt"
	"math"
	"slices"
	"time"

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
