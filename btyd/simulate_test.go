package btyd

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// simulateBGNBD draws customers from the BG/NBD story: a purchase at time 0,
// then purchases at rate λ ~ Gamma(r, α) until T, dropping out with
// probability p ~ Beta(a, b) after each repeat purchase.
func simulateBGNBD(m BGNBD, n int, maxT float64, seed uint64) (Customers, *rand.Rand) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	lambda := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: rng}
	drop := distuv.Beta{Alpha: m.A, Beta: m.B, Src: rng}
	var c Customers
	for i := 0; i < n; i++ {
		T := math.Ceil(rng.Float64() * maxT)
		l, p := lambda.Rand(), drop.Rand()
		var x, last, t float64
		for {
			t += rng.ExpFloat64() / l
			if t > T {
				break
			}
			x, last = x+1, t
			if rng.Float64() < p {
				break
			}
		}
		// Whole days, as the nightly job measures them.
		c.Frequency = append(c.Frequency, x)
		c.Recency = append(c.Recency, math.Floor(last))
		c.T = append(c.T, T)
	}
	return c, rng
}

// simulateSpend draws each customer's mean spend over x purchases from the
// Gamma-Gamma story: ν ~ Gamma(q, γ), each spend ~ Gamma(p, ν).
func simulateSpend(g GammaGamma, freq []float64, rng *rand.Rand) []float64 {
	nu := distuv.Gamma{Alpha: g.Q, Beta: g.Gamma, Src: rng}
	m := make([]float64, len(freq))
	for i, x := range freq {
		if x == 0 {
			continue
		}
		// The mean of x Gamma(p, ν) spends is Gamma(p·x, ν·x).
		m[i] = distuv.Gamma{Alpha: g.P * x, Beta: nu.Rand() * x, Src: rng}.Rand()
	}
	return m
}

func TestParameterRecovery(t *testing.T) {
	truth := BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}
	c, rng := simulateBGNBD(truth, 60_000, 730, 7)
	m, fit, err := FitBGNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recovered %+v in %d iterations", m, fit.Iterations)
	// 60k customers pin the rate parameters to a few percent; the dropout
	// Beta is identified more loosely (it shows only through repeat buyers).
	within(t, "r", m.R, truth.R, 0.08)
	within(t, "alpha", m.Alpha, truth.Alpha, 0.10)
	within(t, "a", m.A, truth.A, 0.15)
	within(t, "b", m.B, truth.B, 0.20)

	gTruth := GammaGamma{P: 6, Q: 4, Gamma: 15}
	s := RepeatBuyers(c.Frequency, simulateSpend(gTruth, c.Frequency, rng))
	g, _, err := FitGammaGamma(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recovered %+v from %d repeat buyers", g, len(s.Frequency))
	within(t, "p", g.P, gTruth.P, 0.10)
	within(t, "q", g.Q, gTruth.Q, 0.10)
	within(t, "gamma", g.Gamma, gTruth.Gamma, 0.12)
}
