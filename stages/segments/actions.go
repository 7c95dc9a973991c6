package segments

import (
	"math"
	"slices"

	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/stages/actions/actionsconfig"
)

// churnRisk grades every customer: by the chance of no order over the
// horizon where a model predicted it, otherwise by days since the last order
// over the customer's typical gap between orders — the shop's median gap for
// one-time buyers, who have none.
//
// Unlike p_alive, the chance of no order carries information for every
// customer a model predicts: BG/NBD holds a customer without repeat
// purchases alive (p_alive = 1), but that customer's chance of no order,
// ((α+T)/(α+T+h))^r, still rises towards 1 the longer they stay silent.
func churnRisk(cfg actionsconfig.ChurnRisk, c columns, pNoPurchase *array.Float64) []string {
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
		if pNoPurchase.Len() > i && pNoPurchase.IsValid(i) {
			switch p := pNoPurchase.Value(i); {
			case p >= cfg.PNoPurchaseHigh:
				out[i] = "high"
			case p >= cfg.PNoPurchaseMedium:
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
	k := max(1, int(math.Ceil(percent/100*float64(len(cents)))))
	// The k-th largest value is one order statistic: selected, not sorted
	// for, but where a NaN leaves the order to the sort.
	stats, ok := orderStats(cents, []int{len(cents) - k})
	var cutoff float64
	if ok {
		cutoff = stats[0]
	} else {
		sorted := slices.Clone(cents)
		slices.SortFunc(sorted, func(a, b float64) int { return -cmpF(a, b) })
		cutoff = sorted[k-1]
	}
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
