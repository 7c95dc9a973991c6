package segments

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// quintileScores scores every value 1–5 as
// min(5, 1 + floor(5 × worse / (n − 1))), where worse counts the values that
// are strictly worse. Equal values share a score whatever their order, and
// the integer form matches SQL's PERCENT_RANK without float rounding.
//
// A score only says which of four counts worse reaches, so it needs the
// four order statistics at those counts, not the values' whole order:
// selecting them is linear where a sort and a search per value are not.
func quintileScores(values []float64, higherIsBetter bool) []int8 {
	n := len(values)
	out := make([]int8, n)
	if n <= 1 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	// worse ≥ w_s = ⌈s(n−1)/5⌉ for s = 1…4 raises the score by one each.
	// With higher better, worse is the values below v: it reaches w when
	// the w-th smallest value is below v. With lower better, worse is the
	// values above v: it reaches w when the w-th largest is above v.
	pos := make([]int, 4)
	for s := 1; s <= 4; s++ {
		w := (s*(n-1) + 4) / 5
		if higherIsBetter {
			pos[s-1] = w - 1
		} else {
			pos[4-s] = n - w
		}
	}
	thr, ok := orderStats(values, pos)
	if !ok {
		return quintileScoresSorted(values, higherIsBetter)
	}
	for i, v := range values {
		s := int8(1)
		for _, x := range thr {
			if higherIsBetter && x < v || !higherIsBetter && x > v {
				s++
			}
		}
		out[i] = s
	}
	return out
}

// orderStats is the values at the ascending positions pos of values in
// sorted order, found by selection on a copy; false when a value is NaN,
// which has no place in that order.
func orderStats(values []float64, pos []int) ([]float64, bool) {
	a := make([]float64, len(values))
	for i, v := range values {
		if math.IsNaN(v) {
			return nil, false
		}
		a[i] = v
	}
	out := make([]float64, len(pos))
	// A fixed seed: the pivots only change the work, never the result,
	// and a rerun does the same work.
	rng := rand.New(rand.NewPCG(1, 5))
	lo := 0
	for k, p := range pos {
		if k > 0 && p == pos[k-1] {
			out[k] = out[k-1]
			continue
		}
		// Earlier selections leave a[lo:] holding the values at or above
		// position lo, so each search narrows from there.
		out[k] = selectNth(a, lo, len(a), p, rng)
		lo = p
	}
	return out, true
}

// selectNth rearranges a[lo:hi] so that a[p] is the value at position p
// in sorted order, everything before it no greater and everything after no
// less, and returns it. Partitions are three-way, so the many equal values
// of order counts and recencies settle at once.
func selectNth(a []float64, lo, hi, p int, rng *rand.Rand) float64 {
	for hi-lo > 1 {
		pivot := a[lo+rng.IntN(hi-lo)]
		// a[lo:lt] < pivot, a[lt:i] == pivot, a[gt:hi] > pivot.
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch v := a[i]; {
			case v < pivot:
				a[lt], a[i] = v, a[lt]
				lt++
				i++
			case v > pivot:
				gt--
				a[gt], a[i] = v, a[gt]
			default:
				i++
			}
		}
		switch {
		case p < lt:
			hi = lt
		case p >= gt:
			lo = gt
		default:
			return pivot
		}
	}
	return a[p]
}

// quintileScoresSorted is quintileScores by its definition: sort, then
// count the worse values of each one. It scores values with a NaN, which
// sorts first and is below nothing, as it always has.
func quintileScoresSorted(values []float64, higherIsBetter bool) []int8 {
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
