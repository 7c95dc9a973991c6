package btyd

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// IntervalOptions set how prediction intervals are drawn; zero fields take
// the defaults.
type IntervalOptions struct {
	// Level is the two-sided level of the intervals, 0.8 by default.
	Level float64
	// Draws is the number of parameter draws, 200 by default.
	Draws int
	// Seed makes the draws, and so the intervals, reproducible.
	Seed uint64
	// Method is how the parameters' uncertainty is carried to the
	// customers; IntervalAuto by default.
	Method IntervalMethod
}

// IntervalMethod is how PredictIntervals propagates the parameters'
// uncertainty to every customer's values.
type IntervalMethod string

const (
	// IntervalAuto is IntervalLinear when every log-parameter's standard
	// error, purchase and spend model alike, is at most LinearMaxLogSE,
	// and IntervalDraws otherwise.
	IntervalAuto IntervalMethod = "auto"
	// IntervalDraws draws the parameters and takes each customer's
	// quantiles over the draws.
	IntervalDraws IntervalMethod = "draws"
	// IntervalLinear is the delta method on the logit scale (P(alive)) or
	// the log scale (purchases, CLV): value ± z·sd, the standard deviation
	// from central differences one standard deviation either side of the
	// estimate along each axis of the covariance's Cholesky factor.
	IntervalLinear IntervalMethod = "linear"
)

// LinearMaxLogSE is the largest log-parameter standard error at which
// IntervalAuto linearises. Near the estimate a smooth prediction departs
// from its tangent by about se times its relative curvature, while the
// 10% and 90% quantiles of 200 draws are off by several percent of the
// interval's width from sampling alone: against 20,000 draws, the linear
// bounds were nearer than 200 draws' by 2–20× in median and 95th
// percentile, at standard errors of up to 0.06 and on a 3,000-customer
// shop at up to 0.2 as well (TestLinearIntervalsCloserThanDraws holds the
// first). The draws stay where they are for the small shops whose errors
// exceed this, where curvature is least known; the linear form costs 2
// evaluations per parameter instead of 200. Errors this small come from
// some 50,000 customers up.
const LinearMaxLogSE = 0.05

// Interval holds per-customer bounds, in the caller's row order.
type Interval struct{ Low, High []float64 }

// PredictionIntervals bound Predict's per-customer values by the
// uncertainty of the fitted parameters.
type PredictionIntervals struct {
	Level float64
	// Draws is the number of parameter draws, 0 when Method is linear.
	Draws int
	// Method is the method used, draws or linear, never auto.
	Method IntervalMethod
	// PAlive, ExpectedPurchases (over the horizon) and CLV as Predict
	// computes them.
	PAlive, ExpectedPurchases, CLV Interval
}

// maxRedraws bounds the draws thrown away for invalid parameters, as a
// multiple of the draws asked for.
const maxRedraws = 10

// PredictIntervals computes, for every customer of c (not compressed),
// intervals around P(alive), the expected purchases over o.Horizon and the
// discounted CLV of Predict(pm, gg, c, monetary, o).
//
// The log-parameters of the purchase model are drawn opts.Draws times from
// N(ln θ̂, pu.Cov) — the large-sample distribution of the estimate — and
// those of the spend model from N(ln θ̂, gu.Cov) independently (they are
// separate fits); a zero gu holds the spend model at gg. A draw outside a
// model's domain (WithParams fails, or Gamma-Gamma q <= 1) is replaced by
// the next one from the same seeded stream, so the draws are deterministic.
// Each customer's values under the draws are computed into a small buffer
// and reduced to the (1−level)/2 and (1+level)/2 quantiles (linear between
// order statistics); draws × customers is never stored.
//
// The interval is widened where needed to hold the point prediction (Low =
// min(quantile, point), High = max(quantile, point)): a nonlinear function
// of the parameters need not have its value at θ̂ between its quantiles, and
// a reported range that excludes the reported value would only confuse.
//
// Work is done once per distinct (frequency, T) for what a customer buys if
// alive, once per distinct (frequency, recency, T) for P(alive) and expected
// purchases, and per customer only for CLV, whose value depends on the
// customer's own mean spend (except without repeat purchases, where it is
// the population mean and is shared too). Point values use Predict's own
// formulas; under the draws a batchModel (BG/NBD, MBG/NBD) uses faster forms —
// one hypergeometric series for all horizons, P(alive) from tabulated
// factors of its odds, interpolation over T — that agree with them to
// about 1e-12.
//
// pu and gu are the uncertainties of pm and gg (PurchaseUncertainty,
// SpendUncertainty); the draws are centred on their Estimate.
func PredictIntervals(pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty, c Customers, monetary []float64, o PredictOptions, opts IntervalOptions) (PredictionIntervals, error) {
	if err := checkIntervalInputs(c, monetary); err != nil {
		return PredictionIntervals{}, err
	}
	u, rows := compress(c)
	return predictIntervals(pm, pu, gg, gu, c, monetary, o, opts, u, rows, nil, nil)
}

// PredictWithIntervals is Predict and PredictIntervals in one call, the
// same values to the bit, at less cost: the customers are compressed once
// and the intervals take their point values from the predictions instead
// of computing them again.
func PredictWithIntervals(pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty, c Customers, monetary []float64, o PredictOptions, opts IntervalOptions) (Predictions, PredictionIntervals, error) {
	if err := checkIntervalInputs(c, monetary); err != nil {
		return Predictions{}, PredictionIntervals{}, err
	}
	u, rows := compress(c)
	return predictWithIntervals(pm, pu, gg, gu, c, monetary, o, opts, u, rows)
}

// predictWithIntervals is PredictWithIntervals on c compressed to u (rows:
// each customer's row in u).
func predictWithIntervals(pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty, c Customers, monetary []float64, o PredictOptions, opts IntervalOptions,
	u Customers, rows []int32) (Predictions, PredictionIntervals, error) {
	if err := checkIntervalInputs(c, monetary); err != nil {
		return Predictions{}, PredictionIntervals{}, err
	}
	p, hp := predictHistories(pm, gg, c, monetary, o, true, u, rows)
	iv, err := predictIntervals(pm, pu, gg, gu, c, monetary, o, opts, u, rows, &p, hp)
	if err != nil {
		return Predictions{}, PredictionIntervals{}, err
	}
	return p, iv, nil
}

func checkIntervalInputs(c Customers, monetary []float64) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("intervals: %w", err)
	}
	if len(monetary) != c.Len() {
		return fmt.Errorf("intervals: %w: %d monetary values for %d customers", ErrBadInput, len(monetary), c.Len())
	}
	return nil
}

