package btyd

import (
	"math"
	"runtime"
)

// PurchaseModel is a fitted BG/NBD, MBG/NBD or Pareto/NBD model.
type PurchaseModel interface {
	PAlive(x, tx, T float64) float64
	ExpectedPurchases(t, x, tx, T float64) float64
	ExpectedIfAlive(t, x, T float64) float64
	PNoPurchase(h, x, tx, T float64) float64
	NextOrderDays(x, tx, T float64) (float64, bool)
}

// PredictOptions set the horizons, in the fit's time unit.
type PredictOptions struct {
	// Horizon is the window of ExpectedPurchases and PNoPurchase, e.g. 90
	// days.
	Horizon float64
	// MonthLength is one month in the time unit (30 for days, as the
	// lifetimes package counts), Months the CLV horizon and DiscountRate
	// the monthly discount rate.
	MonthLength  float64
	Months       int
	DiscountRate float64
}

// Predictions are per-customer outputs, in the caller's row order.
// NextOrderDays is +Inf where the model gives no better than even odds of
// another purchase (NextOrderDays' false).
type Predictions struct {
	PAlive, ExpectedPurchases, ExpectedAvgValue, CLV []float64
	PNoPurchase, NextOrderDays                       []float64
}

// Predict fills p for every customer of c (not compressed): P(alive),
// expected purchases over the horizon, the Gamma-Gamma expected mean spend
// (from monetary, the repeat purchases' mean spend; 0 or NaN when none),
// the discounted CLV, Σₘ (E[N(m·L)] − E[N((m−1)·L)]) · value / (1+d)^m,
// the probability of no purchase over the horizon and the even-odds time
// to the next purchase. The purchase-model work is done once per distinct
// (x, T) or (x, tₓ, T) and spread over the CPUs; it is the expensive part.
func Predict(pm PurchaseModel, gg GammaGamma, c Customers, monetary []float64, o PredictOptions) Predictions {
	return predict(pm, gg, c, monetary, o, true)
}

// PredictValue is Predict reduced to P(alive) and CLV, the values change
// tracking compares with an earlier night's: the other columns are left
// nil. Both are the same bits Predict gives; skipping the no-purchase
// probability and the next-order time (a root search per history for
// Pareto/NBD) and the horizon's expected purchases makes it the cheaper
// part of an earlier night's work.
func PredictValue(pm PurchaseModel, gg GammaGamma, c Customers, monetary []float64, o PredictOptions) Predictions {
	return predict(pm, gg, c, monetary, o, false)
}

func predict(pm PurchaseModel, gg GammaGamma, c Customers, monetary []float64, o PredictOptions, all bool) Predictions {
	// Everything but the spend depends on the history (x, tₓ, T) alone,
	// and a nightly run in days has far fewer distinct histories than
	// customers; what a customer buys if alive depends on (x, T) only,
	// fewer still, and it is the costly part (₂F₁). The pairs are found
	// among the histories, so only one pass hashes every customer.
	h, hrows := compress(c)
	return predictCompressed(pm, gg, c, monetary, o, all, h, hrows)
}

// predictCompressed is predict on c compressed to h (hrows: each
// customer's row in h).
func predictCompressed(pm PurchaseModel, gg GammaGamma, c Customers, monetary []float64, o PredictOptions, all bool, h Customers, hrows []int32) Predictions {
	p, _ := predictHistories(pm, gg, c, monetary, o, all, h, hrows)
	return p
}

// historyPoint holds the values Predict gives every customer of a row of
// the compressed histories, and the discounted purchases the CLV scales:
// the pass in customer order reads one row's values together, one cache
// line, where a column each missed the cache once per column; and the
// intervals, which visit the histories in an order of their own, read
// them without looking each up through one of its customers.
type historyPoint []historyValues

type historyValues struct{ alive, expected, disc, none, next float64 }

