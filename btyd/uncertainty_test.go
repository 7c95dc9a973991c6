package btyd

import (
	"encoding/csv"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

var fullStudies = flag.Bool("full-studies", false, "run the slow coverage studies at full size")

// published compares a standard error with another implementation's.
func publishedSE(t *testing.T, u Uncertainty, want []float64, relTol float64, source string) {
	t.Helper()
	for i, name := range u.Names {
		t.Logf("%s: %.6g ± %.6g (%s: %.6g), %.0f%% interval [%.5g, %.5g]", name, u.Estimate[i], u.SE[i], source, want[i], 100*u.Level, u.Low[i], u.High[i])
		within(t, "se("+name+")", u.SE[i], want[i], relTol)
	}
}

// TestUncertaintyCDNOW checks the standard errors of the CDNOW fits against
// the two implementations that print them: lifetimes' BG/NBD summary
// (docs/Quickstart.md of CamDavidsonPilon/lifetimes: r 0.012557, alpha
// 0.378221, a 0.185719, b 0.705345) and CLVTools' Pareto/NBD test
// (tests/testthat/test_correctness_pnbd.R of bachmannpatrick/CLVTools: r
// 0.0476264, alpha 0.8427222, s 0.1872594, beta 6.2105448). Both take the
// inverse Hessian in log-parameters and the delta method, as here. Neither
// prints Gamma-Gamma standard errors.
func TestUncertaintyCDNOW(t *testing.T) {
	c, zbar := cdnow(t)
	bg, _, err := FitBGNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	u, err := PurchaseUncertainty(bg, c, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	publishedSE(t, u, []float64{0.012557, 0.378221, 0.185719, 0.705345}, 0.001, "lifetimes")
	for i := range u.Names {
		if !(u.Low[i] < u.Estimate[i] && u.Estimate[i] < u.High[i] && u.Low[i] > 0) {
			t.Errorf("%s interval [%v, %v] around %v", u.Names[i], u.Low[i], u.High[i], u.Estimate[i])
		}
		// On the log scale the interval is symmetric.
		if d := math.Log(u.High[i]/u.Estimate[i]) - math.Log(u.Estimate[i]/u.Low[i]); math.Abs(d) > 1e-12 {
			t.Errorf("%s interval not symmetric in logs (%v)", u.Names[i], d)
		}
	}
	// Compressed or raw rows are the same customers.
	if uc, err := PurchaseUncertainty(bg, Compress(c), 0.95); err != nil || !slices.EqualFunc(uc.SE, u.SE, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*b }) {
		t.Errorf("compressed customers: %v, %v vs %v", err, uc.SE, u.SE)
	}

	pn, _, err := FitParetoNBD(Compress(c))
	if err != nil {
		t.Fatal(err)
	}
	if u, err = PurchaseUncertainty(pn, c, 0.95); err != nil {
		t.Fatal(err)
	}
	publishedSE(t, u, []float64{0.0476264, 0.8427222, 0.1872594, 6.2105448}, 0.002, "CLVTools")

	s := RepeatBuyers(c.Frequency, zbar)
	gg, _, err := FitGammaGamma(s)
	if err != nil {
		t.Fatal(err)
	}
	if u, err = SpendUncertainty(gg, s, 0.95); err != nil {
		t.Fatal(err)
	}
	for i, name := range u.Names {
		t.Logf("%s: %.6g ± %.6g, 95%% interval [%.5g, %.5g]", name, u.Estimate[i], u.SE[i], u.Low[i], u.High[i])
	}
	// The central-difference Hessian of the analytic gradient agrees with
	// second differences of the likelihood.
	l, _ := gg.Likelihood(s)
	l.Gradient = false
	u2, err := l.Uncertainty(0.95)
	if err != nil {
		t.Fatal(err)
	}
	for i := range u.SE {
		within(t, "gamma_gamma se from second differences "+u.Names[i], u2.SE[i], u.SE[i], 1e-4)
	}
}

func TestUncertaintyErrors(t *testing.T) {
	// Without repeat purchases the data say nothing about dropout (a, b):
	// the BG/NBD likelihood is flat along them.
	c := Customers{Frequency: []float64{0, 0, 0, 0}, Recency: []float64{0, 0, 0, 0}, T: []float64{10, 20, 30, 40}}
	_, err := PurchaseUncertainty(BGNBD{R: 0.3, Alpha: 5, A: 0.8, B: 2.4}, c, 0.9)
	if !errors.Is(err, ErrFlatLikelihood) {
		t.Errorf("flat likelihood: err = %v", err)
	} else {
		t.Log(err)
	}
	cd, _ := cdnow(t)
	for _, level := range []float64{0, 1, -0.5, math.NaN()} {
		if _, err := PurchaseUncertainty(BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}, cd, level); !errors.Is(err, ErrBadInput) {
			t.Errorf("level %v: err = %v", level, err)
		}
	}
	if _, err := PurchaseUncertainty(BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}, Customers{}, 0.9); !errors.Is(err, ErrNoData) {
		t.Errorf("no customers: err = %v", err)
	}
	if _, err := SpendUncertainty(GammaGamma{P: 6, Q: 4, Gamma: 15}, Spend{Frequency: []float64{1}, Monetary: []float64{-3}}, 0.9); !errors.Is(err, ErrBadInput) {
		t.Errorf("negative spend: err = %v", err)
	}
}