// predictIntervals is PredictIntervals on c compressed to u (rows: each
// customer's row in u). With point set, the values intervals are widened
// to hold are read from it and, per history, from pointH: Predict's own,
// which are the same bits.
func predictIntervals(pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty, c Customers, monetary []float64, o PredictOptions, opts IntervalOptions,
	u Customers, rows []int32, point *Predictions, pointH historyPoint) (PredictionIntervals, error) {
	if opts.Level == 0 {
		opts.Level = 0.8
	}
	if opts.Draws == 0 {
		opts.Draws = 200
	}
	if !(opts.Level > 0 && opts.Level < 1) || opts.Draws < 2 {
		return PredictionIntervals{}, fmt.Errorf("intervals: %w: level %v, draws %d", ErrBadInput, opts.Level, opts.Draws)
	}
	method, err := intervalMethod(opts.Method, pu, gu)
	if err != nil {
		return PredictionIntervals{}, err
	}
	var models []PurchaseModel
	var spend, spendAxes []GammaGamma
	var steps []float64
	if method == IntervalLinear {
		models, spendAxes, steps, err = axisParams(pm, pu, gg, gu)
		if err != nil && opts.Method != IntervalLinear {
			method, err = IntervalDraws, nil
		}
		// The history loop computes no CLV under the linear method, so its
		// spend model per parameter set is the estimate throughout.
		spend = make([]GammaGamma, len(models))
		for d := range spend {
			spend[d] = gg
		}
	}
	if err != nil {
		return PredictionIntervals{}, err
	}
	if method == IntervalDraws {
		rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
		if models, err = drawParams(pu, opts.Draws, rng, func(p []float64) (PurchaseModel, error) { return pm.WithParams(p) }); err != nil {
			return PredictionIntervals{}, err
		}
		spend = make([]GammaGamma, opts.Draws)
		if gu.Cov == nil {
			for k := range spend {
				spend[k] = gg
			}
		} else if spend, err = drawParams(gu, opts.Draws, rng, gg.withParams); err != nil {
			return PredictionIntervals{}, err
		}
	}

	n := c.Len()
	out := PredictionIntervals{Level: opts.Level, Method: method}
	var lin *linearBounds
	if method == IntervalDraws {
		out.Draws = opts.Draws
	} else {
		lin = &linearBounds{z: distuv.UnitNormal.Quantile((1 + opts.Level) / 2), purchase: 2 * len(pu.Estimate), steps: steps}
	}
	for _, iv := range []*Interval{&out.PAlive, &out.ExpectedPurchases, &out.CLV} {
		iv.Low, iv.High = make([]float64, n), make([]float64, n)
	}
	// Triples in (x, T, tₓ) order, so those sharing (x, T) — a group — are
	// adjacent, and groups sharing x too; and each triple's customers.
	order := tripleOrder(u)
	start := make([]int32, u.Len()+1)
	for _, j := range rows {
		start[j+1]++
	}
	for j := range u.Len() {
		start[j+1] += start[j]
	}
	members := make([]int32, n)
	fill := slices.Clone(start[:u.Len()])
	for i, j := range rows {
		members[fill[j]] = int32(i)
		fill[j]++
	}
	// groups are offsets into order where (x, T) changes; units are runs of
	// at most unitGroups groups of one x, the parallel work items.
	// A model without the batch forms computes every group directly, so
	// its units take all groups of one x: what they share (Pareto/NBD's
	// ₂F₁ terms per recency) is then computed once per x.
	maxGroups := int32(unitGroups)
	if _, ok := pm.(batchModel); !ok {
		maxGroups = math.MaxInt32
	}
	var groups, units []int32
	for p, j := range order {
		if p == 0 || u.Frequency[j] != u.Frequency[order[p-1]] || u.T[j] != u.T[order[p-1]] {
			g := int32(len(groups))
			if p == 0 || u.Frequency[j] != u.Frequency[order[p-1]] || g-units[len(units)-1] == maxGroups {
				units = append(units, g)
			}
			groups = append(groups, int32(p))
		}
	}
	groups = append(groups, int32(len(order)))
	units = append(units, int32(len(groups)-1))

	pLo, pHi := (1-opts.Level)/2, (1+opts.Level)/2
	hz := newCLVHorizons(o)
	k := len(models)
	var logs *logTable
	if _, ok := pm.(batchModel); ok {
		logs = newLogTable(models, u, hz)
	}
	var lifetimes *lifetimeTable
	if _, ok := pm.(ParetoNBD); ok {
		lifetimes = newLifetimeTable(models, hz, u.T)
	}
	// The linear method has so few values per history that writing each
	// customer's bounds from the history loop, in (x, T, tₓ) order, costs
	// more in cache misses than the arithmetic: the history loop keeps what
	// its customers need per history and a pass in customer order finishes.
	var tri *linearTriples
	if lin != nil {
		tri = newLinearTriples(u.Len())
	}
	var next atomic.Int64
	var g group
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() {
			w := newIntervalWork(k, len(hz.ts))
			w.logs, w.life, w.lin = logs, lifetimes, lin
			for {
				un := int(next.Add(1)) - 1
				if un >= len(units)-1 {
					return
				}
				g0, g1 := int(units[un]), int(units[un+1])
				x := u.Frequency[order[groups[g0]]]
				w.Ts = w.Ts[:0]
				for g := g0; g < g1; g++ {
					w.Ts = append(w.Ts, u.T[order[groups[g]]])
				}
				ng := len(w.Ts)
				w.TsAt = w.logs.index(w.TsAt, w.Ts)
				w.lifeAt = lifetimes.index(w.lifeAt, w.Ts)
				w.ifAlive = slices.Grow(w.ifAlive[:0], ng*k)[:ng*k]
				w.disc = slices.Grow(w.disc[:0], ng*k)[:ng*k]
				for d, m := range models {
					if lifetimes != nil && lifetimes.values[d] != nil {
						for g, T := range w.Ts {
							if a, b, ok := lifetimes.eval(hz, m, d, x, T, w.lifeAt[g], w); ok {
								w.ifAlive[g*k+d], w.disc[g*k+d] = a, b
							} else {
								w.ifAlive[g*k+d], w.disc[g*k+d] = hz.eval(m, x, T, w, true)
							}
						}
						continue
					}
					hz.unitValues(m, x, w.Ts, d, k, w.ifAlive, w.disc, w)
				}
				for d, g := range spend {
					w.population[d], w.valueW[d] = g.valueWeight(x)
				}
				unit := order[groups[g0]:groups[g1]]
				w.oddsTables(models, x, u.Recency, unit)
				for gi, g := 0, g0; g < g1; gi, g = gi+1, g+1 {
					trip := order[groups[g]:groups[g+1]]
					T := w.Ts[gi]
					nt := len(trip)
					w.alive0 = slices.Grow(w.alive0[:0], nt)[:nt]
					w.pa = slices.Grow(w.pa[:0], nt*k)[:nt*k]
					var ifAlive0, disc0 float64
					if point == nil {
						ifAlive0, disc0 = hz.eval(pm, x, T, w, false)
						for jj, j := range trip {
							w.alive0[jj] = pm.PAlive(x, u.Recency[j], T)
						}
					} else {
						for jj, j := range trip {
							w.alive0[jj] = pointH[j].alive
						}
					}
					w.pAlive(models, x, T, gi, int(groups[g]-groups[g0]), trip, u.Recency)
					ifAlive, disc := w.ifAlive[gi*k:(gi+1)*k], w.disc[gi*k:(gi+1)*k]
					buf, pd := w.buf, w.pd
					for jj, j := range trip {
						pa, alive0 := w.pa[jj*k:(jj+1)*k], w.alive0[jj]
						for d := range pd {
							pd[d] = pa[d] * disc[d]
						}
						copy(buf, pa)
						paLo, paHi := w.bounds(buf, pLo, pHi, alive0, true)
						for d := range buf {
							buf[d] = pa[d] * ifAlive[d]
						}
						ePoint := alive0 * ifAlive0
						if point != nil {
							ePoint = pointH[j].expected
						}
						eLo, eHi := w.bounds(buf, pLo, pHi, ePoint, false)
						if tri != nil {
							tri.set(j, paLo, paHi, eLo, eHi, alive0*disc0, pd, lin.purchase, lin.steps)
							continue
						}
						// CLV: without repeat purchases (or a spend) the value
						// is the population mean, the same for every member.
						var shared bool
						var sLo, sHi float64
						for _, i := range members[start[j]:start[j+1]] {
							out.PAlive.Low[i], out.PAlive.High[i] = paLo, paHi
							out.ExpectedPurchases.Low[i], out.ExpectedPurchases.High[i] = eLo, eHi
							mi := monetary[i]
							population := x <= 0 || !(mi >= 0)
							if population && shared {
								out.CLV.Low[i], out.CLV.High[i] = sLo, sHi
								continue
							}
							for d := range buf {
								buf[d] = pd[d] * blendValue(w.population[d], w.valueW[d], x, mi)
							}
							var clv float64
							if point != nil {
								clv = point.CLV[i]
							} else {
								clv = alive0 * disc0 * gg.ExpectedAverageValue(x, mi)
							}
							lo, hi := w.bounds(buf, pLo, pHi, clv, false)
							out.CLV.Low[i], out.CLV.High[i] = lo, hi
							if population {
								shared, sLo, sHi = true, lo, hi
							}
						}
					}
				}
			}
		})
	}
	g.Wait()
	if tri != nil {
		tri.customers(&out, lin, gg, spendAxes, c.Frequency, monetary, rows, point)
	}
	return out, nil
}

