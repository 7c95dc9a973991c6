package btyd

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
)

// cdnow reads the published CDNOW summary (x, t_x, T in weeks, zbar).
func cdnow(t testing.TB) (Customers, []float64) {
	f, err := os.Open("../testdata/cdnow_sample/expected/published_summary_weeks.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var c Customers
	var m []float64
	for _, r := range rows[1:] {
		v := make([]float64, 4)
		for i := range v {
			v[i], _ = strconv.ParseFloat(r[i+1], 64)
		}
		c.Frequency, c.Recency, c.T = append(c.Frequency, v[0]), append(c.Recency, v[1]), append(c.T, v[2])
		m = append(m, v[3])
	}
	return c, m
}

func within(t *testing.T, name string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.5g, published %.5g (off by %.2f%%)", name, got, want, 100*math.Abs(got-want)/math.Abs(want))
	}
}

func TestBGNBDPublishedCDNOW(t *testing.T) {
	c, _ := cdnow(t)
	m, fit, err := FitBGNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BG/NBD %+v LL %.2f in %d iterations, %v", m, fit.LogLikelihood, fit.Iterations, fit.Duration)
	within(t, "r", m.R, 0.243, 0.005)
	within(t, "alpha", m.Alpha, 4.414, 0.005)
	within(t, "a", m.A, 0.793, 0.005)
	within(t, "b", m.B, 2.426, 0.005)
	if math.Abs(fit.LogLikelihood-(-9582.4)) > 0.5 {
		t.Errorf("LL = %.2f, published -9582.4", fit.LogLikelihood)
	}
	if fit.Customers != 2357 {
		t.Errorf("customers = %v", fit.Customers)
	}
}

func TestGammaGammaPublishedCDNOW(t *testing.T) {
	c, zbar := cdnow(t)
	s := RepeatBuyers(c.Frequency, zbar)
	if len(s.Frequency) != 946 {
		t.Fatalf("%d repeat buyers, published 946", len(s.Frequency))
	}
	g, fit, err := FitGammaGamma(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Gamma-Gamma %+v LL %.2f in %d iterations; corr(frequency, spend) %.3f", g, fit.LogLikelihood, fit.Iterations, s.Correlation())
	within(t, "p", g.P, 6.25, 0.005)
	within(t, "q", g.Q, 3.74, 0.005)
	within(t, "gamma", g.Gamma, 15.44, 0.005)
	if math.Abs(fit.LogLikelihood-(-4055.9)) > 0.5 {
		t.Errorf("LL = %.2f, published -4055.9", fit.LogLikelihood)
	}
	if r := s.Correlation(); math.Abs(r-0.11) > 0.02 {
		t.Errorf("correlation %.3f, CDNOW's is about 0.11", r)
	}
}

func TestParetoNBDPublishedCDNOW(t *testing.T) {
	c, _ := cdnow(t)
	m, fit, err := FitParetoNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Pareto/NBD %+v LL %.2f in %d iterations (%d evaluations), %v", m, fit.LogLikelihood, fit.Iterations, fit.Evaluations, fit.Duration)
	within(t, "r", m.R, 0.553, 0.005)
	within(t, "alpha", m.Alpha, 10.578, 0.005)
	within(t, "s", m.S, 0.606, 0.005)
	within(t, "beta", m.Beta, 11.669, 0.005)
	if math.Abs(fit.LogLikelihood-(-9595.0)) > 0.5 {
		t.Errorf("LL = %.2f, published -9595.0", fit.LogLikelihood)
	}
}
