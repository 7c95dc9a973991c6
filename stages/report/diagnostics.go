package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/schemas"
)

// diagnostics are what a modeller checks before trusting the predictions:
// the holdout week by week and by frequency bucket, and P(alive) by segment.
type diagnostics struct {
	selected string // purchase model behind the predictions; empty if none
	tracking map[string][]trackPoint
	buckets  map[string][]bucketPoint
	pAlive   map[string][]float64
}

type trackPoint struct {
	days              int64
	predicted, actual float64
}

type bucketPoint struct {
	bucket            string
	predicted, actual float64
}

func (d *diagnostics) add(table string, rec arrow.Record) {
	n := int(rec.NumRows())
	switch table {
	case schemas.ModelFit.Name:
		t := schemas.ModelFit
		model := rec.Column(t.MustIndex("model")).(*array.String)
		role := rec.Column(t.MustIndex("role")).(*array.String)
		sel := rec.Column(t.MustIndex("is_selected")).(*array.Boolean)
		for i := 0; i < n; i++ {
			if role.Value(i) == "purchase" && sel.Value(i) {
				d.selected = model.Value(i)
			}
		}
	case schemas.ModelTracking.Name:
		t := schemas.ModelTracking
		model := rec.Column(t.MustIndex("model")).(*array.String)
		days := rec.Column(t.MustIndex("days")).(*array.Int64)
		pred := rec.Column(t.MustIndex("predicted_repeat_purchases")).(*array.Float64)
		act := rec.Column(t.MustIndex("actual_repeat_purchases")).(*array.Float64)
		for i := 0; i < n; i++ {
			m := model.Value(i)
			d.tracking[m] = append(d.tracking[m], trackPoint{days.Value(i), pred.Value(i), act.Value(i)})
		}
	case schemas.ModelHoldout.Name:
		t := schemas.ModelHoldout
		model := rec.Column(t.MustIndex("model")).(*array.String)
		bucket := rec.Column(t.MustIndex("frequency_bucket")).(*array.String)
		pred := rec.Column(t.MustIndex("predicted_purchases")).(*array.Float64)
		act := rec.Column(t.MustIndex("actual_purchases")).(*array.Float64)
		for i := 0; i < n; i++ {
			if bucket.Value(i) != "all" {
				m := model.Value(i)
				d.buckets[m] = append(d.buckets[m], bucketPoint{bucket.Value(i), pred.Value(i), act.Value(i)})
			}
		}
	}
}

// shown is the model the holdout charts draw: the selected one, or, when
// none was selected, the first in name order, so the page is the same on
// every rerun.
func (d *diagnostics) shown() (string, bool) {
	if _, ok := d.tracking[d.selected]; ok && d.selected != "" {
		return d.selected, true
	}
	var names []string
	for m := range d.tracking {
		names = append(names, m)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "", false
	}
	return names[0], false
}

func modelLabel(m string, selected bool) string {
	if selected {
		return m + " (selected)"
	}
	return m + " (not selected)"
}

func noHoldout() template.HTML {
	return template.HTML(`<p class="note">No holdout this run (clv.holdout_days is 0, or no calibration fit succeeded).</p>`)
}