// tripleOrder is u's rows in (x, T, tₓ) order. Distinct triples are
// unique, so the order is total and the same however it is reached. Whole
// day counts pack into one integer key (x, T, tₓ from the high bits down),
// and the two halves of the keys sort on two goroutines and merge: a sort
// by three float comparisons was the largest serial step of the linear
// intervals.
func tripleOrder(u Customers) []int32 {
	n := u.Len()
	order := make([]int32, n)
	if !packable(u) {
		for j := range order {
			order[j] = int32(j)
		}
		slices.SortFunc(order, func(i, j int32) int {
			return cmp.Or(cmp.Compare(u.Frequency[i], u.Frequency[j]), cmp.Compare(u.T[i], u.T[j]), cmp.Compare(u.Recency[i], u.Recency[j]))
		})
		return order
	}
	type keyed struct {
		key uint64
		row int32
	}
	keys := make([]keyed, n)
	for j := range keys {
		keys[j] = keyed{uint64(u.Frequency[j])<<42 | uint64(u.T[j])<<21 | uint64(u.Recency[j]), int32(j)}
	}
	byKey := func(a, b keyed) int { return cmp.Compare(a.key, b.key) }
	half := n / 2
	var g group
	g.Go(func() { slices.SortFunc(keys[:half], byKey) })
	slices.SortFunc(keys[half:], byKey)
	g.Wait()
	a, b := keys[:half], keys[half:]
	for j := range order {
		if len(b) == 0 || (len(a) > 0 && a[0].key < b[0].key) {
			order[j], a = a[0].row, a[1:]
		} else {
			order[j], b = b[0].row, b[1:]
		}
	}
	return order
}

// unitGroups is the most distinct T of one x a work item carries.
const unitGroups = 128

// intervalWork is one worker's scratch, sized by the draws, not customers.
type intervalWork struct {
	k                            int
	Ts, ifAlive, disc            []float64 // per group of a unit; ifAlive and disc group-major
	alive0, pa                   []float64 // per triple of a group; pa triple-major
	e, buf, terms                []float64
	pd                           []float64 // per draw: P(alive) · discounted purchases of a triple
	population, valueW           []float64 // per draw: valueWeight at the unit's x
	nodeIfAlive, nodeDisc, nodeW []float64
	q                            quantileScratch
	lin                          *linearBounds // nil for draws
	// Dropout odds of a unit, see oddsTables.
	byRecency  []recencyAt
	tx         []float64 // distinct recencies of the unit
	txIndex    []int32   // unit triple → its recency in tx
	oddsT      []float64 // group-major, per draw
	oddsTx     []float64 // recency-major, per draw
	direct     []bool    // per draw: no tables, PAlive itself
	logs       *logTable // shared by all workers, read only
	TsAt, txAt []int32   // Ts and tx positions in logs
	// Pareto/NBD's ₂F₁ terms of P(alive): recency-major and group-major,
	// per draw; eTx is exp(a0Tx − a0Max), a0Max the largest a0Tx of the
	// unit's recencies per draw.
	a0Tx, a0T, eTx, a0Max []float64
	lead                  []float64      // per draw: aliveLead at the unit's x
	life                  *lifetimeTable // shared by all workers, read only
	lifeAt                []int32        // Ts positions in life, −1 if absent
}

type recencyAt struct {
	tx  float64
	pos int32
}