// coverageCount counts, per parameter, the shops whose interval holds the truth.
type coverageCount struct {
	names []string
	hits  []int
	shops int
}

// skipStudy skips a coverage study with -short, and under the race
// detector: the studies are arithmetic over a parallel loop the interval
// tests exercise anyway, and would take minutes.
func skipStudy(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("statistical study; run without -short and -race")
	}
}

func (cv *coverageCount) add(u Uncertainty, truth []float64) {
	if cv.hits == nil {
		cv.names, cv.hits = u.Names, make([]int, len(truth))
	}
	cv.shops++
	for i, v := range truth {
		if u.Low[i] <= v && v <= u.High[i] {
			cv.hits[i]++
		}
	}
}

// check asserts each parameter's coverage lies in [lo, hi].
func (cv *coverageCount) check(t *testing.T, model string, lo, hi float64) {
	t.Helper()
	for i, name := range cv.names {
		share := float64(cv.hits[i]) / float64(cv.shops)
		t.Logf("%s %s: 90%% interval holds the truth in %d of %d shops (%.1f%%)", model, name, cv.hits[i], cv.shops, 100*share)
		if share < lo || share > hi {
			t.Errorf("%s %s coverage %.1f%% outside [%.0f%%, %.0f%%]", model, name, 100*share, 100*lo, 100*hi)
		}
	}
}

// TestCoverageBGNBD fits 200 simulated shops of 5,000 customers (known
// BG/NBD parameters, up to two years of daily tenure) and checks that each
// parameter's 90% interval holds the true value in 85–95% of them (a 90%
// binomial over 200 shops has a standard deviation of 2.1 points).
func TestCoverageBGNBD(t *testing.T) {
	skipStudy(t)
	truth := BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5}
	purchaseStudy(t, "bgnbd", 200, []float64{truth.R, truth.Alpha, truth.A, truth.B}, 0.85, 0.95, func(i int) (Estimable, Customers, error) {
		c, _ := simulateBGNBD(truth, 5000, 730, uint64(1000+i))
		m, _, err := FitBGNBD(Compress(c))
		return m, c, err
	})
}

// purchaseStudy fits shops simulated shops (shop i from simulate(i)) and
// checks each parameter's 90% interval holds its truth in a share of them
// within [lo, hi].
func purchaseStudy(t *testing.T, model string, shops int, truth []float64, lo, hi float64, simulate func(i int) (Estimable, Customers, error)) {
	t.Helper()
	us := make([]Uncertainty, shops)
	errs := make([]error, shops)
	parallel(shops, func(i int) {
		m, c, err := simulate(i)
		if err == nil {
			us[i], err = PurchaseUncertainty(m, c, 0.9)
		}
		errs[i] = err
	})
	var cv coverageCount
	for i := range shops {
		if errs[i] != nil {
			t.Fatalf("shop %d: %v", i, errs[i])
		}
		cv.add(us[i], truth)
	}
	cv.check(t, model, lo, hi)
}

// TestCoverageMBGNBD is the same study for the modified BG/NBD, at the
// parameters its recovery test simulates.
func TestCoverageMBGNBD(t *testing.T) {
	skipStudy(t)
	truth := MBGNBD{R: 0.8, Alpha: 25, A: 0.8, B: 2.5}
	purchaseStudy(t, "mbgnbd", 200, []float64{truth.R, truth.Alpha, truth.A, truth.B}, 0.85, 0.95, func(i int) (Estimable, Customers, error) {
		c := simulateMBGNBD(truth, 5000, 730, uint64(2000+i))
		m, _, err := FitMBGNBD(Compress(c))
		return m, c, err
	})
}

