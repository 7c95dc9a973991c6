package segments

import (
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/night"
	"retain/schemas"
)

type key struct{ dimension, value, segment string }

type sums struct {
	customers                       int64
	orders, revenue, net, clv, days float64
}

// summary accumulates segment_summary; its size is dimensions × values ×
// segments, independent of the number of customers.
type summary struct {
	order  map[string]int // segment → position in the rule list, for a stable row order
	cells  map[key]*sums
	totals map[[2]string]*sums
}

func newSummary(rules []Rule) *summary {
	return &summary{order: segmentOrder(rules), cells: map[key]*sums{}, totals: map[[2]string]*sums{}}
}

// segmentOrder ranks segment names as the rules list them, Other last,
// which is the row order of segment_summary and segment_transitions.
func segmentOrder(rules []Rule) map[string]int {
	order := map[string]int{}
	for i, r := range rules {
		if _, dup := order[r.Name]; !dup {
			order[r.Name] = i
		}
	}
	order[Other] = len(rules)
	return order
}

// compareDimension orders rows by dimension (total, country, channel),
// then dimension value.
func compareDimension(aDim, aValue, bDim, bValue string) int {
	if d := dimensionOrder[aDim] - dimensionOrder[bDim]; d != 0 {
		return d
	}
	return strings.Compare(aValue, bValue)
}

func (s *summary) add(segment, country, channel string, orders, revenue, net, clv, days float64) {
	for _, dv := range [][2]string{{"total", "all"}, {"country", country}, {"channel", channel}} {
		for _, k := range []key{{dv[0], dv[1], segment}, {dv[0], dv[1], ""}} {
			var x *sums
			if k.segment == "" {
				x = s.totals[dv]
				if x == nil {
					x = &sums{}
					s.totals[dv] = x
				}
			} else {
				x = s.cells[k]
				if x == nil {
					x = &sums{}
					s.cells[k] = x
				}
			}
			x.customers++
			x.orders += orders
			x.revenue += revenue
			x.net += net
			x.clv += clv
			x.days += days
		}
	}
}

var dimensionOrder = map[string]int{"total": 0, "country": 1, "channel": 2}

func (s *summary) record(rc *night.Context) arrow.Record {
	keys := make([]key, 0, len(s.cells))
	for k := range s.cells {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := compareDimension(a.dimension, a.value, b.dimension, b.value); c != 0 {
			return c
		}
		return s.order[a.segment] - s.order[b.segment]
	})
	b := array.NewRecordBuilder(rc.Mem, schemas.SegmentSummary.Schema())
	defer b.Release()
	ss := schemas.SegmentSummary
	f64 := func(name string) *array.Float64Builder { return b.Field(ss.MustIndex(name)).(*array.Float64Builder) }
	for _, k := range keys {
		x, t := s.cells[k], s.totals[[2]string{k.dimension, k.value}]
		b.Field(ss.MustIndex("snapshot_date")).(*array.Date32Builder).Append(rc.SnapshotDate)
		b.Field(ss.MustIndex("dimension")).(*array.StringBuilder).Append(k.dimension)
		b.Field(ss.MustIndex("dimension_value")).(*array.StringBuilder).Append(k.value)
		b.Field(ss.MustIndex("rfm_segment")).(*array.StringBuilder).Append(k.segment)
		b.Field(ss.MustIndex("customers")).(*array.Int64Builder).Append(x.customers)
		f64("customer_share").Append(float64(x.customers) / float64(t.customers))
		f64("revenue").Append(x.revenue)
		f64("net_revenue").Append(x.net)
		f64("revenue_share").Append(ratio(x.revenue, t.revenue))
		f64("avg_order_value").Append(ratio(x.revenue, x.orders))
		n := float64(x.customers)
		f64("avg_orders").Append(x.orders / n)
		f64("avg_historical_clv").Append(x.clv / n)
		f64("avg_days_since_last_order").Append(x.days / n)
	}
	return b.NewRecord()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
