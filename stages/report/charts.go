package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Charts are inline SVG with a viewBox, so they scale to the page width and
// need no script or network.

const (
	chartWidth = 640
	blue       = "#2563eb"
	orange     = "#f59e0b"
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// segmentBars shows each segment's share of customers and of revenue side by side.
func segmentBars(rows []segmentRow) template.HTML {
	const rowH, labelW = 34, 150
	h := len(rows)*rowH + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="Customers and revenue by RFM segment">`, chartWidth, h)
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="12" height="10" fill="%s"/><text x="%d" y="13" class="small">share of customers</text>`, labelW, blue, labelW+16)
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="12" height="10" fill="%s"/><text x="%d" y="13" class="small">share of revenue</text>`, labelW+150, orange, labelW+166)
	maxShare := 0.0
	for _, r := range rows {
		maxShare = max(maxShare, r.CustomerShare, r.RevenueShare)
	}
	scale := float64(chartWidth-labelW-70) / math.Max(maxShare, 0.01)
	for i, r := range rows {
		y := 24 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s</text>`, labelW-8, y+17, esc(r.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="13" fill="%s"/><text x="%.1f" y="%d" class="small">%s</text>`,
			labelW, y+2, r.CustomerShare*scale, blue, float64(labelW)+r.CustomerShare*scale+4, y+13, pct(r.CustomerShare))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="13" fill="%s"/><text x="%.1f" y="%d" class="small">%s</text>`,
			labelW, y+16, r.RevenueShare*scale, orange, float64(labelW)+r.RevenueShare*scale+4, y+27, pct(r.RevenueShare))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Trend axis labels are centred under their point; the estimate of their
// width is generous so the thinning below never lets two touch.
const (
	tickFont  = 11   // px, the .small class
	tickEm    = 0.65 // widest digit-and-hyphen advance, in em
	textEm    = 0.55 // average advance of mixed text, in em
	tickGap   = 8
	trendPadR = 30 // room for half of the last, always shown, label
)

func tickWidth(label string, em float64) float64 {
	return float64(utf8.RuneCountInString(label)) * tickFont * em
}

// labelEvery is the smallest stride k such that labels k points apart, each
// labelW wide, leave tickGap between them on an axis whose points are step
// apart.
func labelEvery(step, labelW float64) int {
	if step <= 0 {
		return 1
	}
	return max(1, int(math.Ceil((labelW+tickGap)/step)))
}

// lineChart draws a 0–100% line over labelled periods.
func lineChart(points []point) template.HTML {
	const h, left, bottom = 240, 56, 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="Customer retention rate by period">`, chartWidth, h)
	plotW, plotH := float64(chartWidth-left-trendPadR), float64(h-bottom-10)
	for _, g := range []float64{0, 0.25, 0.5, 0.75, 1} {
		y := 10 + plotH*(1-g)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="small">%s</text>`,
			left, chartWidth-trendPadR, y, y, left-6, y+4, pct(g))
	}
	if len(points) == 0 {
		b.WriteString(`<text x="50%" y="50%" text-anchor="middle" class="label">no period with customers at its start yet</text></svg>`)
		return template.HTML(b.String())
	}
	step := plotW / math.Max(float64(len(points)-1), 1)
	widest := 0.0
	for _, p := range points {
		widest = max(widest, tickWidth(p.Label, tickEm))
	}
	// Counted back from the latest period, which a reader looks for first.
	every := labelEvery(step, widest)
	var path strings.Builder
	for i, p := range points {
		x, y := float64(left)+step*float64(i), 10+plotH*(1-math.Max(0, math.Min(1, p.Value)))
		if i == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", x, y)
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s: %s</title></circle>`, x, y, blue, esc(p.Label), pct(p.Value))
		if (len(points)-1-i)%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="small xtick">%s</text>`, x, h-10, esc(p.Label))
		}
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/></svg>`, path.String(), blue)
	return template.HTML(b.String())
}

// bars is a vertical bar chart of counts.
func bars(title string, labels []string, counts []int64) template.HTML {
	const h, bottom = 220, 44
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartWidth, h, template.HTMLEscapeString(title))
	var top int64 = 1
	for _, c := range counts {
		top = max(top, c)
	}
	slot := float64(chartWidth) / float64(len(counts))
	for i, c := range counts {
		bh := float64(h-bottom-20) * float64(c) / float64(top)
		x := slot*float64(i) + slot*0.15
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, float64(h-bottom)-bh, slot*0.7, bh, blue)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="small">%d</text>`, x+slot*0.35, float64(h-bottom)-bh-4, c)
		// A label wider than the room left by the chart's edge is pinned to it,
		// which would otherwise cut it.
		lx, anchor := x+slot*0.35, "middle"
		if w := tickWidth(labels[i], textEm); lx+w/2 > chartWidth {
			lx, anchor = chartWidth, "end"
		} else if lx-w/2 < 0 {
			lx, anchor = 0, "start"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" class="small">%s</text>`, lx, h-bottom+16, anchor, esc(labels[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// percentile is the nearest-rank percentile of sorted values: the smallest
// value with at least p of them at or below it. Rounding the index down
// instead made the 99th percentile of up to 100 values anything but the
// largest, which then always fell in the overflow bar.
func percentile(sorted []float64, p float64) float64 {
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// histogram bins values between their 1st and 99th percentile into 20 bars,
// on a log scale when they span more than two orders of magnitude (customer
// value usually does); values outside fall in the end bars, so one whale does
// not flatten the chart.
func histogram(title, currency string, values []float64) template.HTML {
	if len(values) == 0 {
		return bars(title, []string{"no customers"}, []int64{0})
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	lo, hi := percentile(sorted, 0.01), percentile(sorted, 0.99)
	if hi <= lo {
		hi = lo + 1
	}
	scale, unscale := func(v float64) float64 { return v }, func(v float64) float64 { return v }
	if lo > 0 && hi/lo > 100 {
		scale, unscale = math.Log, math.Exp
	}
	const n = 20
	a, z := scale(lo), scale(hi)
	counts := make([]int64, n)
	for _, v := range values {
		i := n - 1
		if v < hi {
			i = int((scale(math.Max(v, lo)) - a) / (z - a) * n)
		}
		counts[max(0, min(i, n-1))]++
	}
	edges := map[int]float64{n - 1: unscale(a + (z-a)*(n-1)/n)}
	for i := 0; i < n-1; i += 4 {
		edges[i] = unscale(a + (z-a)*float64(i)/n)
	}
	edges[0] = lo
	return bars(title, binLabels(n, edges, currency), counts)
}

// binLabels formats the labelled bins' lower edges with as many significant
// digits (three at least) as it takes for no two to read the same; the first
// bar also holds everything below its edge and the last everything above.
func binLabels(n int, edges map[int]float64, currency string) []string {
	unit := ""
	if currency != "" {
		unit = " " + currency
	}
	labels := make([]string, n)
	for sig := 3; sig <= 15; sig++ {
		seen := map[string]bool{}
		distinct := true
		for i, v := range edges {
			labels[i] = sigFigures(v, sig)
			distinct = distinct && !seen[labels[i]]
			seen[labels[i]] = true
		}
		if distinct {
			break
		}
	}
	for i := range edges {
		labels[i] += unit
	}
	labels[0] = "≤" + labels[0]
	labels[n-1] = "≥" + labels[n-1]
	return labels
}

// sigFigures formats v rounded to sig significant digits with thousands
// separators: 0.00123, 8.25, 1,230, 25,000.
func sigFigures(v float64, sig int) string {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	e := strconv.FormatFloat(v, 'e', sig-1, 64) // rounds first, so 9.996 has exponent 1
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	r, _ := strconv.ParseFloat(e, 64)
	s := strconv.FormatFloat(math.Abs(r), 'f', max(0, sig-1-exp), 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if r < 0 {
		b.WriteByte('-')
	}
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}
