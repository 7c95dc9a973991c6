package btyd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"
)

// Parameters in days, of the size a real shop fits; the two Pareto/NBD sets
// take the two branches of buysBeforeDeath (α < β and α > β).
var (
	npBG  = BGNBD{R: 0.24, Alpha: 31, A: 0.79, B: 2.43}
	npPN  = ParetoNBD{R: 0.55, Alpha: 74, S: 0.61, Beta: 82}
	npPN2 = ParetoNBD{R: 0.9, Alpha: 200, S: 1.3, Beta: 30}
)

// npHistories are (x, tₓ, T) in days: no repeat purchase, one, t_x close to
// T and far from it, and heavy buyers recent and silent.
var npHistories = [][3]float64{
	{0, 0, 30},
	{0, 0, 400},
	{1, 10, 300},
	{4, 190, 200},
	{4, 20, 500},
	{15, 360, 365},
	{15, 120, 365},
	{60, 725, 730},
	{60, 400, 730},
	{200, 729, 730},
}

// posteriorSampler draws one customer with the given history from the
// model's posterior: its log importance weight and the wait from T to its
// next purchase (+Inf if it never buys again).
type posteriorSampler func(rng *rand.Rand) (logW, wait float64)

// The samplers below use only the individual-level story and likelihood,
// not the closed forms under test. The posterior of the parameters given
// the history is a mixture of "alive at T" and "dropped out after the last
// purchase" (BG/NBD) or "died in (tₓ, T]" (Pareto/NBD); each draw comes from
// a proposal that is a half-half mixture of the alive component's exact
// posterior and a conjugate density covering the dead component, and
// carries the importance weight prior × likelihood / proposal. The weights
// are bounded, since each proposal part has the shape of its component and
// tails no lighter. Given the parameters, whether the customer is alive at
// T is drawn from its conditional probability, and the window is simulated
// from the story.

// bgnbdSampler: λ ~ Gamma(r, α), p ~ Beta(a, b); the history's likelihood is
// (1−p)^x λ^x e^(−λT) (alive) + [x>0] p (1−p)^(x−1) λ^x e^(−λtₓ) (dropped out
// after the x-th repeat purchase). Proposal parts: Gamma(r+x, α+T) ×
// Beta(a, b+x) and Gamma(r+x, α+tₓ) × Beta(a+1, b+x−1).
func bgnbdSampler(m BGNBD, x, tx, T float64) posteriorSampler {
	lamPrior, pPrior := newGammaDensity(m.R, m.Alpha), newBetaDensity(m.A, m.B)
	lamA, pA := newGammaDensity(m.R+x, m.Alpha+T), newBetaDensity(m.A, m.B+x)
	lamD, pD := newGammaDensity(m.R+x, m.Alpha+tx), newBetaDensity(m.A+1, m.B+x-1)
	mixD := 0.5
	if x == 0 {
		mixD = 0 // no purchase to drop out after
	}
	return func(rng *rand.Rand) (float64, float64) {
		var lam, p float64
		if rng.Float64() < mixD {
			lam, p = lamD.rand(rng), pD.rand(rng)
		} else {
			lam, p = lamA.rand(rng), pA.rand(rng)
		}
		logQ := math.Log(1-mixD) + lamA.log(lam) + pA.log(p)
		if mixD > 0 {
			logQ = logAddExp(logQ, math.Log(mixD)+lamD.log(lam)+pD.log(p))
		}
		alive := x*math.Log1p(-p) + x*math.Log(lam) - lam*T
		dead := math.Inf(-1)
		if x > 0 {
			dead = math.Log(p) + (x-1)*math.Log1p(-p) + x*math.Log(lam) - lam*tx
		}
		ll := logAddExp(alive, dead)
		logW := lamPrior.log(lam) + pPrior.log(p) + ll - logQ
		if rng.Float64() >= math.Exp(alive-ll) {
			return logW, math.Inf(1)
		}
		// Alive: the next purchase comes before any dropout.
		return logW, rng.ExpFloat64() / lam
	}
}

