package btyd

import "math"

// NextOrderDays is the time from T, in the fit's unit (days in the nightly
// job), by which a customer with history (x, tₓ, T) has even odds of having
// bought again: the h with PNoPurchase(h) = 1/2. It is false, with +Inf,
// when the model gives no better than even odds of ever buying again
// (P(alive) ≤ 1/2).
//
// BG/NBD solves in closed form: with c = 1 − 1/(2·P(alive)),
// ((α+T)/(α+T+h))^(r+x) = c, so h = (α+T) · (c^(−1/(r+x)) − 1).
func (m BGNBD) NextOrderDays(x, tx, T float64) (float64, bool) {
	return gammaPoissonNextOrder(m.PAlive(x, tx, T), m.R+x, m.Alpha+T)
}

// gammaPoissonNextOrder solves gammaPoissonNoPurchase(pAlive, rx, aT, h) = 1/2.
func gammaPoissonNextOrder(pAlive, rx, aT float64) (float64, bool) {
	if !(1-pAlive < 0.5) {
		return math.Inf(1), false
	}
	// 2p−1 is exact for p in (1/2, 1], so c is as precise as p.
	c := (2*pAlive - 1) / (2 * pAlive)
	return aT * math.Expm1(-math.Log(c)/rx), true
}

// NextOrderDays is the time from T, in the fit's unit (days in the nightly
// job), by which a customer with history (x, tₓ, T) has even odds of having
// bought again: the h with PNoPurchase(h) = 1/2. It is false, with +Inf,
// when the model gives no better than even odds of ever buying again
// (PNoPurchase(+Inf) ≥ 1/2).
//
// Pareto/NBD has no closed form; PNoPurchase falls strictly, with a
// closed-form derivative, so Newton's method finds the root, on ln h and
// kept inside the bracket the evaluations establish. It starts from the
// root without dropout (the BG/NBD form above), which comes no later: death
// only removes purchases.
func (m ParetoNBD) NextOrderDays(x, tx, T float64) (float64, bool) {
	return m.window(x, T).nextOrder(m.PAlive(x, tx, T))
}

// nextOrder is NextOrderDays of a customer alive with probability pa.
func (w paretoWindow) nextOrder(pa float64) (float64, bool) {
	if !(w.noPurchase(pa, math.Inf(1)) < 0.5) {
		return math.Inf(1), false
	}
	h0, _ := gammaPoissonNextOrder(pa, w.rx, w.a)
	return solveDecreasing(func(h float64) (float64, float64) {
		return w.noPurchase(pa, h) - 0.5, -pa * w.density(h)
	}, h0), true
}

// solveDecreasing finds the h > 0 where f, falling from above 0 at h → 0
// to below 0 at h → ∞, crosses 0, given f and its derivative and a first
// guess h0. It runs Newton's method on u = ln h, so that a root far out in
// the models' power-law tails is approached in steps of similar size in
// ln h rather than in h, and falls back to bisecting the bracket (or to
// stepping out of an open one) when a step leaves it.
func solveDecreasing(f func(h float64) (v, dv float64), h0 float64) float64 {
	if !(h0 > 0) || math.IsInf(h0, 1) {
		h0 = 1
	}
	lo, hi := math.Inf(-1), math.Inf(1) // ln h with f > 0, with f < 0
	u := math.Log(h0)
	for range 200 {
		h := math.Exp(u)
		v, dv := f(h)
		switch {
		case v > 0:
			lo = u
		case v < 0:
			hi = u
		default:
			return h
		}
		next := u - v/(dv*h)
		if next > lo && next < hi {
			// Newton converges quadratically: after a step of 1e-7 the
			// error left is of order 1e-14.
			if math.Abs(next-u) < 1e-7 {
				return math.Exp(next)
			}
		} else {
			switch {
			case math.IsInf(hi, 1):
				next = lo + 2
			case math.IsInf(lo, -1):
				next = hi - 2
			default:
				next = lo + (hi-lo)/2
			}
		}
		if hi-lo < 1e-13 {
			return math.Exp(next)
		}
		u = next
	}
	return math.Exp(u)
}

// NextOrderDays is the time from T by which an MBG/NBD customer has even
// odds of having ordered again; false when the odds of ever ordering again
// are below even.
func (m MBGNBD) NextOrderDays(x, tx, T float64) (float64, bool) {
	return gammaPoissonNextOrder(m.PAlive(x, tx, T), m.R+x, m.Alpha+T)
}
