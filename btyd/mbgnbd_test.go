package btyd

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// simulateMBGNBD draws customers from the MBG/NBD story: λ ~ Gamma(r, α),
// p ~ Beta(a, b), a dropout chance with probability p at the first purchase
// (time 0) and after each repeat purchase, purchases a Poisson process at
// rate λ while alive, observed for a tenure T of 1 to maxT whole days.
//
// Recency is counted in whole days from the first purchase's day, as the
// nightly job counts it: the first purchase falls at a uniform time of its
// day, so the rounding is unbiased. (Flooring the time since the first
// purchase instead shortens every recency by half a day on average, which
// biases α by 2-4% at these rates, several standard errors at 200k.)
func simulateMBGNBD(m MBGNBD, n int, maxT float64, seed uint64) Customers {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	lambda := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: rng}
	drop := distuv.Beta{Alpha: m.A, Beta: m.B, Src: rng}
	var c Customers
	for i := 0; i < n; i++ {
		T := math.Ceil(rng.Float64() * maxT)
		l, p, timeOfDay := lambda.Rand(), drop.Rand(), rng.Float64()
		var x, last, t float64
		// Each pass is one dropout chance survived: the first at time 0.
		for rng.Float64() >= p {
			t += rng.ExpFloat64() / l
			if t > T {
				break
			}
			x, last = x+1, t
		}
		c.Frequency = append(c.Frequency, x)
		c.Recency = append(c.Recency, math.Floor(timeOfDay+last))
		c.T = append(c.T, T)
	}
	return c
}

// mbgnbdReference is one customer's likelihood and P(alive) computed straight
// from the formulas of Batislam, Denizel & Filiztekin (2007), in plain
// float64 and independent of the package's log-space code:
//
//	L = B(a, b+x+1)/B(a, b) · Γ(r+x)/Γ(r) · αʳ/(α+T)^(r+x)
//	  + B(a+1, b+x)/B(a, b) · Γ(r+x)/Γ(r) · αʳ/(α+tₓ)^(r+x),
//
// P(alive) being the first term's share of L.
func mbgnbdReference(m MBGNBD, x, tx, T float64) (ll, pAlive float64) {
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	lnBeta := func(p, q float64) float64 { return lg(p) + lg(q) - lg(p+q) }
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	gammaRatio := math.Exp(lg(r+x) - lg(r))
	alive := math.Exp(lnBeta(a, b+x+1)-lnBeta(a, b)) * gammaRatio * math.Pow(alpha, r) / math.Pow(alpha+T, r+x)
	dead := math.Exp(lnBeta(a+1, b+x)-lnBeta(a, b)) * gammaRatio * math.Pow(alpha, r) / math.Pow(alpha+tx, r+x)
	return math.Log(alive + dead), alive / (alive + dead)
}