// TestCoverageGammaGamma is the same study for the spend model, which is
// cheap to simulate and fit: 300 shops of 2,500 repeat buyers (frequencies
// geometric from 1, mean 3.5), so the 85–95% band is ±2.9 standard
// deviations of the binomial (at 200 shops, ±2.4, one parameter in seven
// falls outside by chance about once in eight studies).
func TestCoverageGammaGamma(t *testing.T) {
	skipStudy(t)
	truth := GammaGamma{P: 6, Q: 4, Gamma: 15}
	const shops, buyers = 300, 2500
	us := make([]Uncertainty, shops)
	errs := make([]error, shops)
	parallel(shops, func(i int) {
		rng := rand.New(rand.NewPCG(uint64(3000+i), 7))
		freq := make([]float64, buyers)
		for j := range freq {
			freq[j] = 1 + math.Floor(rng.ExpFloat64()*3)
		}
		s := Spend{Frequency: freq, Monetary: simulateSpend(truth, freq, rng)}
		g, _, err := FitGammaGamma(s)
		if err == nil {
			us[i], err = SpendUncertainty(g, s, 0.9)
		}
		errs[i] = err
	})
	var cv coverageCount
	for i := range shops {
		if errs[i] != nil {
			t.Fatalf("shop %d: %v", i, errs[i])
		}
		cv.add(us[i], []float64{truth.P, truth.Q, truth.Gamma})
	}
	cv.check(t, "gamma_gamma", 0.85, 0.95)
}

// simulateParetoNBDCustomers draws customers from the Pareto/NBD story: a purchase
// at time 0, then purchases at rate λ ~ Gamma(r, α) over an exponential
// lifetime of rate μ ~ Gamma(s, β), observed until T (whole days).
func simulateParetoNBDCustomers(m ParetoNBD, n int, maxT float64, seed uint64) Customers {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	lambda := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: rng}
	mu := distuv.Gamma{Alpha: m.S, Beta: m.Beta, Src: rng}
	var c Customers
	for i := 0; i < n; i++ {
		T := math.Ceil(rng.Float64() * maxT)
		l, end := lambda.Rand(), math.Min(T, rng.ExpFloat64()/mu.Rand())
		var x, last, t float64
		for {
			t += rng.ExpFloat64() / l
			if t > end {
				break
			}
			x, last = x+1, t
		}
		c.Frequency = append(c.Frequency, x)
		c.Recency = append(c.Recency, math.Floor(last))
		c.T = append(c.T, T)
	}
	return c
}

// TestCoverageParetoNBD is the coverage study for Pareto/NBD, whose fit
// (Nelder-Mead through ₂F₁) takes about a second per 5,000-customer shop:
// by default 6 shops, each parameter's interval required to hold the truth
// in at least 4 (a 90% coverage does so 98% of the time), which catches a
// grossly wrong information matrix; with -full-studies, 200 shops against 85–95%.
// Smaller shops will not do: at 2,000 customers the intervals for s and β
// undercover (the likelihood is far from quadratic in them).
func TestCoverageParetoNBD(t *testing.T) {
	skipStudy(t)
	truth := ParetoNBD{R: 0.55, Alpha: 74, S: 0.61, Beta: 82}
	shops, lo, hi := 6, 4.0/6, 1.0
	if *fullStudies {
		shops, lo, hi = 200, 0.85, 0.95
	}
	purchaseStudy(t, "pareto_nbd", shops, []float64{truth.R, truth.Alpha, truth.S, truth.Beta}, lo, hi, func(i int) (Estimable, Customers, error) {
		c := simulateParetoNBDCustomers(truth, 5000, 730, uint64(5000+i))
		m, _, err := FitParetoNBD(Compress(c))
		return m, c, err
	})
}