func newIntervalWork(k, horizons int) *intervalWork {
	return &intervalWork{k: k, e: make([]float64, horizons), buf: make([]float64, k), direct: make([]bool, k),
		pd: make([]float64, k), population: make([]float64, k), a0Max: make([]float64, k), lead: make([]float64, k), valueW: make([]float64, k),
		nodeIfAlive: make([]float64, chebNodes), nodeDisc: make([]float64, chebNodes), nodeW: make([]float64, chebNodes),
		q: newQuantileScratch(k)}
}

// drawParams draws k parameter vectors exp(μ + L z), z ~ N(0, I), with
// L Lᵀ = u.Cov and μ = ln u.Estimate, keeping those build accepts.
func drawParams[M any](u Uncertainty, k int, rng *rand.Rand, build func(p []float64) (M, error)) ([]M, error) {
	dim := len(u.Estimate)
	if u.Cov == nil || u.Cov.SymmetricDim() != dim || dim == 0 {
		return nil, fmt.Errorf("intervals: %w: %s uncertainty has no covariance for its %d parameters", ErrBadInput, u.Model, dim)
	}
	var chol mat.Cholesky
	if !chol.Factorize(u.Cov) {
		return nil, fmt.Errorf("intervals: %s: %w: covariance is not positive definite", u.Model, ErrFlatLikelihood)
	}
	var l mat.TriDense
	chol.LTo(&l)
	mu := make([]float64, dim)
	for i, v := range u.Estimate {
		mu[i] = math.Log(v)
	}
	z, p := make([]float64, dim), make([]float64, dim)
	out := make([]M, 0, k)
	for tries := 0; len(out) < k; tries++ {
		if tries >= maxRedraws*k {
			return nil, fmt.Errorf("intervals: %s: %w: %d of %d parameter draws fell outside the model's domain",
				u.Model, ErrDegenerate, tries-len(out), tries)
		}
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		for i := range p {
			s := mu[i]
			for j := 0; j <= i; j++ {
				s += l.At(i, j) * z[j]
			}
			p[i] = math.Exp(s)
		}
		if m, err := build(slices.Clone(p)); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// clvHorizons evaluates, for one (x, T), what Predict needs from a purchase
// model: the expected purchases if alive over the horizon, and the
// discounted sum Σₘ (E[N(m·L)] − E[N((m−1)·L)]) / (1+d)^m, with the very
// operations Predict uses, so the point values agree to the bit.
type clvHorizons struct {
	ts       []float64 // m·L for m = 1..Months, then the horizon unless among them
	discount []float64 // (1+d)^m
	horizon  int       // index of the horizon in ts
}

func newCLVHorizons(o PredictOptions) clvHorizons {
	h := clvHorizons{horizon: -1}
	for m := 1; m <= o.Months; m++ {
		t := float64(m) * o.MonthLength
		h.ts = append(h.ts, t)
		h.discount = append(h.discount, math.Pow(1+o.DiscountRate, float64(m)))
		if t == o.Horizon && h.horizon < 0 {
			h.horizon = m - 1
		}
	}
	if h.horizon < 0 {
		h.horizon = len(h.ts)
		h.ts = append(h.ts, o.Horizon)
	}
	return h
}

// eval gives the horizon's expected purchases if alive and the discounted
// sum; w.e receives the horizons' values. batch allows a model's faster
// form, equal to rounding only.
func (h clvHorizons) eval(pm PurchaseModel, x, T float64, w *intervalWork, batch bool) (ifAlive, disc float64) {
	return h.evalL1z(pm, x, T, w, batch, nil)
}

// evalL1z is eval with expectedIfAliveAt's l1z.
func (h clvHorizons) evalL1z(pm PurchaseModel, x, T float64, w *intervalWork, batch bool, l1z []float64) (ifAlive, disc float64) {
	scratch := w.e
	if b, ok := pm.(batchModel); ok && batch {
		b.expectedIfAliveAt(scratch, h.ts, x, T, l1z, &w.terms)
	} else {
		for i, t := range h.ts {
			scratch[i] = pm.ExpectedIfAlive(t, x, T)
		}
	}
	return h.sum(scratch)
}

// sum is eval's result from the horizons' expected purchases if alive.
func (h clvHorizons) sum(e []float64) (ifAlive, disc float64) {
	var prev float64
	for m, d := range h.discount {
		disc += (e[m] - prev) / d
		prev = e[m]
	}
	return e[h.horizon], disc
}

// lifetimeTable holds, for Pareto/NBD draws, lifetimeWithin at every
// horizon and every distinct T: the x-free factor of ExpectedIfAlive,
// computed once per (T, draw) rather than once per (x, T, draw).
type lifetimeTable struct {
	Ts     []float64 // distinct T, ascending
	values [][]float64
	// ln(α+T) and ln(β+T) per draw and distinct T, for aliveBase.
	lnAlpha, lnBeta [][]float64
}

func newLifetimeTable(models []PurchaseModel, h clvHorizons, T []float64) *lifetimeTable {
	Ts := slices.Clone(T)
	slices.Sort(Ts)
	lt := &lifetimeTable{Ts: slices.Compact(Ts), values: make([][]float64, len(models)),
		lnAlpha: make([][]float64, len(models)), lnBeta: make([][]float64, len(models))}
	nh := len(h.ts)
	parallel(len(models), func(d int) {
		pn, ok := models[d].(ParetoNBD)
		if !ok {
			return
		}
		v := make([]float64, len(lt.Ts)*nh)
		for i, T := range lt.Ts {
			for j, t := range h.ts {
				v[i*nh+j] = pn.lifetimeWithin(t, T)
			}
		}
		lt.values[d] = v
		la, lb := make([]float64, len(lt.Ts)), make([]float64, len(lt.Ts))
		for i, T := range lt.Ts {
			la[i], lb[i] = math.Log(pn.Alpha+T), math.Log(pn.Beta+T)
		}
		lt.lnAlpha[d], lt.lnBeta[d] = la, lb
	})
	return lt
}

// index sets idx[g] to the position of Ts[g] among the table's T, or −1:
// once per group rather than once per group and draw.
func (lt *lifetimeTable) index(idx []int32, Ts []float64) []int32 {
	idx = idx[:0]
	if lt == nil {
		return idx
	}
	for _, T := range Ts {
		i, found := slices.BinarySearch(lt.Ts, T)
		if !found {
			i = -1
		}
		idx = append(idx, int32(i))
	}
	return idx
}

// eval is clvHorizons.eval for draw d, a Pareto/NBD model, from the table
// at T's position i (see index); false when the draw or T has none.
func (lt *lifetimeTable) eval(h clvHorizons, m PurchaseModel, d int, x, T float64, i int32, w *intervalWork) (ifAlive, disc float64, ok bool) {
	pn, isPareto := m.(ParetoNBD)
	if lt == nil || !isPareto || lt.values[d] == nil || i < 0 {
		return 0, 0, false
	}
	nh := len(h.ts)
	life := lt.values[d][int(i)*nh : (int(i)+1)*nh]
	for j, t := range h.ts {
		// ExpectedIfAlive's own expression, with its x-free factor looked up.
		if t <= 0 {
			w.e[j] = 0
		} else {
			w.e[j] = (pn.R + x) / (pn.Alpha + T) * life[j]
		}
	}
	ifAlive, disc = h.sum(w.e)
	return ifAlive, disc, true
}

// chebNodes is the number of Chebyshev points a unit's expected purchases
// are interpolated from, under a model that allows it (see batchModel).
const chebNodes = 16

// unitValues sets ifAlive[g·k+d] and disc[g·k+d], for the ascending T
// values Ts of one x, under draw d's model m. A batchModel's values vary
// smoothly in ln(T + shift) — analytic up to singularities a distance π
// off the real axis — so when there are many T they are interpolated
// (barycentric formula) from the Chebyshev points of that variable over
// [min T, max T], which converges geometrically; the test holds the
// interpolation to the direct values within 1e-9.
func (h clvHorizons) unitValues(m PurchaseModel, x float64, Ts []float64, d, k int, ifAlive, disc []float64, w *intervalWork) {
	b, ok := m.(batchModel)
	n := len(Ts)
	if !ok || n <= 2*chebNodes || Ts[0] == Ts[n-1] {
		for g, T := range Ts {
			ifAlive[g*k+d], disc[g*k+d] = h.evalL1z(m, x, T, w, true, w.l1zOf(d, g))
		}
		return
	}
	shift := b.interpShift()
	w0, w1 := math.Log(shift+Ts[0]), math.Log(shift+Ts[n-1])
	mid, half := (w0+w1)/2, (w1-w0)/2
	for j := range chebNodes {
		wj := mid + half*math.Cos(math.Pi*float64(j)/(chebNodes-1))
		T := min(max(math.Exp(wj)-shift, Ts[0]), Ts[n-1])
		w.nodeW[j] = wj
		w.nodeIfAlive[j], w.nodeDisc[j] = h.eval(m, x, T, w, true)
	}
	for g, T := range Ts {
		v := math.Log(shift + T)
		var num1, num2, den float64
		exact := -1
		for j, wj := range w.nodeW {
			if v == wj {
				exact = j
				break
			}
			c := 1 / (v - wj)
			if j%2 == 1 {
				c = -c
			}
			if j == 0 || j == chebNodes-1 {
				c /= 2
			}
			num1 += c * w.nodeIfAlive[j]
			num2 += c * w.nodeDisc[j]
			den += c
		}
		if exact >= 0 {
			ifAlive[g*k+d], disc[g*k+d] = w.nodeIfAlive[exact], w.nodeDisc[exact]
		} else {
			ifAlive[g*k+d], disc[g*k+d] = num1/den, num2/den
		}
	}
}

// batchModel is a purchase model with faster forms of its formulas for
// many customers of one frequency x, which agree with PAlive and
// ExpectedIfAlive to rounding (not to the bit, so point predictions never
// use them).
type batchModel interface {
	// expectedIfAliveAt sets dst[h] to ExpectedIfAlive(ts[h], x, T), with
	// scratch to grow and reuse. l1z, when not nil, holds ln(1 − z) of
	// every horizon, z = ts[h]/(α + T + ts[h]), which depends on T and the
	// parameters but not on x; nil computes it.
	expectedIfAliveAt(dst, ts []float64, x, T float64, l1z []float64, scratch *[]float64)
	// interpShift is the time expected purchases depend on T through, as
	// ln(T + shift), which they are smooth in (α for BG/NBD).
	interpShift() float64
	// dropoutOdds splits the log-odds that a customer has dropped out as
	// base(x, T) − power(x)·ln(tₓ + shift):
	// PAlive = 1 / (1 + exp(base − power·ln(tₓ + shift))). alive reports a
	// customer who cannot have dropped out (PAlive 1).
	dropoutOdds(x, T float64) (base, power, shift float64, alive bool)
	// dropoutSplit is dropoutOdds without its T term: base = c0 +
	// power·ln(T + shift), the same bits.
	dropoutSplit(x float64) (c0, power, shift float64, alive bool)
}

func (m BGNBD) interpShift() float64 { return m.Alpha }

// dropoutOdds: ln a − ln(b+x−1) + (r+x)·ln(α+T) − (r+x)·ln(α+tₓ); without
// repeat purchases a BG/NBD customer cannot have dropped out.
func (m BGNBD) dropoutOdds(x, T float64) (base, power, shift float64, alive bool) {
	return oddsAt(m.dropoutSplit(x))(T)
}

// dropoutSplit is dropoutOdds' base less its T term: base = c0 +
// power·ln(T + shift).
func (m BGNBD) dropoutSplit(x float64) (c0, power, shift float64, alive bool) {
	if x == 0 {
		return 0, 0, m.Alpha, true
	}
	return math.Log(m.A) - math.Log(m.B+x-1), m.R + x, m.Alpha, false
}

// oddsAt turns a dropoutSplit into dropoutOdds at T.
func oddsAt(c0, power, shift float64, alive bool) func(T float64) (base, power, shift float64, alive bool) {
	return func(T float64) (float64, float64, float64, bool) {
		if alive {
			return 0, 0, shift, true
		}
		return c0 + power*math.Log(T+shift), power, shift, false
	}
}

func (m MBGNBD) interpShift() float64 { return m.Alpha }

// dropoutOdds: ln a − ln(b+x) + (r+x)·ln(α+T) − (r+x)·ln(α+tₓ); an MBG/NBD
// customer may have dropped out at the first purchase, so none is surely
// alive.
func (m MBGNBD) dropoutOdds(x, T float64) (base, power, shift float64, alive bool) {
	return oddsAt(m.dropoutSplit(x))(T)
}

// dropoutSplit is dropoutOdds' base less its T term, as BGNBD's.
func (m MBGNBD) dropoutSplit(x float64) (c0, power, shift float64, alive bool) {
	return math.Log(m.A) - math.Log(m.B+x), m.R + x, m.Alpha, false
}

// expectedIfAliveAt is ExpectedIfAlive over many horizons, to rounding: the
// MBG/NBD expectation is BG/NBD's with b one higher.
func (m MBGNBD) expectedIfAliveAt(dst, ts []float64, x, T float64, l1z []float64, scratch *[]float64) {
	BGNBD{m.R, m.Alpha, m.A, m.B + 1}.expectedIfAliveAt(dst, ts, x, T, l1z, scratch)
}

// maxOddsTable bounds a unit's table of recency odds, in entries.
const maxOddsTable = 1 << 20

// maxOddsExp keeps the factors of the odds within float range.
const maxOddsExp = 600

// maxTableOddsAtT bounds the Pareto/NBD log-odds at T, ln A₀'s term at T
// plus aliveBase, for which pAlive takes the odds as a difference of two
// exponentials: at a recency near T they cancel, leaving a rounding of
// about e^8 · 2⁻⁵³ ≈ 3e-13 of the odds' scale, where the direct form's
// expm1 leaves none.
const maxTableOddsAtT = 8

// oddsTables prepares P(alive) under every draw for the triples of one unit
// (customers of one x): the odds factor into exp(base), one per (T, draw),
// and (tₓ + shift)^−power, one per (distinct recency, draw) — far fewer
// exponentials than one per (triple, draw). A draw whose model has no such
// split, or whose factors would leave float range, is marked direct.
func (w *intervalWork) oddsTables(models []PurchaseModel, x float64, recency []float64, unit []int32) {
	k := w.k
	w.byRecency = w.byRecency[:0]
	for p, j := range unit {
		w.byRecency = append(w.byRecency, recencyAt{recency[j], int32(p)})
	}
	slices.SortFunc(w.byRecency, func(a, b recencyAt) int { return cmp.Compare(a.tx, b.tx) })
	w.tx = w.tx[:0]
	w.txIndex = slices.Grow(w.txIndex[:0], len(unit))[:len(unit)]
	for _, r := range w.byRecency {
		if len(w.tx) == 0 || r.tx != w.tx[len(w.tx)-1] {
			w.tx = append(w.tx, r.tx)
		}
		w.txIndex[r.pos] = int32(len(w.tx) - 1)
	}
	ng, nx := len(w.Ts), len(w.tx)
	w.txAt = w.logs.index(w.txAt, w.tx) // w.TsAt is set with w.Ts
	w.oddsT = slices.Grow(w.oddsT[:0], ng*k)[:ng*k]
	w.oddsTx = slices.Grow(w.oddsTx[:0], nx*k)[:nx*k]
	w.a0Tx = slices.Grow(w.a0Tx[:0], nx*k)[:nx*k]
	w.a0T = slices.Grow(w.a0T[:0], ng*k)[:ng*k]
	w.eTx = slices.Grow(w.eTx[:0], nx*k)[:nx*k]
	for d, m := range models {
		if pn, ok := m.(ParetoNBD); ok {
			// P(alive) is direct, but its two ₂F₁ terms depend on (x, tₓ)
			// and (x, T) alone: one series per distinct recency and per
			// group rather than two per triple.
			c := math.Inf(-1)
			for i, tx := range w.tx {
				w.a0Tx[i*k+d] = pn.a0Term(x, tx)
				c = max(c, w.a0Tx[i*k+d])
			}
			for g, T := range w.Ts {
				w.a0T[g*k+d] = pn.a0Term(x, T)
			}
			// exp(a0Tx − c) <= 1 cannot overflow; see pAlive.
			w.a0Max[d] = c
			w.lead[d] = pn.aliveLead(x)
			for i := range w.tx {
				w.eTx[i*k+d] = math.Exp(w.a0Tx[i*k+d] - c)
			}
		}
		b, ok := m.(batchModel)
		w.direct[d] = !ok || nx*k > maxOddsTable
		if w.direct[d] {
			continue
		}
		// ln(t + shift) from the draw's table where it has one: the same
		// value, computed once per distinct time rather than per unit.
		c0, power, shift, alive := b.dropoutSplit(x)
		logs := w.logs.of(d, shift)
		logOf := func(t float64, idx []int32, i int) float64 {
			if logs != nil {
				return logs[idx[i]]
			}
			return math.Log(t + shift)
		}
		if alive {
			// Every group alive: oddsT is 0 and oddsTx 1.
			for g := range w.Ts {
				w.oddsT[g*k+d] = 0
			}
			for i := range w.tx {
				w.oddsTx[i*k+d] = 1
			}
			continue
		}
		for g, T := range w.Ts {
			base := c0 + power*logOf(T, w.TsAt, g)
			if base > maxOddsExp {
				w.direct[d] = true
				break
			}
			w.oddsT[g*k+d] = math.Exp(base)
		}
		if w.direct[d] {
			continue
		}
		if math.Max(math.Abs(logOf(w.tx[0], w.txAt, 0)), math.Abs(logOf(w.tx[nx-1], w.txAt, nx-1)))*power > maxOddsExp {
			w.direct[d] = true
			continue
		}
		for i, tx := range w.tx {
			w.oddsTx[i*k+d] = math.Exp(-power * logOf(tx, w.txAt, i))
		}
	}
}

// l1zOf is draw d's ln(1 − z) of every horizon at group g's T, from the
// table, or nil.
func (w *intervalWork) l1zOf(d, g int) []float64 {
	lt := w.logs
	if lt == nil || lt.l1z[d] == nil || g >= len(w.TsAt) {
		return nil
	}
	nh := lt.horizons
	i := int(w.TsAt[g])
	return lt.l1z[d][i*nh : (i+1)*nh]
}

// maxLogTable bounds logTable's entries, draws × distinct times.
const maxLogTable = 1 << 22

// logTable holds ln(t + shift) for every distinct time t (T or recency)
// under every draw of a batchModel, whose dropout odds take it once per
// (x, T) and once per (x, tₓ): the nightly job's times are whole days, a
// thousand or so values, shared by all x.
//
// It also holds ln(1 − z), z = t/(α + T + t), for every horizon t and
// distinct T: BG/NBD's expected purchases take it twice per (x, T), though
// it does not depend on x.
type logTable struct {
	times    []float64 // ascending
	shifts   []float64 // per draw
	logs     [][]float64
	horizons int
	l1z      [][]float64 // per draw, time-major
}

func newLogTable(models []PurchaseModel, u Customers, hz clvHorizons) *logTable {
	times := slices.Concat(u.T, u.Recency)
	slices.Sort(times)
	times = slices.Compact(times)
	nh := len(hz.ts)
	if len(times)*len(models)*(1+nh) > maxLogTable {
		return nil
	}
	lt := &logTable{times: times, shifts: make([]float64, len(models)), logs: make([][]float64, len(models)),
		horizons: nh, l1z: make([][]float64, len(models))}
	parallel(len(models), func(d int) {
		b, ok := models[d].(batchModel)
		if !ok {
			return
		}
		shift := b.interpShift()
		v := make([]float64, len(times))
		for i, t := range times {
			v[i] = math.Log(t + shift)
		}
		lt.shifts[d], lt.logs[d] = shift, v
		if alpha, ok := alphaOf(models[d]); ok {
			l := make([]float64, len(times)*nh)
			for i, T := range times {
				for j, t := range hz.ts {
					// As expectedIfAliveAt computes it.
					var z float64
					if t > 0 {
						z = t / (alpha + T + t)
					}
					l[i*nh+j] = math.Log1p(-z)
				}
			}
			lt.l1z[d] = l
		}
	})
	return lt
}

// alphaOf is the α of a BG/NBD or MBG/NBD model, whose expected purchases
// take ln(1 − z) with z = t/(α + T + t).
func alphaOf(m PurchaseModel) (float64, bool) {
	switch m := m.(type) {
	case BGNBD:
		return m.Alpha, true
	case MBGNBD:
		return m.Alpha, true
	}
	return 0, false
}

// of is draw d's table if it was made with this shift, else nil.
func (lt *logTable) of(d int, shift float64) []float64 {
	if lt == nil || lt.logs[d] == nil || lt.shifts[d] != shift {
		return nil
	}
	return lt.logs[d]
}

// index sets idx[i] to the position of ts[i] among the table's times.
func (lt *logTable) index(idx []int32, ts []float64) []int32 {
	idx = idx[:0]
	if lt == nil {
		return idx
	}
	for _, t := range ts {
		i, _ := slices.BinarySearch(lt.times, t)
		idx = append(idx, int32(i))
	}
	return idx
}

// pAlive fills w.pa with P(alive) of the triples of group gi (starting at
// off in the unit) under every draw.
func (w *intervalWork) pAlive(models []PurchaseModel, x, T float64, gi, off int, trip []int32, recency []float64) {
	k := w.k
	oddsT := w.oddsT[gi*k : (gi+1)*k]
	for jj := range trip {
		i := int(w.txIndex[off+jj])
		oddsTx, row := w.oddsTx[i*k:(i+1)*k], w.pa[jj*k:(jj+1)*k]
		for d := range row {
			row[d] = 1 / (1 + oddsT[d]*oddsTx[d])
		}
	}
	for d, m := range models {
		if !w.direct[d] {
			continue
		}
		if pn, ok := m.(ParetoNBD); ok {
			a0T := w.a0T[gi*k+d]
			var base float64
			if lt := w.life; lt != nil && lt.lnAlpha[d] != nil && gi < len(w.lifeAt) && w.lifeAt[gi] >= 0 {
				i := w.lifeAt[gi]
				base = pn.aliveBaseLogs(w.lead[d], x, lt.lnAlpha[d][i], lt.lnBeta[d][i])
			} else {
				base = pn.aliveBase(x, T)
			}
			// The odds are exp(base + a0Tx) − exp(base + a0T): one
			// exponential per recency and one per group instead of three
			// per triple. Not where the first would leave float range, nor
			// where large odds at T would cancel (see maxTableOddsAtT).
			if c := w.a0Max[d]; base+c <= maxOddsExp && base+a0T <= maxTableOddsAtT {
				eB, eT := math.Exp(base+c), math.Exp(base+a0T)
				for jj := range trip {
					i := int(w.txIndex[off+jj])*k + d
					if a0T >= w.a0Tx[i] {
						w.pa[jj*k+d] = 1 // tₓ = T, as a0FromTerms
						continue
					}
					w.pa[jj*k+d] = 1 / (1 + max(eB*w.eTx[i]-eT, 0))
				}
				continue
			}
			for jj := range trip {
				a0Tx := w.a0Tx[int(w.txIndex[off+jj])*k+d]
				w.pa[jj*k+d] = pAliveFrom(base, a0FromTerms(a0Tx, a0T))
			}
			continue
		}
		for jj, j := range trip {
			w.pa[jj*k+d] = m.PAlive(x, recency[j], T)
		}
	}
}

// maxBatch is the most horizons one series pass carries.
const maxBatch = 32

// expectedIfAliveAt is ExpectedIfAlive over many horizons, to rounding.
// The hypergeometric series of all horizons share their coefficients and
// differ only in z: the terms dₖ = cₖ·z_max^k of the longest horizon are
// computed once (one division each, stopping as logSeries stops for it)
// and every horizon is the polynomial Σ dₖ·yᵏ in y = z/z_max <= 1, by
// Horner's rule. Series that climb out of float range (heavy buyers) take
// logSeries one horizon at a time.
func (m BGNBD) expectedIfAliveAt(dst, ts []float64, x, T float64, l1z []float64, scratch *[]float64) {
	for len(ts) > maxBatch {
		var head []float64
		if l1z != nil {
			head, l1z = l1z[:maxBatch], l1z[maxBatch:]
		}
		m.expectedIfAliveAt(dst[:maxBatch], ts[:maxBatch], x, T, head, scratch)
		dst, ts = dst[maxBatch:], ts[maxBatch:]
	}
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	// logHyp2F1(r+x, b+x, a+b+x−1, z), as ExpectedIfAlive calls it.
	ha, hb, hc := r+x, b+x, a+b+x-1
	sa, sb, euler := ha, hb, false
	if ca, cb := hc-ha, hc-hb; ca > 0 && cb > 0 && ca*cb < ha*hb {
		sa, sb, euler = ca, cb, true
	}
	var zs, logF [maxBatch]float64
	zMax := 0.0
	for h, t := range ts {
		if t > 0 {
			zs[h] = t / (alpha + T + t)
			zMax = max(zMax, zs[h])
		}
	}
	if zMax > 0 {
		if hornerSeries(logF[:len(ts)], sa, sb, hc, zs[:len(ts)], zMax, scratch) {
			for h := range ts {
				logF[h] = math.Log(logF[h])
			}
		} else {
			for h, z := range zs[:len(ts)] {
				if z > 0 {
					logF[h] = logSeries(sa, sb, hc, z)
				}
			}
		}
	}
	for h, t := range ts {
		dst[h] = 0
		if t <= 0 {
			continue
		}
		z := zs[h]
		var l1 float64
		if l1z != nil {
			l1 = l1z[h]
		} else {
			l1 = math.Log1p(-z)
		}
		var lh float64
		if z != 0 {
			lh = logF[h]
			if euler {
				lh += (hc - ha - hb) * l1
			}
		}
		logTerm := (r+x)*l1 + lh
		dst[h] = math.Max(0, (a+b+x-1)/(a-1)*-math.Expm1(logTerm))
	}
}

// maxTerms bounds the coefficients hornerSeries keeps.
const maxTerms = 4096

// hornerSeries sets f[h] = ₂F₁(a, b; c; zs[h]) (1 where zs[h] is 0) for
// zs[h] <= zMax, keeping the terms in *terms, or reports false when the
// terms at zMax leave float range or need more than maxTerms.
func hornerSeries(f []float64, a, b, c float64, zs []float64, zMax float64, terms *[]float64) bool {
	d := append((*terms)[:0], 1)
	term, sum := 1.0, 1.0
	for k := 0.0; ; k++ {
		ratio := (a + k) * (b + k) / ((c + k) * (k + 1)) * zMax
		term *= ratio
		sum += term
		if sum > 1e200 || len(d) == maxTerms {
			*terms = d
			return false
		}
		d = append(d, term)
		if ratio < 1 && term*ratio/(1-ratio) < 1e-16*sum {
			break
		}
	}
	*terms = d
	var y [maxBatch]float64
	for h, z := range zs {
		y[h] = z / zMax
		f[h] = d[len(d)-1]
	}
	for k := len(d) - 2; k >= 0; k-- {
		dk := d[k]
		for h := range zs {
			f[h] = f[h]*y[h] + dk
		}
	}
	return true
}

// quantileScratch finds two quantiles of a few hundred values by bucketing:
// one pass for the range, one to count the values in equal-width buckets
// (a monotone map, so buckets are ordered like their values), and exact
// selection only among the values of the buckets that hold the wanted
// ranks. Its passes are nearly free of unpredictable branches, which is
// what selection over random values is made of.
type quantileScratch struct {
	bucket   []uint8
	lo, hi   []float64
	selected []float64
}

const quantileBuckets = 64

func newQuantileScratch(k int) quantileScratch {
	return quantileScratch{bucket: make([]uint8, k), lo: make([]float64, 0, k), hi: make([]float64, 0, k)}
}

// bounds is the pLo and pHi quantiles of the finite values of v (linear
// between order statistics, R's type 7), widened to hold point; v is
// reordered. Without a finite value it is [point, point].
func (q *quantileScratch) bounds(v []float64, pLo, pHi, point float64) (lo, hi float64) {
	// x·0 is 0 for a finite x and NaN otherwise: a test without
	// branches or stores that almost always spares the compaction.
	var s0, s1 float64
	for i := 0; i+1 < len(v); i += 2 {
		s0 += v[i] * 0
		s1 += v[i+1] * 0
	}
	if len(v)%2 == 1 {
		s0 += v[len(v)-1] * 0
	}
	if s0+s1 != 0 {
		n := 0
		for _, x := range v {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				v[n] = x
				n++
			}
		}
		v = v[:n]
	}
	if len(v) == 0 {
		return point, point
	}
	lo, hi = q.twoQuantiles(v, pLo, pHi)
	if point < lo {
		lo = point
	}
	if point > hi {
		hi = point
	}
	return lo, hi
}

func (q *quantileScratch) twoQuantiles(v []float64, pLo, pHi float64) (lo, hi float64) {
	n := len(v)
	mn, mx := v[0], v[0]
	for _, x := range v[1:] {
		if x < mn {
			mn = x
		}
		if x > mx {
			mx = x
		}
	}
	if mn == mx {
		return mn, mx
	}
	scale := quantileBuckets / (mx - mn)
	if n > len(q.bucket) || math.IsInf(scale, 0) {
		return quantileAt(v, pLo), quantileAt(v, pHi)
	}
	var counts [quantileBuckets + 1]int
	bucket := q.bucket[:n]
	for i, x := range v {
		b := min(int((x-mn)*scale), quantileBuckets-1)
		bucket[i] = uint8(b)
		counts[b]++
	}
	iLo, fLo := quantileRank(pLo, n)
	iHi, fHi := quantileRank(pHi, n)
	// Buckets [aLo, bLo] hold ranks iLo and iLo+1, [aHi, bHi] iHi and iHi+1.
	aLo, bLo, offLo := bucketsOf(&counts, iLo, min(iLo+1, n-1))
	aHi, bHi, offHi := bucketsOf(&counts, iHi, min(iHi+1, n-1))
	// Every value is written to both, and kept where its bucket is in
	// range: no branch to mispredict.
	low, high := q.lo[:n], q.hi[:n]
	nl, nh := 0, 0
	wLo, wHi := uint(bLo-aLo), uint(bHi-aHi)
	for i, x := range v {
		b := int(bucket[i])
		low[nl], high[nh] = x, x
		var inLo, inHi int // set by conditional moves, not branches
		if uint(b-aLo) <= wLo {
			inLo = 1
		}
		if uint(b-aHi) <= wHi {
			inHi = 1
		}
		nl, nh = nl+inLo, nh+inHi
	}
	low, high = low[:nl], high[:nh]
	lo = orderStats(low, iLo-offLo, fLo)
	hi = orderStats(high, iHi-offHi, fHi)
	return lo, hi
}

// bucketsOf is the first and last bucket holding ranks r1 <= r2 and the
// number of values in the buckets before the first.
func bucketsOf(counts *[quantileBuckets + 1]int, r1, r2 int) (first, last, before int) {
	first, last = -1, -1
	cum := 0
	for b, c := range counts[:quantileBuckets] {
		if first < 0 && r1 < cum+c {
			first, before = b, cum
		}
		if r2 < cum+c {
			last = b
			break
		}
		cum += c
	}
	return first, last, before
}

// orderStats is v's i-th smallest value plus f of the step to the next.
func orderStats(v []float64, i int, f float64) float64 {
	selectNth(v, i)
	q := v[i]
	if f > 0 && i+1 < len(v) {
		q += f * (slices.Min(v[i+1:]) - q)
	}
	return q
}

// quantileRank splits h = p·(n−1) into its whole and fractional parts.
func quantileRank(p float64, n int) (int, float64) {
	h := p * float64(n-1)
	i := int(h)
	return i, h - float64(i)
}

// quantileAt is the p quantile of v (type 7), partially reordering v.
func quantileAt(v []float64, p float64) float64 {
	i, f := quantileRank(p, len(v))
	selectNth(v, i)
	q := v[i]
	if f > 0 && i+1 < len(v) {
		q += f * (slices.Min(v[i+1:]) - q)
	}
	return q
}

// selectNth reorders v so v[k] is its k-th smallest value, with nothing
// larger before it and nothing smaller after (Hoare's quickselect with a
// median-of-three pivot: deterministic, linear on average).
func selectNth(v []float64, k int) {
	lo, hi := 0, len(v)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}
