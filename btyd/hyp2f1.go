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

func logSeries(a, b, c, z float64) float64 {
	logZ := math.Log(z)
	logTerm, logSum := 0.0, 0.0
	for k := 0.0; k < 1e6; k++ {
		logTerm += math.Log((a+k)*(b+k)/((c+k)*(k+1))) + logZ
		logSum = logAddExp(logSum, logTerm)
		// Stop once terms fall and are negligible; a falling geometric-like
		// tail with ratio below 1 cannot add more than the bound.
		if ratio := (a + k + 1) * (b + k + 1) / ((c + k + 1) * (k + 2)) * z; ratio < 1 && logTerm-math.Log1p(-ratio) < logSum-36 {
			return logSum
		}
	}
	return logSum
}