// paretoSampler: λ ~ Gamma(r, α), μ ~ Gamma(s, β); the history's likelihood
// is λ^x e^(−(λ+μ)T) (alive) + λ^x μ/(λ+μ) (e^(−(λ+μ)tₓ) − e^(−(λ+μ)T)) (died
// in (tₓ, T]). Proposal parts: Gamma(r+x, α+T) × Gamma(s, β+T) and
// Gamma(r+x, α+tₓ) × Gamma(s+1, β+tₓ).
func paretoSampler(m ParetoNBD, x, tx, T float64) posteriorSampler {
	lamPrior, muPrior := newGammaDensity(m.R, m.Alpha), newGammaDensity(m.S, m.Beta)
	lamA, muA := newGammaDensity(m.R+x, m.Alpha+T), newGammaDensity(m.S, m.Beta+T)
	lamD, muD := newGammaDensity(m.R+x, m.Alpha+tx), newGammaDensity(m.S+1, m.Beta+tx)
	return func(rng *rand.Rand) (float64, float64) {
		var lam, mu float64
		if rng.Float64() < 0.5 {
			lam, mu = lamD.rand(rng), muD.rand(rng)
		} else {
			lam, mu = lamA.rand(rng), muA.rand(rng)
		}
		logQ := math.Log(0.5) + logAddExp(lamA.log(lam)+muA.log(mu), lamD.log(lam)+muD.log(mu))
		alive := x*math.Log(lam) - (lam+mu)*T
		dead := math.Inf(-1)
		if T > tx {
			dead = x*math.Log(lam) + math.Log(mu) - math.Log(lam+mu) - (lam+mu)*tx + math.Log(-math.Expm1(-(lam+mu)*(T-tx)))
		}
		ll := logAddExp(alive, dead)
		logW := lamPrior.log(lam) + muPrior.log(mu) + ll - logQ
		if rng.Float64() >= math.Exp(alive-ll) {
			return logW, math.Inf(1)
		}
		// Alive: the next purchase counts only if it comes before death.
		life, next := rng.ExpFloat64()/mu, rng.ExpFloat64()/lam
		if next > life {
			return logW, math.Inf(1)
		}
		return logW, next
	}
}

// density is a Gamma or Beta distribution with its log-density's constant
// computed once: log(v) = c + (k−1) ln v + (j−1) ln(1−v) − rate·v.
type density struct {
	c, k, j, rate float64
	rand          func(rng *rand.Rand) float64
}

func (d density) log(v float64) float64 {
	l := d.c + (d.k-1)*math.Log(v) - d.rate*v
	if d.j != 1 {
		l += (d.j - 1) * math.Log1p(-v)
	}
	return l
}

func newGammaDensity(shape, rate float64) density {
	return density{c: shape*math.Log(rate) - lgamma(shape), k: shape, j: 1, rate: rate,
		rand: func(rng *rand.Rand) float64 { return distuv.Gamma{Alpha: shape, Beta: rate, Src: rng}.Rand() }}
}

func newBetaDensity(a, b float64) density {
	return density{c: lgamma(a+b) - lgamma(a) - lgamma(b), k: a, j: b,
		rand: func(rng *rand.Rand) float64 { return distuv.Beta{Alpha: a, Beta: b, Src: rng}.Rand() }}
}

// mcNoPurchase estimates P(wait > h) for every h from n weighted draws
// (self-normalised importance sampling) with its delta-method standard
// error, and the effective sample size.
func mcNoPurchase(sample posteriorSampler, n int, seed uint64, hs []float64) (est, se []float64, ess float64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	logW, wait := make([]float64, n), make([]float64, n)
	top := math.Inf(-1)
	for i := range n {
		logW[i], wait[i] = sample(rng)
		top = max(top, logW[i])
	}
	var sw, sw2 float64
	w := make([]float64, n)
	for i := range n {
		w[i] = math.Exp(logW[i] - top)
		sw += w[i]
		sw2 += w[i] * w[i]
	}
	for _, h := range hs {
		var s float64
		for i := range n {
			if wait[i] > h || math.IsInf(wait[i], 1) {
				s += w[i]
			}
		}
		e := s / sw
		var v float64
		for i := range n {
			y := 0.0
			if wait[i] > h || math.IsInf(wait[i], 1) {
				y = 1
			}
			v += w[i] * w[i] * (y - e) * (y - e)
		}
		est, se = append(est, e), append(se, math.Sqrt(v)/sw)
	}
	return est, se, sw * sw / sw2
}

type npModel struct {
	name    string
	m       PurchaseModel
	sampler func(x, tx, T float64) posteriorSampler
}

func npModels() []npModel {
	return []npModel{
		{"bgnbd", npBG, func(x, tx, T float64) posteriorSampler { return bgnbdSampler(npBG, x, tx, T) }},
		{"pareto_nbd", npPN, func(x, tx, T float64) posteriorSampler { return paretoSampler(npPN, x, tx, T) }},
		{"pareto_nbd(α>β)", npPN2, func(x, tx, T float64) posteriorSampler { return paretoSampler(npPN2, x, tx, T) }},
	}
}

