package btyd

import (
	"math/rand/v2"
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

// BenchmarkMBGNBDFitAndPredict1M is BenchmarkFitAndPredict1M with MBG/NBD
// in place of BG/NBD, on 1M customers drawn from MBG/NBD with the same
// parameters and tenures, so the two compare run for run.
func BenchmarkMBGNBDFitAndPredict1M(b *testing.B) {
	c := simulateMBGNBD(MBGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}, 1_000_000, 730, 11)
	monetary := simulateSpend(GammaGamma{P: 6, Q: 4, Gamma: 15}, c.Frequency, rand.New(rand.NewPCG(12, 13)))
	opts := PredictOptions{Horizon: 90, MonthLength: 30, Months: 12, DiscountRate: 0.01}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, _, err := FitMBGNBD(Compress(c))
		if err != nil {
			b.Fatal(err)
		}
		gg, _, err := FitGammaGamma(RepeatBuyers(c.Frequency, monetary))
		if err != nil {
			b.Fatal(err)
		}
		p := Predict(m, gg, c, monetary, opts)
		if len(p.CLV) != c.Len() {
			b.Fatal("short predictions")
		}
	}
}

// BenchmarkFit1M times the purchase-model fits alone, compression included,
// each on 1M customers drawn from its own model with the same parameters.
func BenchmarkFit1M(b *testing.B) {
	truth := BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}
	bgData, _ := simulateBGNBD(truth, 1_000_000, 730, 11)
	mbgData := simulateMBGNBD(MBGNBD(truth), 1_000_000, 730, 11)
	b.Run("bgnbd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := FitBGNBD(Compress(bgData)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mbgnbd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := FitMBGNBD(Compress(mbgData)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
