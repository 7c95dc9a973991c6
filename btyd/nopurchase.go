package btyd

import "math"

// The probability of no purchase in the window (T, T+h] after the
// observation, conditional on the history (x, tₓ, T).
//
// BG/NBD. A customer drops out only right after a purchase, so one alive at
// T buys again, at rate λ, before anything else can happen: no purchase
// comes in the window with probability e^(−λh), and a customer who has
// dropped out buys nothing. Given the history and alive at T, the
// likelihood is (1−p)^x λ^x e^(−λT), so λ | alive ~ Gamma(r+x, α+T) and
// E[e^(−λh) | alive] = ((α+T)/(α+T+h))^(r+x):
//
//	P₀(h) = 1 − P(alive) · (1 − ((α+T)/(α+T+h))^(r+x)),
//
// which falls to 1 − P(alive) as h → ∞.
//
// Pareto/NBD. Given the history and alive at T, the likelihood is
// λ^x e^(−(λ+μ)T), so λ ~ Gamma(r', α') and μ ~ Gamma(s, β') independently,
// with r' = r+x, α' = α+T, β' = β+T. The remaining lifetime is Exp(μ) and
// the wait for the next purchase Exp(λ); a purchase falls in the window when
// the wait ends before both the window and the lifetime, so
//
//	P(purchase | λ, μ, alive) = ∫₀ʰ λ e^(−(λ+μ)t) dt = λ/(λ+μ) · (1 − e^(−(λ+μ)h)),
//
// and P(no purchase | λ, μ, alive) = e^(−(λ+μ)h) + μ/(λ+μ)(1 − e^(−(λ+μ)h)):
// the whole window alive without a purchase, or death before any purchase
// in it. Averaged over the posterior, with G(A, B) = E[λ/(λ+μ)] for
// λ ~ Gamma(r', A), μ ~ Gamma(s, B), and the factor e^(−(λ+μ)h) taken into
// the Gamma densities (it turns Gamma(r', α') into (α'/(α'+h))^r' times
// Gamma(r', α'+h), likewise for μ):
//
//	Q(h) = E[λ/(λ+μ) (1 − e^(−(λ+μ)h))]
//	     = G(α', β') − (α'/(α'+h))^r' (β'/(β'+h))^s G(α'+h, β'+h),
//	P₀(h) = 1 − P(alive) · Q(h),
//
// which falls to 1 − P(alive)·G(α', β') as h → ∞: a customer alive at T
// still dies before buying again with probability 1 − G. Writing λ = X/A,
// μ = Y/B with X ~ Gamma(r', 1), Y ~ Gamma(s, 1), U = X/(X+Y) is
// Beta(r', s) and λ/(λ+μ) = U/(U + (A/B)(1−U)); Euler's integral for ₂F₁
// then gives
//
//	G = r'/(r'+s) · (B/A) · ₂F₁(1, r'+1; r'+s+1; (A−B)/A)        (A ≥ B),
//	1 − G = s/(r'+s) · (A/B) · ₂F₁(1, s+1; r'+s+1; (B−A)/B)      (A < B, the same with the roles swapped),
//
// each with its argument in [0, 1), the argument of logA0. The derivative
// in h is −P(alive) · r'/α' · (α'/(α'+h))^(r'+1) (β'/(β'+h))^s, so P₀ falls
// strictly from 1. This is the n = 0 case of Fader & Hardie's conditional
// PMF of the Pareto/NBD (note 028, eq. 16), 1 − P(alive) + (B₁ + B₂ − B₃)/L:
// B₁/L is P(alive)·(α'/(α'+h))^r' (β'/(β'+h))^s, alive through the window
// without a purchase, and (B₂ − B₃)/L is P(alive) times death in the window
// before a purchase; their ₂F₁(r+s+x, ·; r+s+x+1; z) is a power of (1−z)
// times the one above (Euler's transformation).

// PNoPurchase is the probability that a customer with history (x, tₓ, T)
// makes no purchase in the next h time units, (T, T+h]; 1 for h ≤ 0, and
// for h = +Inf the probability of never buying again, 1 − P(alive).
func (m BGNBD) PNoPurchase(h, x, tx, T float64) float64 {
	return gammaPoissonNoPurchase(m.PAlive(x, tx, T), m.R+x, m.Alpha+T, h)
}

// gammaPoissonNoPurchase is P₀(h) of a customer alive at T with probability
// pAlive who, if alive, buys at a rate ~ Gamma(rx, aT) and cannot drop out
// before the next purchase (BG/NBD and its variants).
func gammaPoissonNoPurchase(pAlive, rx, aT, h float64) float64 {
	if h <= 0 {
		return 1
	}
	return 1 - pAlive*-math.Expm1(-rx*math.Log1p(h/aT))
}

// PNoPurchase is the probability that a customer with history (x, tₓ, T)
// makes no purchase in the next h time units, (T, T+h], dying in it before
// a purchase included; 1 for h ≤ 0, and for h = +Inf the probability of
// never buying again.
func (m ParetoNBD) PNoPurchase(h, x, tx, T float64) float64 {
	return m.window(x, T).noPurchase(m.PAlive(x, tx, T), h)
}

// paretoWindow is the posterior of a customer alive at T: λ ~ Gamma(rx, a),
// μ ~ Gamma(s, b), and g0 = G(a, b), the chance of a purchase before death.
type paretoWindow struct{ rx, a, s, b, g0 float64 }

func (m ParetoNBD) window(x, T float64) paretoWindow {
	w := paretoWindow{rx: m.R + x, a: m.Alpha + T, s: m.S, b: m.Beta + T}
	w.g0 = buysBeforeDeath(w.rx, w.s, w.a, w.b)
	return w
}

// buysBeforeDeath is G(A, B) = E[λ/(λ+μ)] for independent λ ~ Gamma(r, A)
// and μ ~ Gamma(s, B).
func buysBeforeDeath(r, s, A, B float64) float64 {
	if A >= B {
		return r / (r + s) * (B / A) * math.Exp(logHyp2F1(1, r+1, r+s+1, (A-B)/A))
	}
	return 1 - s/(r+s)*(A/B)*math.Exp(logHyp2F1(1, s+1, r+s+1, (B-A)/B))
}

// buys is Q(h), the probability of a purchase in the window of a customer
// alive at T.
func (w paretoWindow) buys(h float64) float64 {
	switch {
	case h <= 0:
		return 0
	case math.IsInf(h, 1):
		return w.g0
	}
	k := math.Exp(-w.rx*math.Log1p(h/w.a) - w.s*math.Log1p(h/w.b))
	return max(0, w.g0-k*buysBeforeDeath(w.rx, w.s, w.a+h, w.b+h))
}

// density is dQ/dh, the density of the wait for the next purchase of a
// customer alive at T.
func (w paretoWindow) density(h float64) float64 {
	return w.rx / w.a * math.Exp(-(w.rx+1)*math.Log1p(h/w.a)-w.s*math.Log1p(h/w.b))
}

func (w paretoWindow) noPurchase(pAlive, h float64) float64 {
	if h <= 0 {
		return 1
	}
	return min(1, 1-pAlive*w.buys(h))
}

// PNoPurchase is the probability that a customer with history (x, tₓ, T)
// makes no purchase in the next h time units. An MBG/NBD customer, like a
// BG/NBD one, can drop out only right after a purchase, so one alive at T
// buys again before anything else happens: only P(alive) differs.
func (m MBGNBD) PNoPurchase(h, x, tx, T float64) float64 {
	return gammaPoissonNoPurchase(m.PAlive(x, tx, T), m.R+x, m.Alpha+T, h)
}
