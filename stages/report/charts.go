package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
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

// lineChart draws a 0–100% line over labelled periods.
func lineChart(points []point) template.HTML {
	const h, left, bottom = 240, 56, 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="Customer retention rate by period">`, chartWidth, h)
	plotW, plotH := float64(chartWidth-left-10), float64(h-bottom-10)
	for _, g := range []float64{0, 0.25, 0.5, 0.75, 1} {
		y := 10 + plotH*(1-g)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="small">%s</text>`,
			left, chartWidth-10, y, y, left-6, y+4, pct(g))
	}
	if len(points) == 0 {
		b.WriteString(`<text x="50%" y="50%" text-anchor="middle" class="label">no period with customers at its start yet</text></svg>`)
		return template.HTML(b.String())
	}
	step := plotW / math.Max(float64(len(points)-1), 1)
	var path strings.Builder
	every := max(1, len(points)/8)
	for i, p := range points {
		x, y := float64(left)+step*float64(i), 10+plotH*(1-math.Max(0, math.Min(1, p.Value)))
		if i == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", x, y)
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s: %s</title></circle>`, x, y, blue, esc(p.Label), pct(p.Value))
		if (i%every == 0 && i <= len(points)-1-every/2) || i == len(points)-1 {
			anchor := "middle"
			if i == len(points)-1 {
				anchor = "end"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" class="small">%s</text>`, x, h-10, anchor, esc(p.Label))
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
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="small">%s</text>`, x+slot*0.35, h-bottom+16, esc(labels[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// histogram bins values between their 1st and 99th percentile into 20 bars,
// on a log scale when they span more than two orders of magnitude (customer
// value usually does); values outside fall in the end bars, so one whale does
// not flatten the chart.
func histogram(title string, values []float64) template.HTML {
	if len(values) == 0 {
		return bars(title, []string{"no customers"}, []int64{0})
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	q := func(p float64) float64 { return sorted[int(float64(len(sorted)-1)*p)] }
	lo, hi := q(0.01), q(0.99)
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
	labels := make([]string, n)
	for i := 0; i < n; i += 4 {
		labels[i] = money(unscale(a + (z-a)*float64(i)/n))
	}
	labels[0] = "≤" + money(lo)
	labels[n-1] = "≥" + money(unscale(a+(z-a)*(n-1)/n))
	return bars(title, labels, counts)
}
