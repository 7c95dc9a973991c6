// Package report is the stage that writes report.html next to the run's
// tables: a self-contained page (inline CSS and SVG, no network) with the
// cohort heatmap, RFM segments, the retention trend, the CLV distribution
// and win-back stage counts.
package report

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/actions/actionsconfig"
	"retain/stages/clv/clvconfig"
	"retain/stages/internal/localday"
	"retain/stages/kpis/kpisconfig"
	"retain/stages/segments/segmentsconfig"
)

//go:embed report.html.tmpl
var pageTemplate string

// Register adds the report stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:      "report",
		Doc:       "Writes report.html (cohort heatmap, segments, retention trend, CLV distribution, win-back stages, model diagnostics) next to the tables.",
		Artifacts: []string{schemas.ReportDir},
		Inputs: []string{schemas.SegmentSummary.Name, schemas.CohortRetention.Name, schemas.RetentionKPIs.Name,
			schemas.CustomerSegments.Name, schemas.ModelFit.Name, schemas.ModelHoldout.Name, schemas.ModelTracking.Name,
			schemas.CustomerPeriods.Name, schemas.SegmentTransitions.Name, schemas.PeriodDayPrediction.Name},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			tmpl, err := template.New("report").Funcs(template.FuncMap{"pct": pct, "money": money}).Parse(pageTemplate)
			if err != nil {
				return nil, err
			}
			s := &stage{rc: rc, tmpl: tmpl, cohorts: map[int32][]float64{}, sizes: map[int32]int64{},
				firstUS: math.MaxInt64, lastUS: math.MinInt64, runDay: localday.RunDate(rc),
				diag: diagnostics{tracking: map[string][]trackPoint{}, buckets: map[string][]bucketPoint{}, pAlive: map[string][]float64{}}}
			if s.chg, err = changesConfig(s); err != nil {
				return nil, err
			}
			return s, nil
		},
	}, night.InputSection, actionsconfig.Section, clvconfig.Section, kpisconfig.Section, segmentsconfig.Section)
}

type segmentRow struct {
	Name                        string
	Customers                   int64
	Revenue                     float64
	CustomerShare, RevenueShare float64
}

type stage struct {
	engine.BaseStage
	rc        *night.Context
	tmpl      *template.Template
	segments  []segmentRow
	cohorts   map[int32][]float64 // retention by offset
	sizes     map[int32]int64
	trend     []point
	clv       []float64
	predicted []float64
	winback   [5]int64
	// orders, revenue and the first and last order time (UTC microseconds)
	// over every customer: what the page says it was computed from.
	orders, firstUS, lastUS int64
	revenue                 float64
	diag                    diagnostics
	runDay                  int32
	chg                     *changes
}

type point struct {
	Label string
	Value float64
}

// winbackStages are customer_segments' winback_stage values in chart order.
var winbackStages = []string{"active", "winback_1", "winback_2", "winback_3", "lapsed"}

// winbackLabels names the stages with the job's own thresholds, so the chart
// counts exactly the customers the win-back lists hold.
func winbackLabels(days []int) []string {
	return []string{
		fmt.Sprintf("active (< %d days)", days[0]),
		fmt.Sprintf("win-back 1 (%d–%d)", days[0], days[1]-1),
		fmt.Sprintf("win-back 2 (%d–%d)", days[1], days[2]-1),
		fmt.Sprintf("win-back 3 (%d–%d)", days[2], days[3]-1),
		fmt.Sprintf("lapsed (%d+)", days[3]),
	}
}