// TestPNoPurchaseMonteCarlo compares the closed forms with posterior
// simulation at every grid point, windows of a week, a month, half a year,
// forever and the model's own NextOrderDays (where P₀ is 1/2), within 3
// standard errors (floored at one draw's worth, 1/n, where every draw
// agrees).
func TestPNoPurchaseMonteCarlo(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	seed := uint64(1)
	for _, md := range npModels() {
		for _, c := range npHistories {
			x, tx, T := c[0], c[1], c[2]
			hs := []float64{7, 30, 180, math.Inf(1)}
			if h, ok := md.m.NextOrderDays(x, tx, T); ok {
				hs = append(hs, h)
			}
			seed++
			est, se, ess := mcNoPurchase(md.sampler(x, tx, T), n, seed, hs)
			for k, h := range hs {
				want := md.m.PNoPurchase(h, x, tx, T)
				tol := 3 * max(se[k], 1/float64(n))
				t.Logf("%-16s x=%3g t_x=%3g T=%3g h=%-8.4g formula %.5f  MC %.5f  SE %.5f  ESS %.0f",
					md.name, x, tx, T, h, want, est[k], se[k], ess)
				if math.Abs(want-est[k]) > tol {
					t.Errorf("%s x=%g t_x=%g T=%g h=%g: formula %.6f, Monte Carlo %.6f ± %.6f (%.1f SE)",
						md.name, x, tx, T, h, want, est[k], se[k], (want-est[k])/se[k])
				}
			}
		}
	}
}

// TestPNoPurchaseLimits: 1 for an empty window, the probability of never
// buying again for an endless one, falling in between.
func TestPNoPurchaseLimits(t *testing.T) {
	hs := []float64{0}
	for h := 1e-9; h < 1e16; h *= 1.5 {
		hs = append(hs, h)
	}
	hs = append(hs, math.Inf(1))
	for _, md := range npModels() {
		for _, c := range append(npHistories, [3]float64{5000, 5000, 5000}, [3]float64{3000, 1000, 10_000}, [3]float64{0, 0, 0}, [3]float64{0, 0, 10_000}, [3]float64{1, 365, 365}) {
			x, tx, T := c[0], c[1], c[2]
			name := fmt.Sprintf("%s x=%g t_x=%g T=%g", md.name, x, tx, T)
			pa := md.m.PAlive(x, tx, T)
			never := 1 - pa
			if pn, ok := md.m.(ParetoNBD); ok {
				never = 1 - pa*pn.window(x, T).g0
				// The chance of buying before death, against its integral.
				if g, q := pn.window(x, T).g0, quadBuys(pn, x, T, math.Inf(1)); math.Abs(g-q) > 1e-10 {
					t.Errorf("%s: G = %.15g, quadrature %.15g", name, g, q)
				}
			}
			if !(never >= 0 && never <= 1) {
				t.Errorf("%s: P(never again) %v", name, never)
			}
			if p := md.m.PNoPurchase(0, x, tx, T); p != 1 {
				t.Errorf("%s: P₀(0) = %v, want 1", name, p)
			}
			if p := md.m.PNoPurchase(1e-9, x, tx, T); math.Abs(p-1) > 1e-6 {
				t.Errorf("%s: P₀(1e-9) = %v, want about 1", name, p)
			}
			if p := md.m.PNoPurchase(math.Inf(1), x, tx, T); math.Abs(p-never) > 1e-15 {
				t.Errorf("%s: P₀(∞) = %v, want %v", name, p, never)
			}
			if p := md.m.PNoPurchase(1e300, x, tx, T); math.Abs(p-never) > 1e-9 {
				t.Errorf("%s: P₀(1e300) = %v, want %v", name, p, never)
			}
			prev := 1.0
			for _, h := range hs {
				p := md.m.PNoPurchase(h, x, tx, T)
				if !(p >= 0 && p <= 1) || p > prev+1e-15 || p < never-1e-15 {
					t.Errorf("%s: P₀(%g) = %v after %v (never %v)", name, h, p, prev, never)
				}
				prev = p
			}
		}
	}
}

// TestPNoPurchaseAgainstReferences checks Pareto/NBD against two
// independent computations: the n = 0 case of Fader & Hardie's conditional
// PMF (note 028, eq. 16, as the lifetimes package implements it) and
// numerical integration of the wait's density; and BG/NBD against Fader &
// Hardie's step-by-step derivation (note 039, eq. 34, as pymc-marketing
// implements it).
func TestPNoPurchaseAgainstReferences(t *testing.T) {
	hs := []float64{0.5, 7, 30, 180, 3650, math.Inf(1)}
	histories := append(npHistories, [3]float64{5000, 5000, 5000}, [3]float64{3000, 1000, 10_000})
	// The references take differences of logs of size (r+x)·ln(α+T), so
	// they are good to a few ulps of that, 4e-11 for 5000 purchases.
	refTol := func(x, T float64) float64 { return 1e-12 + 1e-15*(x+1)*math.Log(T+100) }
	for _, pn := range []ParetoNBD{npPN, npPN2, {R: 0.2, Alpha: 2, S: 0.3, Beta: 400}} {
		for _, c := range histories {
			x, tx, T := c[0], c[1], c[2]
			pa := pn.PAlive(x, tx, T)
			for _, h := range hs {
				got := pn.PNoPurchase(h, x, tx, T)
				if ref := fhConditionalP0(pn, h, x, tx, T); math.Abs(got-ref) > refTol(x, T) {
					t.Errorf("%+v x=%g t_x=%g T=%g h=%g: %.15f, Fader-Hardie %.15f", pn, x, tx, T, h, got, ref)
				}
				if ref := 1 - pa*quadBuys(pn, x, T, h); math.Abs(got-ref) > 1e-10 {
					t.Errorf("%+v x=%g t_x=%g T=%g h=%g: %.15f, quadrature %.15f", pn, x, tx, T, h, got, ref)
				}
			}
		}
	}
	for _, c := range histories {
		x, tx, T := c[0], c[1], c[2]
		if x == 0 {
			continue // eq. 34 counts a dropout at the first purchase, which BG/NBD has not
		}
		for _, h := range hs {
			got := npBG.PNoPurchase(h, x, tx, T)
			if ref := fhBGNBDP0(npBG, h, x, tx, T); math.Abs(got-ref) > refTol(x, T) {
				t.Errorf("bgnbd x=%g t_x=%g T=%g h=%g: %.15f, Fader-Hardie %.15f", x, tx, T, h, got, ref)
			}
		}
	}
}