// predictHistories is predictCompressed that also returns its values per
// history (P(alive) and the discounted purchases only, without all).
func predictHistories(pm PurchaseModel, gg GammaGamma, c Customers, monetary []float64, o PredictOptions, all bool, h Customers, hrows []int32) (Predictions, historyPoint) {
	n := c.Len()
	col := func() []float64 { return make([]float64, n) }
	p := Predictions{PAlive: col(), CLV: col()}
	if all {
		p.ExpectedPurchases, p.ExpectedAvgValue, p.PNoPurchase, p.NextOrderDays = col(), col(), col(), col()
	}
	u, urows := compress(Customers{Frequency: h.Frequency, Recency: h.T, T: h.T})
	ifAlive, disc := make([]float64, u.Len()), make([]float64, u.Len())
	parallel(u.Len(), func(j int) {
		x, T := u.Frequency[j], u.T[j]
		if all {
			ifAlive[j] = pm.ExpectedIfAlive(o.Horizon, x, T)
		}
		var prev, d float64
		for m := 1; m <= o.Months; m++ {
			e := pm.ExpectedIfAlive(float64(m)*o.MonthLength, x, T)
			d += (e - prev) / math.Pow(1+o.DiscountRate, float64(m))
			prev = e
		}
		disc[j] = d
	})
	// The Pareto/NBD next-order time takes a root search per history.
	alive := make([]float64, h.Len())
	var none, next []float64
	if all {
		none, next = make([]float64, h.Len()), make([]float64, h.Len())
	}
	if hm, ok := pm.(historyModel); ok {
		hm.histories(h, u, urows, o.Horizon, alive, none, next)
	} else {
		parallel(h.Len(), func(j int) {
			x, tx, T := h.Frequency[j], h.Recency[j], h.T[j]
			alive[j] = pm.PAlive(x, tx, T)
			if !all {
				return
			}
			none[j] = pm.PNoPurchase(o.Horizon, x, tx, T)
			if d, ok := pm.NextOrderDays(x, tx, T); ok {
				next[j] = d
			} else {
				next[j] = math.Inf(1)
			}
		})
	}
	hp := make(historyPoint, h.Len())
	parallel(h.Len(), func(k int) {
		j := urows[k]
		hv := historyValues{alive: alive[k], disc: disc[j]}
		if all {
			hv.expected, hv.none, hv.next = alive[k]*ifAlive[j], none[k], next[k]
		}
		hp[k] = hv
	})
	parallel(n, func(i int) {
		hv := &hp[hrows[i]]
		v := gg.ExpectedAverageValue(c.Frequency[i], monetary[i])
		p.PAlive[i], p.CLV[i] = hv.alive, hv.alive*hv.disc*v
		if all {
			p.ExpectedPurchases[i], p.ExpectedAvgValue[i] = hv.expected, v
			p.PNoPurchase[i], p.NextOrderDays[i] = hv.none, hv.next
		}
	})
	return p, hp
}

// historyModel is a purchase model that computes the per-history values of
// Predict faster than one call per history, bit for bit the same.
type historyModel interface {
	// histories sets, for every row j of the distinct histories h, alive[j]
	// = PAlive, none[j] = PNoPurchase(horizon) and next[j] = NextOrderDays
	// (+Inf when it reports false); u are h's distinct (x, T) and urows
	// each history's row in u. Nil none and next ask for alive alone.
	histories(h, u Customers, urows []int32, horizon float64, alive, none, next []float64)
}

// histories shares what histories have in common: a ₂F₁ term of P(alive)
// per distinct (x, tₓ) and (x, T), the posterior window per distinct (x, T).
func (m ParetoNBD) histories(h, u Customers, urows []int32, horizon float64, alive, none, next []float64) {
	d := newParetoData(h)
	terms := make([]float64, len(d.px))
	parallel(len(terms), func(p int) { terms[p] = m.a0Term(d.px[p], d.pt[p]) })
	if none == nil {
		parallel(h.Len(), func(j int) {
			alive[j] = m.pAliveA0(h.Frequency[j], h.T[j], a0FromTerms(terms[d.rowTx[j]], terms[d.rowT[j]]))
		})
		return
	}
	windows := make([]paretoWindow, u.Len())
	parallel(u.Len(), func(j int) { windows[j] = m.window(u.Frequency[j], u.T[j]) })
	parallel(h.Len(), func(j int) {
		w := windows[urows[j]]
		pa := m.pAliveA0(h.Frequency[j], h.T[j], a0FromTerms(terms[d.rowTx[j]], terms[d.rowT[j]]))
		alive[j], none[j] = pa, w.noPurchase(pa, horizon)
		if v, ok := w.nextOrder(pa); ok {
			next[j] = v
		} else {
			next[j] = math.Inf(1)
		}
	})
}

// Expected is the expected number of purchases of every customer over the
// next horizon time units, the model's costly part done once per distinct (x, T).
//
// P(alive) is computed once per distinct history, through the model's
// shared terms where it has them (Pareto/NBD's ₂F₁ per distinct (x, t),
// BG/NBD's and MBG/NBD's logarithms per distinct x, T and tₓ), the same
// value per customer as a call of PAlive each.
func Expected(pm PurchaseModel, c Customers, horizon float64) []float64 {
	h, hrows := compress(c)
	return expectedCompressed(pm, c, horizon, h, hrows)
}