func (s *stage) Process(_ context.Context, table string, rec arrow.Record, _ engine.Emitter) error {
	n := int(rec.NumRows())
	switch table {
	case schemas.SegmentSummary.Name:
		t := schemas.SegmentSummary
		dim := rec.Column(t.MustIndex("dimension")).(*array.String)
		seg := rec.Column(t.MustIndex("rfm_segment")).(*array.String)
		cust := rec.Column(t.MustIndex("customers")).(*array.Int64)
		rev := rec.Column(t.MustIndex("revenue")).(*array.Float64)
		cs := rec.Column(t.MustIndex("customer_share")).(*array.Float64)
		rs := rec.Column(t.MustIndex("revenue_share")).(*array.Float64)
		for i := 0; i < n; i++ {
			if dim.Value(i) == "total" {
				s.segments = append(s.segments, segmentRow{seg.Value(i), cust.Value(i), rev.Value(i), cs.Value(i), rs.Value(i)})
			}
		}
	case schemas.CohortRetention.Name:
		t := schemas.CohortRetention
		cohort := rec.Column(t.MustIndex("cohort_period")).(*array.Date32)
		off := rec.Column(t.MustIndex("period_offset")).(*array.Int64)
		size := rec.Column(t.MustIndex("cohort_size")).(*array.Int64)
		rate := rec.Column(t.MustIndex("retention_rate")).(*array.Float64)
		for i := 0; i < n; i++ {
			c := int32(cohort.Value(i))
			for int64(len(s.cohorts[c])) <= off.Value(i) {
				s.cohorts[c] = append(s.cohorts[c], 0)
			}
			s.cohorts[c][off.Value(i)] = rate.Value(i)
			s.sizes[c] = size.Value(i)
		}
	case schemas.RetentionKPIs.Name:
		t := schemas.RetentionKPIs
		dim := rec.Column(t.MustIndex("dimension")).(*array.String)
		start := rec.Column(t.MustIndex("period_start")).(*array.Date32)
		rate := rec.Column(t.MustIndex("retention_rate")).(*array.Float64)
		for i := 0; i < n; i++ {
			if dim.Value(i) == "total" && rate.IsValid(i) {
				s.trend = append(s.trend, point{calendar.Date(int32(start.Value(i))).Format("2006-01"), rate.Value(i)})
			}
		}
	case schemas.CustomerPeriods.Name:
		return s.chg.walk.Add(rec)
	case schemas.SegmentTransitions.Name:
		s.chg.addTransitions(rec)
	case schemas.PeriodDayPrediction.Name:
		return s.chg.addPeriodPrediction(rec)
	case schemas.ModelFit.Name, schemas.ModelHoldout.Name, schemas.ModelTracking.Name:
		s.diag.add(table, rec)
	case schemas.CustomerSegments.Name:
		s.chg.addSegments(rec)
		t := schemas.CustomerSegments
		seg := rec.Column(t.MustIndex("rfm_segment")).(*array.String)
		alive := rec.Column(t.MustIndex("p_alive")).(*array.Float64)
		for i := 0; i < n; i++ {
			if alive.IsValid(i) {
				s.diag.pAlive[seg.Value(i)] = append(s.diag.pAlive[seg.Value(i)], alive.Value(i))
			}
		}
		clv := rec.Column(t.MustIndex("historical_clv")).(*array.Float64).Float64Values()
		s.clv = append(s.clv, clv...)
		predicted := rec.Column(t.MustIndex("predicted_clv")).(*array.Float64)
		stage := rec.Column(t.MustIndex("winback_stage")).(*array.String)
		orders := rec.Column(t.MustIndex("order_count")).(*array.Int64)
		revenue := rec.Column(t.MustIndex("total_revenue")).(*array.Float64)
		first := rec.Column(t.MustIndex("first_order_at")).(*array.Timestamp)
		last := rec.Column(t.MustIndex("last_order_at")).(*array.Timestamp)
		for i := 0; i < n; i++ {
			s.orders += orders.Value(i)
			s.revenue += revenue.Value(i)
			s.firstUS = min(s.firstUS, int64(first.Value(i)))
			s.lastUS = max(s.lastUS, int64(last.Value(i)))
			if predicted.IsValid(i) {
				s.predicted = append(s.predicted, predicted.Value(i))
			}
			if k := slices.Index(winbackStages, stage.Value(i)); k >= 0 {
				s.winback[k]++
			}
		}
	}
	return nil
}

// page is what the template renders. It names the run date and the data,
// never the run id or the clock, so a rerun of a date writes the same page.
type page struct {
	Job, RunDate             string
	Customers                int
	Orders                   int64
	Revenue                  float64
	Currency                 string
	FirstOrder, LastOrder    string // local dates; empty without customers
	Segments                 []segmentRow
	SegmentChart, TrendChart template.HTML
	CLVChart, WinbackChart   template.HTML
	CLVNote                  string
	Heatmap                  heatmap
	// Model diagnostics: the holdout week by week and by frequency bucket,
	// and P(alive) by segment.
	TrackingChart, CalibrationChart, PAliveChart template.HTML
	// Changes since the previous night and the previous period.
	Tiles                    []tile
	Transitions              transitionMatrix
	PreviousNight, PeriodDay string
	Period                   string
	// ChangeTracking is segments.change_tracking: off, the tiles show
	// tonight alone.
	ChangeTracking bool
}