// trackingChart draws cumulative predicted (line) against actual (dots)
// repeat purchases through the holdout.
func (d *diagnostics) trackingChart() template.HTML {
	m, sel := d.shown()
	pts := d.tracking[m]
	if len(pts) == 0 {
		return noHoldout()
	}
	const h, left, bottom, right = 240, 56, 30, 30
	plotW, plotH := float64(chartWidth-left-right), float64(h-bottom-24)
	top := 1.0
	last := float64(pts[len(pts)-1].days)
	for _, p := range pts {
		top = max(top, p.predicted, p.actual)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="Cumulative repeat purchases in the holdout, %s">`, chartWidth, h, esc(modelLabel(m, sel)))
	fmt.Fprintf(&b, `<text x="%d" y="13" class="small">%s: </text>`, left, esc(modelLabel(m, sel)))
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="12" height="10" fill="%s"/><text x="%d" y="13" class="small">predicted</text>`, left+200, blue, left+216)
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="12" height="10" fill="%s"/><text x="%d" y="13" class="small">actual</text>`, left+300, orange, left+316)
	x := func(days int64) float64 { return float64(left) + plotW*float64(days)/last }
	y := func(v float64) float64 { return 24 + plotH*(1-v/top) }
	for _, g := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="small">%s</text>`,
			left, chartWidth-right, y(g*top), y(g*top), left-6, y(g*top)+4, sigFigures(g*top, 3))
	}
	var pred, act strings.Builder
	fmt.Fprintf(&pred, "M%.1f %.1f", x(0), y(0))
	fmt.Fprintf(&act, "M%.1f %.1f", x(0), y(0))
	for _, p := range pts {
		fmt.Fprintf(&pred, " L%.1f %.1f", x(p.days), y(p.predicted))
		fmt.Fprintf(&act, " L%.1f %.1f", x(p.days), y(p.actual))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>day %d: actual %s, predicted %s</title></circle>`,
			x(p.days), y(p.actual), orange, p.days, sigFigures(p.actual, 4), sigFigures(p.predicted, 4))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="small xtick">%d</text>`, x(p.days), h-10, p.days)
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, pred.String(), blue)
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/></svg>`, act.String(), orange)
	return template.HTML(b.String())
}

// calibrationChart puts predicted and actual holdout purchases side by side
// per calibration-frequency bucket.
func (d *diagnostics) calibrationChart() template.HTML {
	m, sel := d.shown()
	rows := d.buckets[m]
	if len(rows) == 0 {
		return noHoldout()
	}
	const rowH, labelW = 34, 150
	h := len(rows)*rowH + 30
	top := 1e-9
	for _, r := range rows {
		top = max(top, r.predicted, r.actual)
	}
	scale := float64(chartWidth-labelW-70) / top
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="Holdout purchases by calibration frequency, %s">`, chartWidth, h, esc(modelLabel(m, sel)))
	fmt.Fprintf(&b, `<text x="8" y="13" class="small">%s</text>`, esc(modelLabel(m, sel)))
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="12" height="10" fill="%s"/><text x="%d" y="13" class="small">predicted</text>`, labelW, blue, labelW+16)
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="12" height="10" fill="%s"/><text x="%d" y="13" class="small">actual</text>`, labelW+150, orange, labelW+166)
	for i, r := range rows {
		yy := 24 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s repeat days</text>`, labelW-8, yy+17, esc(r.bucket))
		for k, v := range []float64{r.predicted, r.actual} {
			c := blue
			if k == 1 {
				c = orange
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="13" fill="%s"/><text x="%.1f" y="%d" class="small">%s</text>`,
				labelW, yy+2+14*k, v*scale, c, float64(labelW)+v*scale+4, yy+13+14*k, sigFigures(v, 3))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// quantile is the linearly interpolated q-quantile of sorted v.
func quantile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(v)-1)
	return v[lo] + (v[hi]-v[lo])*(pos-float64(lo))
}

// pAliveChart is a box of the interquartile range with the median marked,
// per segment in segment_summary's order, on a 0–1 axis.
func (d *diagnostics) pAliveChart(order []segmentRow) template.HTML {
	var names []string
	for _, r := range order {
		if len(d.pAlive[r.Name]) > 0 {
			names = append(names, r.Name)
		}
	}
	var rest []string
	for n := range d.pAlive {
		if !slices.Contains(names, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	names = append(names, rest...)
	if len(names) == 0 {
		return template.HTML(`<p class="note">No customer has a P(alive): no purchase model was fitted.</p>`)
	}
	const rowH, labelW, right = 26, 150, 30
	h := len(names)*rowH + 30
	plotW := float64(chartWidth - labelW - right)
	x := func(v float64) float64 { return float64(labelW) + plotW*v }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="P(alive) by RFM segment">`, chartWidth, h)
	for _, g := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="4" y2="%d" class="grid"/><text x="%.1f" y="%d" text-anchor="middle" class="small">%s</text>`,
			x(g), x(g), h-20, x(g), h-6, pct(g))
	}
	for i, n := range names {
		v := slices.Clone(d.pAlive[n])
		slices.Sort(v)
		q1, med, q3 := quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)
		yy := 4 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s</text>`, labelW-8, yy+16, esc(n))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s" fill-opacity="0.35" stroke="%s"><title>%s: median %s, quartiles %s–%s (%d customers)</title></rect>`,
			x(q1), yy+3, math.Max(x(q3)-x(q1), 1), blue, blue, esc(n), pct(med), pct(q1), pct(q3), len(v))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>`, x(med), x(med), yy+1, yy+21, orange)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