// cdnowFromOrders builds the BTYD inputs in weeks from a CDNOW orders file
// (customer, order number, YYYYMMDD date, CDs, dollars) for the calibration
// ending 1997-09-30, as the published summary is built: orders of one day
// summed, frequency the days with orders after the first, recency and T
// from the first day, monetary the mean spend of the repeat days.
func cdnowFromOrders(t *testing.T, path string) (Customers, []float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	type customer struct {
		days  []time.Time
		spend []float64
	}
	var ids []string
	byID := map[string]*customer{}
	for _, r := range rows[1:] {
		day, err := time.Parse("20060102", r[2])
		if err != nil {
			t.Fatal(err)
		}
		dollars, err := strconv.ParseFloat(r[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		c := byID[r[0]]
		if c == nil {
			c = &customer{}
			byID[r[0]] = c
			ids = append(ids, r[0])
		}
		if day.After(end) {
			continue
		}
		if i := slices.IndexFunc(c.days, day.Equal); i >= 0 {
			c.spend[i] += dollars
		} else {
			c.days, c.spend = append(c.days, day), append(c.spend, dollars)
		}
	}
	weeks := func(d time.Duration) float64 { return d.Hours() / 24 / 7 }
	var out Customers
	var monetary []float64
	for _, id := range ids {
		c := byID[id]
		first, last, repeat := c.days[0], c.days[0], 0.0
		for i, d := range c.days {
			if d.Before(first) {
				first = d
			}
			if d.After(last) {
				last = d
			}
			repeat += c.spend[i]
		}
		x := float64(len(c.days) - 1)
		m := 0.0
		if x > 0 {
			m = (repeat - c.spend[slices.IndexFunc(c.days, first.Equal)]) / x
		}
		out.Frequency = append(out.Frequency, x)
		out.Recency = append(out.Recency, weeks(last.Sub(first)))
		out.T = append(out.T, weeks(end.Sub(first)))
		monetary = append(monetary, m)
	}
	return out, monetary
}

// TestUncertaintyCDNOWMasterVsSample: the master file holds the whole
// cohort the published 10% sample was drawn from, so its standard errors
// should be about √10 ≈ 3.16 times smaller. For every parameter, the ratio
// of the sample's to the master's interval width on the log scale (= the
// ratio of se(ln θ)) must lie in [2.5, 4.5]. Pareto/NBD's fit on the
// master (8,685 distinct histories, Nelder-Mead) takes seconds and runs
// with -full-studies only.
func TestUncertaintyCDNOWMasterVsSample(t *testing.T) {
	sample, sampleSpend := cdnow(t)
	// The builder reproduces the published summary from the sample's
	// orders, to its two decimals.
	built, builtSpend := cdnowFromOrders(t, "../testdata/cdnow_sample/input/orders.csv")
	if built.Len() != sample.Len() {
		t.Fatalf("%d customers built, %d published", built.Len(), sample.Len())
	}
	for i := range sample.Len() {
		for _, v := range [][2]float64{{built.Frequency[i], sample.Frequency[i]}, {built.Recency[i], sample.Recency[i]}, {built.T[i], sample.T[i]}, {builtSpend[i], sampleSpend[i]}} {
			if math.Abs(v[0]-v[1]) > 0.005+1e-9 {
				t.Fatalf("customer %d: built %v, published %v", i+1, v[0], v[1])
			}
		}
	}
	master, masterSpend := cdnowFromOrders(t, "../testdata/cdnow_master/input/orders.csv")
	t.Logf("master: %d customers, %d distinct histories", master.Len(), Compress(master).Len())

	type fitted struct {
		name           string
		sample, master Uncertainty
	}
	var fits []fitted
	purchase := func(name string, fit func(Customers) (Estimable, error)) {
		var f fitted
		f.name = name
		for _, d := range []struct {
			c   Customers
			dst *Uncertainty
		}{{sample, &f.sample}, {master, &f.master}} {
			m, err := fit(Compress(d.c))
			if err != nil {
				t.Fatal(err)
			}
			if *d.dst, err = PurchaseUncertainty(m, d.c, 0.9); err != nil {
				t.Fatal(err)
			}
		}
		fits = append(fits, f)
	}
	purchase("bgnbd", func(c Customers) (Estimable, error) { m, _, err := FitBGNBD(c); return m, err })
	if *fullStudies {
		purchase("pareto_nbd", func(c Customers) (Estimable, error) { m, _, err := FitParetoNBD(c); return m, err })
	}
	f := fitted{name: "gamma_gamma"}
	for _, d := range []struct {
		c        Customers
		monetary []float64
		dst      *Uncertainty
	}{{sample, sampleSpend, &f.sample}, {master, masterSpend, &f.master}} {
		s := RepeatBuyers(d.c.Frequency, d.monetary)
		g, _, err := FitGammaGamma(s)
		if err != nil {
			t.Fatal(err)
		}
		if *d.dst, err = SpendUncertainty(g, s, 0.9); err != nil {
			t.Fatal(err)
		}
	}
	fits = append(fits, f)

	for _, f := range fits {
		for i, name := range f.sample.Names {
			width := func(u Uncertainty) float64 { return math.Log(u.High[i] / u.Low[i]) }
			ratio := width(f.sample) / width(f.master)
			t.Logf("%s %s: sample %.4g ± %.3g, master %.4g ± %.3g; 90%% interval width ratio (log scale) %.2f, se ratio %.2f",
				f.name, name, f.sample.Estimate[i], f.sample.SE[i], f.master.Estimate[i], f.master.SE[i], ratio, f.sample.SE[i]/f.master.SE[i])
			if ratio < 2.5 || ratio > 4.5 {
				t.Errorf("%s %s: width ratio %.2f outside [2.5, 4.5]", f.name, name, ratio)
			}
		}
	}
}