func (s *stage) Finish(_ context.Context, out engine.Emitter) error {
	if err := s.chg.walk.Flush(); err != nil {
		return err
	}
	// The currency of the tables: the job's, or the one the orders carry.
	currency := s.rc.Currency().Code
	p := page{
		Job: s.rc.Job.Name, RunDate: s.rc.RunDateString(), Customers: len(s.clv), Segments: s.segments,
		Orders: s.orders, Revenue: s.revenue, Currency: currency,
		SegmentChart: segmentBars(s.segments),
		TrendChart:   lineChart(s.trend),
		CLVChart:     histogram("Customers by historical CLV", currency, s.clv),
		CLVNote:      "Historical CLV per customer (revenue to date − CAC); log-scaled bins when values span orders of magnitude.",
		WinbackChart: bars("Customers by win-back stage", winbackLabels(actionsconfig.Of(s.rc.Job).WinbackDays), s.winback[:]),
		Heatmap:      s.heatmap(24),

		TrackingChart:    s.diag.trackingChart(),
		CalibrationChart: s.diag.calibrationChart(),
		PAliveChart:      s.diag.pAliveChart(s.segments),

		Tiles:         s.chg.tiles(currency, clvconfig.Of(s.rc.Job).HorizonMonths),
		Transitions:   s.chg.matrix(s.segments),
		PreviousNight: calendar.Date(s.chg.nights[previousNight].day).Format(time.DateOnly),
		PeriodDay:     calendar.Date(s.chg.nights[previousPeriod].day).Format(time.DateOnly),
		Period:        kpisconfig.Section.Of(s.rc.Job).Period,

		ChangeTracking: segmentsconfig.Of(s.rc.Job).ChangeTracking,
	}
	if p.Customers > 0 {
		loc := s.rc.Job.Location()
		p.FirstOrder = time.UnixMicro(s.firstUS).In(loc).Format(time.DateOnly)
		p.LastOrder = time.UnixMicro(s.lastUS).In(loc).Format(time.DateOnly)
	}
	// Predicted value is what a marketer budgets with; history is the
	// fallback when no model could be fitted.
	if len(s.predicted) > 0 {
		p.CLVChart = histogram("Customers by predicted CLV", currency, s.predicted)
		p.CLVNote = fmt.Sprintf("Predicted CLV per customer: discounted value of the next %d months (%d of %d customers have a prediction); log-scaled bins when values span orders of magnitude.",
			clvconfig.Of(s.rc.Job).HorizonMonths, len(s.predicted), len(s.clv))
	}
	var buf bytes.Buffer
	if err := s.tmpl.Execute(&buf, p); err != nil {
		return err
	}
	f, err := out.Create(schemas.ReportDir, schemas.ReportFile)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type heatmap struct {
	Offsets []int
	Rows    []heatRow
}

type heatRow struct {
	Cohort string
	Size   int64
	Cells  []heatCell
}

type heatCell struct {
	Text  string
	Style template.CSS
}

// heatmap keeps the latest cohorts so the table stays readable.
func (s *stage) heatmap(latest int) heatmap {
	keys := make([]int32, 0, len(s.cohorts))
	for k := range s.cohorts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > latest {
		keys = keys[len(keys)-latest:]
	}
	var h heatmap
	width := 0
	for _, k := range keys {
		width = max(width, len(s.cohorts[k]))
	}
	for o := 0; o < width; o++ {
		h.Offsets = append(h.Offsets, o)
	}
	for _, k := range keys {
		row := heatRow{Cohort: calendar.Date(k).Format("2006-01-02"), Size: s.sizes[k]}
		for o := 0; o < width; o++ {
			if o >= len(s.cohorts[k]) {
				row.Cells = append(row.Cells, heatCell{})
				continue
			}
			v := s.cohorts[k][o]
			// Offset 0 is always 100%; shade later offsets on their own scale.
			alpha := math.Min(1, v*2.5)
			if o == 0 {
				alpha = 1
			}
			row.Cells = append(row.Cells, heatCell{
				Text:  pct(v),
				Style: template.CSS(fmt.Sprintf("background: rgba(37, 99, 235, %.2f); color: %s", alpha, textColor(alpha))),
			})
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

func textColor(alpha float64) string {
	if alpha > 0.55 {
		return "#fff"
	}
	return "#111"
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

func money(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.2f", v)
}
