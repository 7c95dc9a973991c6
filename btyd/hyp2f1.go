package btyd

import "math"

// logHyp2F1 is log ₂F₁(a, b; c; z) for a, b, c > 0 and 0 <= z < 1, where
// every term of the Gauss series is positive. Terms are summed in log space,
// since for heavy buyers (a, b in the thousands) they rise far above float
// range before they fall. When the Euler transformation
// ₂F₁(a, b; c; z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) leaves smaller
// positive parameters, the series is summed in that form, which converges in
// a handful of terms where the direct one needs thousands.
func logHyp2F1(a, b, c, z float64) float64 {
	if z == 0 {
		return 0
	}
	if ca, cb := c-a, c-b; ca > 0 && cb > 0 && ca*cb < a*b {
		return (c-a-b)*math.Log1p(-z) + logSeries(ca, cb, c, z)
	}
	return logSeries(a, b, c, z)
}

// logSeries sums the Gauss series in linear space, one multiply per term,
// rescaling into a separate log factor whenever the partial sum grows past
// 1e200 — heavy buyers' terms rise far beyond float range before falling.
func logSeries(a, b, c, z float64) float64 {
	logScale := 0.0
	term, sum := 1.0, 1.0
	for k := 0.0; k < 1e6; k++ {
		ratio := (a + k) * (b + k) / ((c + k) * (k + 1)) * z
		term *= ratio
		sum += term
		if sum > 1e200 {
			term /= sum
			logScale += math.Log(sum)
			sum = 1
		}
		// Once terms fall with ratio below 1, the tail is at most term·r/(1−r).
		if ratio < 1 && term*ratio/(1-ratio) < 1e-16*sum {
			break
		}
	}
	return logScale + math.Log(sum)
}
