package report

import (
	"slices"
	"strings"
	"testing"
)

func TestLabelEvery(t *testing.T) {
	// "2026-04" is 7 × 11 × 0.65 = 50.05 wide, 58.05 with the gap.
	w := tickWidth("2026-04", tickEm)
	for _, c := range []struct {
		step float64
		want int
	}{
		{100, 1},  // one label per point fits
		{58.1, 1}, // just fits
		{58, 2},
		{554.0 / 39, 5}, // 40 months on the trend's 554-wide plot: 14.2 apart
		{554.0 / 11, 2}, // a year of months: 50.4 apart
		{0, 1},          // a single point
	} {
		if got := labelEvery(c.step, w); got != c.want {
			t.Errorf("labelEvery(%v, %v) = %d, want %d", c.step, w, got, c.want)
		}
	}
}

// TestTrendLabelsApart checks the drawn labels of a long trend: the latest
// period is labelled and neighbours are at least a label and a gap apart.
func TestTrendLabelsApart(t *testing.T) {
	var points []point
	for m := 0; m < 40; m++ {
		points = append(points, point{Label: "2026-04", Value: 0.5})
	}
	svg := string(lineChart(points))
	n := strings.Count(svg, `class="small xtick"`)
	// Every 5th of 40 counted back from the last: indices 39, 34, …, 4.
	if n != 8 {
		t.Errorf("%d axis labels, want 8", n)
	}
	if !strings.Contains(svg, `<text x="610.0" y="230" text-anchor="middle" class="small xtick">`) {
		t.Error("latest period not labelled at the plot's right edge")
	}
}

func TestPercentile(t *testing.T) {
	two := []float64{8.25, 1234.5}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	thousand := make([]float64, 1000)
	for i := range thousand {
		thousand[i] = float64(i + 1)
	}
	for _, c := range []struct {
		values []float64
		p      float64
		want   float64
	}{
		{two, 0.01, 8.25},
		{two, 0.99, 1234.5}, // was 8.25: index int(1 × 0.99) = 0
		{[]float64{7}, 0.99, 7},
		{hundred, 0.01, 1},
		{hundred, 0.99, 99}, // ceil(99) − 1 = 98
		{hundred, 1, 100},
		{thousand, 0.99, 990}, // ceil(990) − 1 = 989
		{thousand, 0.01, 10},
		{thousand, 0, 1},
	} {
		if got := percentile(c.values, c.p); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.values), c.p, got, c.want)
		}
	}
}

// TestHistogramTopBinHoldsMaximum is the small shop's two predictions: the
// bins span 8.25 to 1234.5 (log-scaled, 149.6×), 8.25 in the first bar and
// 1234.5 in the last.
func TestHistogramTopBinHoldsMaximum(t *testing.T) {
	svg := string(histogram("h", "EUR", []float64{1234.5, 8.25}))
	for _, want := range []string{
		`text-anchor="start" class="small">≤8.25 EUR</text>`,
		`class="small">22.5 EUR</text>`, // 8.25 × 149.6^0.2
		`class="small">453 EUR</text>`,  // 8.25 × 149.6^0.8
		`text-anchor="end" class="small">≥961 EUR</text>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("histogram lacks %q", want)
		}
	}
	// Two bars of one customer each, the first and the last; each count sits
	// above its bar.
	if got := strings.Count(svg, `class="small">1</text>`); got != 2 {
		t.Errorf("%d bars of one customer, want 2", got)
	}
	first, last := strings.Index(svg, `class="small">1</text>`), strings.LastIndex(svg, `class="small">1</text>`)
	if !strings.Contains(svg[:first], `x="4.8"`) || !strings.Contains(svg[last-120:last], `x="612.8"`) {
		t.Errorf("ones not in the first and last bars:\n%s", svg)
	}
}

func TestSigFigures(t *testing.T) {
	for _, c := range []struct {
		v    float64
		sig  int
		want string
	}{
		{8.25, 3, "8.25"},
		{1234.5, 3, "1,230"},
		{1234.5, 5, "1,234.5"},
		{25000, 3, "25,000"},
		{1234567, 3, "1,230,000"},
		{0.0012345, 3, "0.00123"},
		{0.004, 3, "0.00400"},
		{9.996, 3, "10.0"},
		{999.6, 3, "1,000"},
		{-376.544, 3, "-377"},
		{-0.05, 3, "-0.0500"},
		{0, 3, "0"},
	} {
		if got := sigFigures(c.v, c.sig); got != c.want {
			t.Errorf("sigFigures(%v, %d) = %q, want %q", c.v, c.sig, got, c.want)
		}
	}
}

func TestBinLabels(t *testing.T) {
	// Small values that read 0.00 at two decimals.
	got := binLabels(6, map[int]float64{0: 0.001, 2: 0.0012, 4: 0.0014, 5: 0.0015}, "USD")
	want := []string{"≤0.00100 USD", "", "0.00120 USD", "", "0.00140 USD", "≥0.00150 USD"}
	if !slices.Equal(got, want) {
		t.Errorf("small: %q, want %q", got, want)
	}
	// Edges equal to three digits take a fourth, for every label alike.
	got = binLabels(3, map[int]float64{0: 1000, 1: 1001, 2: 1002.4}, "")
	want = []string{"≤1,000", "1,001", "≥1,002"}
	if !slices.Equal(got, want) {
		t.Errorf("close: %q, want %q", got, want)
	}
}