// expectedCompressed is Expected on c compressed to h (hrows: each
// customer's row in h).
func expectedCompressed(pm PurchaseModel, c Customers, horizon float64, h Customers, hrows []int32) []float64 {
	u, urows := compress(Customers{Frequency: h.Frequency, Recency: h.T, T: h.T})
	ifAlive := make([]float64, u.Len())
	parallel(u.Len(), func(j int) { ifAlive[j] = pm.ExpectedIfAlive(horizon, u.Frequency[j], u.T[j]) })
	alive := make([]float64, h.Len())
	if hm, ok := pm.(historyModel); ok {
		hm.histories(h, u, urows, horizon, alive, nil, nil)
	} else {
		parallel(h.Len(), func(j int) { alive[j] = pm.PAlive(h.Frequency[j], h.Recency[j], h.T[j]) })
	}
	out := make([]float64, c.Len())
	parallel(c.Len(), func(i int) {
		k := hrows[i]
		out[i] = alive[k] * ifAlive[urows[k]]
	})
	return out
}

// parallel runs f over 0..n−1 in contiguous chunks, one per CPU.
func parallel(n int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	chunk := (n + workers - 1) / workers
	var g group
	for start := 0; start < n; start += chunk {
		lo, hi := start, min(start+chunk, n)
		g.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	g.Wait()
}

// serialSumRows is the size below which sumChunks calls f once, on its
// caller's goroutine.
const serialSumRows = 5_000

// sumChunks adds up f over 0..n−1 in a fixed number of chunks run in
// parallel and summed in order, so a fit gives the same bits on any number
// of CPUs.
func sumChunks(n int, f func(lo, hi int) [5]float64) [5]float64 {
	const chunks = 8
	if n < serialSumRows {
		return f(0, n)
	}
	parts := make([][5]float64, chunks)
	chunk := (n + chunks - 1) / chunks
	var g group
	for w := 0; w < chunks; w++ {
		g.Go(func() { parts[w] = f(min(w*chunk, n), min((w+1)*chunk, n)) })
	}
	g.Wait()
	var total [5]float64
	for _, p := range parts {
		for k := range total {
			total[k] += p[k]
		}
	}
	return total
}

// histories shares what BG/NBD histories have in common: the logarithms
// of the dropout odds per distinct x, T and tₓ, P(alive) once per history
// for all three values, and the no-purchase factor per distinct (x, T).
func (m BGNBD) histories(h, u Customers, urows []int32, horizon float64, alive, none, next []float64) {
	rAlphaABHistories(m.R, m.Alpha, m.A, m.B, true, h, u, urows, horizon, alive, none, next)
}

// histories is BG/NBD's, with MBG/NBD's odds.
func (m MBGNBD) histories(h, u Customers, urows []int32, horizon float64, alive, none, next []float64) {
	rAlphaABHistories(m.R, m.Alpha, m.A, m.B, false, h, u, urows, horizon, alive, none, next)
}

// rAlphaABHistories is the histories of a model whose dropout log-odds are
// ln a − ln(b+x−1) + (r+x)·(ln(α+T) − ln(α+tₓ)) with no dropout without
// repeat purchases (bgnbd), or ln a − ln(b+x) + … (MBG/NBD), and whose no-purchase probability and next-order time
// are gammaPoissonNoPurchase's and gammaPoissonNextOrder's. Each logarithm
// is the one logDropoutOdds takes, of the same argument, combined by the
// same operations, so the bits are PAlive's, PNoPurchase's and
// NextOrderDays'.
func rAlphaABHistories(r, alpha, a, b float64, bgnbd bool, h, u Customers, urows []int32, horizon float64, alive, none, next []float64) {
	xs, ts, txs := newTable(h.Frequency), newTable(h.T), newTable(h.Recency)
	lnA := math.Log(a)
	lnB := xs.apply(nil, func(x float64) float64 {
		if bgnbd {
			return math.Log(b + x - 1)
		}
		return math.Log(b + x)
	})
	lnT := ts.apply(nil, func(T float64) float64 { return math.Log(alpha + T) })
	lnTx := txs.apply(nil, func(tx float64) float64 { return math.Log(alpha + tx) })
	pAlive := func(j int) float64 {
		x := h.Frequency[j]
		if bgnbd && x == 0 {
			return 1
		}
		return sigmoid(-(lnA - lnB[xs.index[j]] + (r+x)*(lnT[ts.index[j]]-lnTx[txs.index[j]])))
	}
	if none == nil {
		parallel(h.Len(), func(j int) { alive[j] = pAlive(j) })
		return
	}
	// gammaPoissonNoPurchase is 1 − P(alive)·q with q a function of (x, T).
	q := make([]float64, u.Len())
	if horizon > 0 {
		parallel(u.Len(), func(k int) {
			q[k] = -math.Expm1(-(r + u.Frequency[k]) * math.Log1p(horizon/(alpha+u.T[k])))
		})
	}
	parallel(h.Len(), func(j int) {
		pa := pAlive(j)
		alive[j] = pa
		if horizon <= 0 {
			none[j] = 1
		} else {
			none[j] = 1 - pa*q[urows[j]]
		}
		if v, ok := gammaPoissonNextOrder(pa, r+h.Frequency[j], alpha+h.T[j]); ok {
			next[j] = v
		} else {
			next[j] = math.Inf(1)
		}
	})
}
