package btyd

import (
	"math"
	"testing"
)

// checkGradient compares an analytic gradient with central differences.
func checkGradient(t *testing.T, name string, f objective, at []float64) {
	t.Helper()
	grad := make([]float64, len(at))
	f(at, grad)
	for i := range at {
		h := 1e-5
		up, down := append([]float64(nil), at...), append([]float64(nil), at...)
		up[i] += h
		down[i] -= h
		num := (f(up, nil) - f(down, nil)) / (2 * h)
		if math.Abs(num-grad[i]) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("%s ∂/∂θ%d: analytic %.8g, numeric %.8g", name, i, grad[i], num)
		}
	}
}

func TestGradients(t *testing.T) {
	c, zbar := cdnow(t)
	d := newBGNBDData(Compress(c))
	checkGradient(t, "bgnbd", d.nll, []float64{math.Log(0.3), math.Log(5), math.Log(0.7), math.Log(2)})
	s := RepeatBuyers(c.Frequency, zbar)
	logM := make([]float64, len(s.Monetary))
	for i, m := range s.Monetary {
		logM[i] = math.Log(m)
	}
	f := s.nll(newTable(s.Frequency), logM, float64(len(logM)))
	checkGradient(t, "gamma_gamma", f, []float64{math.Log(5), math.Log(3), math.Log(12)})
	checkGradient(t, "gamma_gamma far", f, []float64{0, 0, math.Log(35)})
}
