package segments

import (
	"slices"
	"sort"
)

// quintileScores scores every value 1–5 as
// min(5, 1 + floor(5 × worse / (n − 1))), where worse counts the values that
// are strictly worse. Equal values share a score whatever their order, and
// the integer form matches SQL's PERCENT_RANK without float rounding.
func quintileScores(values []float64, higherIsBetter bool) []int8 {
	n := len(values)
	out := make([]int8, n)
	if n <= 1 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	for i, v := range values {
		var worse int
		if higherIsBetter {
			worse = sort.SearchFloat64s(sorted, v) // values below v
		} else {
			worse = n - sort.Search(n, func(k int) bool { return sorted[k] > v }) // values above v
		}
		out[i] = int8(min(5, 1+5*worse/(n-1)))
	}
	return out
}
