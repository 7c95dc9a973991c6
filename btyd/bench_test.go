package btyd

import (
	"testing"
)

// BenchmarkFitAndPredict1M fits BG/NBD and Gamma-Gamma on 1M simulated
// customers (days, up to two years of tenure) and computes P(alive),
// expected purchases over 90 days, expected order value and 12-month CLV
// for all of them. lifetimes needs about 27 s for this on 2 cores.
func BenchmarkFitAndPredict1M(b *testing.B) {
	c, rng := simulateBGNBD(BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, 1_000_000, 730, 11)
	monetary := simulateSpend(GammaGamma{P: 6, Q: 4, Gamma: 15}, c.Frequency, rng)
	opts := PredictOptions{Horizon: 90, MonthLength: 30, Months: 12, DiscountRate: 0.01}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bg, _, err := FitBGNBD(Compress(c))
		if err != nil {
			b.Fatal(err)
		}
		gg, _, err := FitGammaGamma(RepeatBuyers(c.Frequency, monetary))
		if err != nil {
			b.Fatal(err)
		}
		p := Predict(bg, gg, c, monetary, opts)
		if len(p.CLV) != c.Len() {
			b.Fatal("short predictions")
		}
	}
}
