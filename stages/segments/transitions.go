package segments

import (
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/night"
	"retain/schemas"
)

// carriedColumns are customer_predictions' previous-night columns, which
// customer_segments places with the other changes rather than beside the
// predictions.
var carriedColumns = map[string]bool{"previous_p_alive": true, "previous_predicted_clv": true}

// prediction is tonight's value of a customer_predictions column.
func prediction(extraCols []arrow.Array, name string) *array.Float64 {
	return extraCols[schemas.CustomerPredictions.MustIndex(name)-1].(*array.Float64)
}

func optFloat(a *array.Float64, k int) (float64, bool) {
	if a == nil || a.Len() <= k || a.IsNull(k) {
		return 0, false
	}
	return a.Value(k), true
}

// appendChanges appends customer k's change columns (schemas' changeColumns
// order) to b; the customer is row i of the batch's carried and extraCols.
func appendChanges(b *array.RecordBuilder, k, i int, past pastSegments, carried map[string]*array.Float64, extraCols []arrow.Array) {
	if p := past.previous[k]; p != "" {
		b.Field(0).(*array.StringBuilder).Append(p)
	} else {
		b.Field(0).AppendNull()
	}
	b.Field(1).(*array.Date32Builder).Append(arrow.Date32(past.since[k]))
	b.Field(2).(*array.BooleanBuilder).Append(past.capped[k])
	for j, name := range []string{"p_alive", "predicted_clv"} {
		before, okBefore := optFloat(carried["previous_"+name], i)
		now, okNow := optFloat(prediction(extraCols, name), i)
		prev, diff := b.Field(3+2*j).(*array.Float64Builder), b.Field(4+2*j).(*array.Float64Builder)
		if okBefore {
			prev.Append(before)
		} else {
			prev.AppendNull()
		}
		if okBefore && okNow {
			diff.Append(now - before)
		} else {
			diff.AppendNull()
		}
	}
}

type moveKey struct{ dimension, value, from, to string }

type moveSums struct {
	customers                 int64
	revenue, clv, previousCLV float64
}

// transitions accumulates segment_transitions; like segment_summary its
// size follows dimension values × segments², not customers.
type transitions struct {
	order map[string]int
	cells map[moveKey]*moveSums
}

func newTransitions(rules []Rule) *transitions {
	t := &transitions{order: segmentOrder(rules), cells: map[moveKey]*moveSums{}}
	t.order[schemas.NewSegment] = -1
	return t
}

func (t *transitions) add(from, to, country, channel string, revenue float64, carried map[string]*array.Float64, extraCols []arrow.Array, k int) {
	if from == "" {
		from = schemas.NewSegment
	}
	clv, _ := optFloat(prediction(extraCols, "predicted_clv"), k)
	prev, _ := optFloat(carried["previous_predicted_clv"], k)
	for _, dv := range [][2]string{{"total", "all"}, {"country", country}, {"channel", channel}} {
		key := moveKey{dv[0], dv[1], from, to}
		x := t.cells[key]
		if x == nil {
			x = &moveSums{}
			t.cells[key] = x
		}
		x.customers++
		x.revenue += revenue
		x.clv += clv
		x.previousCLV += prev
	}
}

func (t *transitions) record(rc *night.Context) arrow.Record {
	keys := make([]moveKey, 0, len(t.cells))
	for k := range t.cells {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b moveKey) int {
		if c := compareDimension(a.dimension, a.value, b.dimension, b.value); c != 0 {
			return c
		}
		if d := t.order[a.from] - t.order[b.from]; d != 0 {
			return d
		}
		if c := strings.Compare(a.from, b.from); c != 0 {
			return c
		}
		if d := t.order[a.to] - t.order[b.to]; d != 0 {
			return d
		}
		return strings.Compare(a.to, b.to)
	})
	st := schemas.SegmentTransitions
	b := array.NewRecordBuilder(rc.Mem, st.Schema())
	defer b.Release()
	for _, k := range keys {
		x := t.cells[k]
		b.Field(0).(*array.Date32Builder).Append(rc.SnapshotDate)
		b.Field(1).(*array.StringBuilder).Append(k.dimension)
		b.Field(2).(*array.StringBuilder).Append(k.value)
		b.Field(3).(*array.StringBuilder).Append(k.from)
		b.Field(4).(*array.StringBuilder).Append(k.to)
		b.Field(5).(*array.Int64Builder).Append(x.customers)
		b.Field(6).(*array.Float64Builder).Append(x.revenue)
		b.Field(7).(*array.Float64Builder).Append(x.clv)
		b.Field(8).(*array.Float64Builder).Append(x.previousCLV)
	}
	return b.NewRecord()
}