func relDiff(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

func TestMBGNBDGradient(t *testing.T) {
	c, _ := cdnow(t)
	d := newMBGNBDData(Compress(c))
	checkGradient(t, "mbgnbd", d.nll, []float64{math.Log(0.5), math.Log(6), math.Log(0.9), math.Log(1.6)})
	checkGradient(t, "mbgnbd far", d.nll, []float64{math.Log(3), math.Log(40), math.Log(4), math.Log(0.3)})
	s := simulateMBGNBD(MBGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, 20_000, 730, 3)
	checkGradient(t, "mbgnbd days", newMBGNBDData(Compress(s)).nll, []float64{math.Log(0.3), math.Log(20), math.Log(1.2), math.Log(3)})
	// Heavy buyers long silent put the dropout term past exp's range,
	// where nll takes its clamped branch.
	extreme := Customers{Frequency: []float64{0, 5, 3000, 3000}, Recency: []float64{0, 20, 1000, 999}, T: []float64{200, 700, 10_000, 1000}}
	checkGradient(t, "mbgnbd extreme", newMBGNBDData(extreme).nll, []float64{math.Log(0.5), math.Log(40), math.Log(0.9), math.Log(1.6)})
}

// relativeSE is the asymptotic standard error of each parameter relative to
// its value, the square roots of the diagonal of the inverse Hessian of the
// summed negative log-likelihood in log-parameters (Hessian from central
// differences of the analytic gradient).
func relativeSE(f objective, lp []float64, n float64) []float64 {
	k := len(lp)
	h := mat.NewSymDense(k, nil)
	cols := make([][]float64, k)
	for j := range lp {
		up, down := append([]float64(nil), lp...), append([]float64(nil), lp...)
		const step = 1e-4
		up[j] += step
		down[j] -= step
		gu, gd := make([]float64, k), make([]float64, k)
		f(up, gu)
		f(down, gd)
		cols[j] = make([]float64, k)
		for i := range cols[j] {
			cols[j][i] = (gu[i] - gd[i]) / (2 * step) * n
		}
	}
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			h.SetSym(i, j, (cols[i][j]+cols[j][i])/2)
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(h); err != nil {
		return nil
	}
	se := make([]float64, k)
	for i := range se {
		se[i] = math.Sqrt(inv.At(i, i))
	}
	return se
}

func TestMBGNBDParameterRecovery(t *testing.T) {
	// 200k customers pin every parameter to within about 1.3% (one
	// standard error) over three years of tenure; -short fits a quarter of
	// them, with twice the spread, to twice the tolerance.
	n, tol := 200_000, 0.05
	if testing.Short() {
		n, tol = 50_000, 0.10
	}
	truth := MBGNBD{R: 0.8, Alpha: 25, A: 0.8, B: 2.5}
	c := Compress(simulateMBGNBD(truth, n, 1095, 5))
	m, fit, err := FitMBGNBD(c)
	if err != nil {
		t.Fatal(err)
	}
	se := relativeSE(newMBGNBDData(c).nll, []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, fit.Customers)
	t.Logf("recovered %+v from %d customers (%d distinct) in %d iterations; relative standard errors %.4f",
		m, n, c.Len(), fit.Iterations, se)
	for i, name := range fit.Names {
		got := []float64{m.R, m.Alpha, m.A, m.B}[i]
		want := []float64{truth.R, truth.Alpha, truth.A, truth.B}[i]
		within(t, name, got, want, tol)
		// A tolerance within reach of chance would make the test a
		// statement about the seed rather than the estimator.
		if se == nil || tol < 3*se[i] {
			t.Errorf("%s: tolerance %.3f is under three standard errors (%v)", name, tol, se)
		}
	}
}

// TestMBGNBDCDNOW checks the package's likelihood and P(alive) against the
// reference formulas at the CDNOW fit, that the fit is a maximum, and the
// estimates against those lifetimes' test suite holds for the same data
// (tests/test_estimation.py, test_params_out_is_close_to_BTYDplus:
// r 0.525, alpha 6.183, a 0.891, b 1.614, to three decimals).
func TestMBGNBDCDNOW(t *testing.T) {
	c, _ := cdnow(t)
	m, fit, err := FitMBGNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	refLL := func(m MBGNBD) float64 {
		var s float64
		for i := range c.Frequency {
			ll, _ := mbgnbdReference(m, c.Frequency[i], c.Recency[i], c.T[i])
			s += ll
		}
		return s
	}
	want := refLL(m)
	full := m.LogLikelihood(c)
	t.Logf("MBG/NBD %+v LL %.4f in %d iterations, %v; relative difference from the reference %.2g (compressed), %.2g (all rows)",
		m, fit.LogLikelihood, fit.Iterations, fit.Duration, relDiff(fit.LogLikelihood, want), relDiff(full, want))
	if d := relDiff(fit.LogLikelihood, want); d > 1e-9 {
		t.Errorf("fit LL %.10g, reference %.10g (relative %.2g)", fit.LogLikelihood, want, d)
	}
	if relDiff(full, want) > 1e-9 {
		t.Errorf("LL over uncompressed rows %.10g, reference %.10g", full, want)
	}
	var worst float64
	for i := range c.Frequency {
		_, pa := mbgnbdReference(m, c.Frequency[i], c.Recency[i], c.T[i])
		got := m.PAlive(c.Frequency[i], c.Recency[i], c.T[i])
		worst = math.Max(worst, relDiff(got, pa))
		if relDiff(got, pa) > 1e-9 {
			t.Fatalf("customer %d (x %v, tx %v, T %v): p_alive %.12g, reference %.12g", i, c.Frequency[i], c.Recency[i], c.T[i], got, pa)
		}
	}
	t.Logf("largest relative p_alive difference %.2g", worst)

	// A 1% step either way in any one parameter lowers the likelihood.
	for k, name := range fit.Names {
		for _, f := range []float64{0.99, 1.01} {
			p := []float64{m.R, m.Alpha, m.A, m.B}
			p[k] *= f
			if ll := refLL(MBGNBD{p[0], p[1], p[2], p[3]}); ll >= want {
				t.Errorf("%s × %v: LL %.6f, not below the fit's %.6f", name, f, ll, want)
			}
		}
	}

	// lifetimes gives its estimates to three decimals; ours round to them.
	lifetimes := []float64{0.525, 6.183, 0.891, 1.614}
	for k, got := range []float64{m.R, m.Alpha, m.A, m.B} {
		if math.Abs(got-lifetimes[k]) > 0.0005 {
			t.Errorf("%s = %.5f, lifetimes %.3f", fit.Names[k], got, lifetimes[k])
		}
	}
}

func TestMBGNBDPAliveAndExpected(t *testing.T) {
	// The odds are computed in log space, so thousands of purchases do
	// not overflow into NaN.
	heavy := MBGNBD{R: 0.52, Alpha: 43, A: 0.89, B: 1.61}
	if p := heavy.PAlive(3000, 999, 1000); p < 0.99 {
		t.Errorf("recent heavy buyer p_alive %v", p)
	}
	if p := heavy.PAlive(3000, 1000, 10_000); p > 1e-6 {
		t.Errorf("long-silent heavy buyer p_alive %v", p)
	}
	// In days, of the size a real shop fits, and one with a > 1, which
	// takes the other branch of ₂F₁.
	for _, m := range []MBGNBD{{R: 0.24, Alpha: 31, A: 0.79, B: 2.43}, {R: 1.3, Alpha: 60, A: 2.2, B: 7}} {
		for _, T := range []float64{0, 1, 30, 365, 3650} {
			got := m.PAlive(0, 0, T)
			want := 1 / (1 + m.A/m.B*math.Pow((m.Alpha+T)/m.Alpha, m.R))
			if !(got < 1) || relDiff(got, want) > 1e-12 {
				t.Errorf("%+v: p_alive(0, 0, %v) = %.15g, formula %.15g", m, T, got, want)
			}
		}
		for x := 0.0; x <= 60; x += 3 {
			for T := 0.0; T <= 1000; T += 50 {
				for tx := 0.0; tx <= T; tx += 25 {
					if x == 0 && tx > 0 {
						break
					}
					if p := m.PAlive(x, tx, T); !(p > 0 && p <= 1) {
						t.Fatalf("%+v: p_alive(%v, %v, %v) = %v, outside (0, 1]", m, x, tx, T, p)
					}
					prev := 0.0
					for _, h := range []float64{0, 1, 7, 30, 90, 365, 3650} {
						e := m.ExpectedPurchases(h, x, tx, T)
						if !finite(e) || e < 0 || e < prev || (h > 0 && e == prev) {
							t.Fatalf("%+v (x %v, tx %v, T %v): expected purchases over %v days = %v after %v", m, x, tx, T, h, e, prev)
						}
						prev = e
					}
				}
			}
		}
	}
}

// TestMBGNBDExpectedIfAliveIntegral checks the closed form against the
// expectation integrated from the story: alive at T, a customer's future
// purchases given p and λ number (1 − e^(−λpt))/p in expectation; averaging
// over λ ~ Gamma(r+x, α+T) leaves
//
//	∫₀¹ (1 − ((α+T)/(α+T+pt))^(r+x))/p · Beta(p; a, b+x+1) dp,
//
// summed here by tanh-sinh quadrature, which copes with the Beta density's
// endpoint singularities.
func TestMBGNBDExpectedIfAliveIntegral(t *testing.T) {
	integral := func(m MBGNBD, horizon, x, T float64) float64 {
		lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
		a, b := m.A, m.B+x+1
		lnB := lg(a) + lg(b) - lg(a+b)
		var sum float64
		const h = 1.0 / 64
		for s := -5.0; s <= 5; s += h {
			u := math.Pi * math.Sinh(s)
			p, q := 1/(1+math.Exp(-u)), 1/(1+math.Exp(u)) // p and 1−p, both accurate
			if p == 0 || q == 0 {
				continue
			}
			gain := -math.Expm1(-(m.R+x)*math.Log1p(p*horizon/(m.Alpha+T))) / p
			// dp/ds = π cosh s · p(1−p)
			dens := math.Exp((a-1)*math.Log(p) + (b-1)*math.Log(q) - lnB)
			sum += gain * dens * math.Pi * math.Cosh(s) * p * q
		}
		return sum * h
	}
	var worst float64
	for _, m := range []MBGNBD{{R: 0.24, Alpha: 31, A: 0.79, B: 2.43}, {R: 1.3, Alpha: 60, A: 2.2, B: 7}, {R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}} {
		for _, c := range []struct{ t, x, T float64 }{{1, 0, 0}, {30, 0, 200}, {90, 5, 200}, {365, 2, 30}, {39, 2, 38.86}, {3650, 40, 700}} {
			got, want := m.ExpectedIfAlive(c.t, c.x, c.T), integral(m, c.t, c.x, c.T)
			worst = math.Max(worst, relDiff(got, want))
			if relDiff(got, want) > 1e-9 {
				t.Errorf("%+v %+v: closed form %.12g, integral %.12g", m, c, got, want)
			}
		}
	}
	t.Logf("largest relative difference %.2g", worst)
}

// TestMBGNBDNoPurchase: the probability of no purchase falls from 1 to
// 1 − P(alive) as the window grows (an alive customer always buys again
// before dropping out), and the next-order time has even odds.
func TestMBGNBDNoPurchase(t *testing.T) {
	m := MBGNBD{R: 0.52484, Alpha: 6.18299, A: 0.89136, B: 1.61400}
	for _, h := range [][3]float64{{0, 0, 30}, {1, 10, 30}, {4, 25, 39}, {20, 38, 39}} {
		x, tx, T := h[0], h[1], h[2]
		p := m.PAlive(x, tx, T)
		if got := m.PNoPurchase(0, x, tx, T); got != 1 {
			t.Errorf("x=%v: P0(0) = %v, want 1", x, got)
		}
		if got := m.PNoPurchase(1e300, x, tx, T); math.Abs(got-(1-p)) > 1e-12 {
			t.Errorf("x=%v: P0(∞) = %v, want 1 − P(alive) = %v", x, got, 1-p)
		}
		prev := 1.0
		for _, w := range []float64{0.5, 1, 5, 20, 100, 1000} {
			got := m.PNoPurchase(w, x, tx, T)
			if got > prev {
				t.Errorf("x=%v: P0(%v) = %v rises above %v", x, w, got, prev)
			}
			prev = got
		}
		d, ok := m.NextOrderDays(x, tx, T)
		if ok != (1-p < 0.5) {
			t.Errorf("x=%v: NextOrderDays ok = %v with P(alive) %v", x, ok, p)
		}
		if ok && math.Abs(m.PNoPurchase(d, x, tx, T)-0.5) > 1e-9 {
			t.Errorf("x=%v: P0(%v) = %v, want 0.5", x, d, m.PNoPurchase(d, x, tx, T))
		}
	}
}
