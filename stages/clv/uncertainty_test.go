package clv

import (
	"math"
	"strconv"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"retain/btyd"
	"retain/stages/internal/stagetest"
)

// TestFittedCaseStandardErrors recomputes the standard errors of the
// selected MBG/NBD fit in testdata/fitted another way than the stage does:
// second differences of the summed log-likelihood in the parameters
// themselves (not their logs, and without the analytic gradient), inverted.
// At the optimum the two agree to the optimiser's tolerance.
func TestFittedCaseStandardErrors(t *testing.T) {
	runDay, _ := time.Parse(time.DateOnly, "2026-11-22")
	// Per customer: purchase days, and the first and last purchase day in
	// days from the run date, from the case's cells.
	type span struct{ n, first, last float64 }
	spans := map[string]*span{}
	var order []string
	for _, r := range stagetest.Rows(t, "testdata/fitted/in/customer_periods.csv") {
		first, err := time.Parse(time.DateOnly, r["first_date"])
		if err != nil {
			t.Fatal(err)
		}
		last, err := time.Parse(time.DateOnly, r["last_date"])
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(r["purchase_days"])
		if err != nil {
			t.Fatal(err)
		}
		id := r["customer_id"]
		s := spans[id]
		if s == nil {
			s = &span{first: first.Sub(runDay).Hours() / 24}
			spans[id] = s
			order = append(order, id)
		}
		s.n += float64(n)
		s.last = last.Sub(runDay).Hours() / 24
	}
	var c btyd.Customers
	for _, id := range order {
		s := spans[id]
		c.Frequency = append(c.Frequency, s.n-1)
		c.Recency = append(c.Recency, s.last-s.first)
		c.T = append(c.T, -s.first)
	}
	var row map[string]string
	for _, r := range stagetest.Rows(t, "testdata/fitted/expected/model_fit.csv") {
		if r["model"] == "mbgnbd" && r["fit_scope"] == "full" {
			row = r
		}
	}
	names := []string{"r", "alpha", "a", "b"}
	p := make([]float64, 4)
	for i, n := range names {
		p[i], _ = strconv.ParseFloat(row[n], 64)
	}
	ll := func(q []float64) float64 { return btyd.MBGNBD{R: q[0], Alpha: q[1], A: q[2], B: q[3]}.LogLikelihood(c) }
	h := mat.NewSymDense(4, nil)
	for i := range 4 {
		for j := i; j < 4; j++ {
			hi, hj := 1e-4*p[i], 1e-4*p[j]
			at := func(si, sj float64) float64 {
				q := append([]float64(nil), p...)
				q[i] += si * hi
				q[j] += sj * hj
				return ll(q)
			}
			h.SetSym(i, j, -(at(1, 1)-at(1, -1)-at(-1, 1)+at(-1, -1))/(4*hi*hj))
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(h) {
		t.Fatal("Hessian not positive definite")
	}
	cov := mat.NewSymDense(4, nil)
	if err := chol.InverseTo(cov); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		got, _ := strconv.ParseFloat(row[n+"_se"], 64)
		want := math.Sqrt(cov.At(i, i))
		t.Logf("%s = %.6g: model_fit %s_se %.6g, second differences in %s %.6g", n, p[i], n, got, n, want)
		if math.Abs(got-want) > 2e-3*want {
			t.Errorf("%s_se %v, second differences %v", n, got, want)
		}
	}
}
