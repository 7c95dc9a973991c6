package segments

import (
	"math"
	"slices"

	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/stages/actions/actionsconfig"
)

// churnRisk grades every customer: by p_alive where a model predicted it
// (and it is not BG/NBD's uninformative 1 for a one-time buyer), otherwise
// by days since the last order over the customer's typical gap
// between orders — the shop's median gap for one-time buyers, who have none.
func churnRisk(cfg actionsconfig.ChurnRisk, c columns, pAlive *array.Float64) []string {
	var gaps []float64
	for i, f := range c.frequency {
		if f > 0 {
			gaps = append(gaps, c.recency[i]/f)
		}
	}
	median := 90.0
	if len(gaps) > 0 {
		slices.Sort(gaps)
		median = gaps[len(gaps)/2]
	}
	out := make([]string, len(c.ids))
	for i := range out {
		// BG/NBD holds a customer without a repeat purchase alive by
		// construction (p_alive = 1): that says nothing about churn, so
		// such customers are graded by their silence like everyone else.
		informative := pAlive.Len() > i && pAlive.IsValid(i) && !(c.frequency[i] == 0 && pAlive.Value(i) >= 1)
		if informative {
			switch p := pAlive.Value(i); {
			case p < cfg.PAliveHigh:
				out[i] = "high"
			case p < cfg.PAliveMedium:
				out[i] = "medium"
			default:
				out[i] = "low"
			}
			continue
		}
		gap := median
		if c.frequency[i] > 0 {
			gap = c.recency[i] / c.frequency[i]
		}
		ratio := c.daysSince[i] / math.Max(gap, 1)
		switch {
		case ratio > cfg.GapHigh:
			out[i] = "high"
		case ratio > cfg.GapMedium:
			out[i] = "medium"
		default:
			out[i] = "low"
		}
	}
	return out
}

// topSpenders marks the top percent of customers by revenue (in cents);
// everyone tied with the last of them is in too, whatever the input order.
func topSpenders(cents []float64, percent float64) []bool {
	out := make([]bool, len(cents))
	if len(cents) == 0 {
		return out
	}
	sorted := slices.Clone(cents)
	slices.SortFunc(sorted, func(a, b float64) int { return -cmpF(a, b) })
	k := max(1, int(math.Ceil(percent/100*float64(len(cents)))))
	cutoff := sorted[k-1]
	for i, v := range cents {
		out[i] = v >= cutoff
	}
	return out
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