// fhConditionalP0 is P(X(T, T+t) = 0 | x, tₓ, T) by eq. 16 of Fader &
// Hardie's note on the Pareto/NBD conditional PMF:
// 1 − P(alive) + (B₁ + B₂ − B₃(0)) / L, with P(alive) = B₁(t=0) / L.
func fhConditionalP0(m ParetoNBD, t, x, tx, T float64) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	lo, hi, p := alpha, beta, r+x
	if alpha >= beta {
		lo, hi, p = beta, alpha, s+1
	}
	rsx := r + s + x
	logL := m.logLikelihood(x, tx, T)
	base := r*math.Log(alpha) + s*math.Log(beta) - lgamma(r)
	logB1 := func(t float64) float64 {
		return base + lgamma(r+x) - (r+x)*math.Log(alpha+T+t) - s*math.Log(beta+T+t)
	}
	logB23 := func(at float64) float64 {
		if math.IsInf(at, 1) {
			return math.Inf(-1)
		}
		return base + lgamma(rsx) + lgamma(r+x) + lgamma(s+1) - lgamma(rsx+1) - lgamma(s) +
			logHyp2F1(rsx, p, rsx+1, (hi-lo)/(hi+at)) - rsx*math.Log(hi+at)
	}
	return 1 - math.Exp(logB1(0)-logL) + math.Exp(logB1(t)-logL) + math.Exp(logB23(T)-logL) - math.Exp(logB23(T+t)-logL)
}

// fhBGNBDP0 is P(X(T, T+t) = 0 | x, tₓ, T) for x > 0 by eq. 34 of Fader &
// Hardie's step-by-step BG/NBD derivation:
// [B(a+1, b+x−1)/(α+tₓ)^(r+x) + B(a, b+x)/(α+T+t)^(r+x)] /
// [B(a+1, b+x−1)/(α+tₓ)^(r+x) + B(a, b+x)/(α+T)^(r+x)].
func fhBGNBDP0(m BGNBD, t, x, tx, T float64) float64 {
	lbeta := func(a, b float64) float64 { return lgamma(a) + lgamma(b) - lgamma(a+b) }
	kE := lbeta(m.A+1, m.B+x-1) - (m.R+x)*math.Log(m.Alpha+tx)
	kF := lbeta(m.A, m.B+x) - (m.R+x)*math.Log(m.Alpha+T+t)
	kM := lbeta(m.A, m.B+x) - (m.R+x)*math.Log(m.Alpha+T)
	return math.Exp(logAddExp(kE, kF) - logAddExp(kE, kM))
}

// quadBuys integrates the density of the wait for the next purchase of a
// customer alive at T, E[λe^(−λt)]·E[e^(−μt)], over (0, h]. With
// v = (α'/(α'+t))^r' it is ∫ (β'/(β'+t(v)))^s dv over [v(h), 1], summed in
// dyadic panels towards 0 (the rest is below 2⁻⁶⁴), each with a 20-point
// Gauss-Legendre rule.
func quadBuys(m ParetoNBD, x, T, h float64) float64 {
	rx, a, s, b := m.R+x, m.Alpha+T, m.S, m.Beta+T
	vh := math.Exp(-rx * math.Log1p(h/a))
	g := func(v float64) float64 {
		t := a * math.Expm1(-math.Log(v)/rx)
		return math.Exp(-s * math.Log1p(t/b))
	}
	var sum float64
	for top := 1.0; top > vh && top > 0x1p-64; top /= 2 {
		sum += quad.Fixed(g, max(vh, top/2), top, 20, quad.Legendre{}, 0)
	}
	return sum
}
