// Package btyd fits "buy till you die" models by maximum likelihood — BG/NBD,
// MBG/NBD and Pareto/NBD for purchase counts and dropout, Gamma-Gamma for
// spend — and predicts per customer from them. All times of one fit share one unit
// (days in the nightly job, weeks for the published CDNOW figures).
package btyd

import (
	"errors"
	"math"
	"math/bits"
	"slices"
	"sync"
)

// Sentinel errors; a failed fit wraps one of them with the model and reason.
var (
	ErrNoData       = errors.New("no customers to fit")
	ErrNotConverged = errors.New("fit did not converge")
	ErrBadInput     = errors.New("invalid input")
	ErrDegenerate   = errors.New("fitted model is degenerate")
)

// Customers are the BTYD inputs of a set of customers as column slices, the
// way the caller holds them in Arrow: frequency (repeat purchase periods),
// recency (first to last purchase) and T (first purchase to the end of the
// observation), with an optional weight per row (nil means 1 each).
type Customers struct {
	Frequency, Recency, T []float64
	Weight                []float64
}

// Len is the number of rows.
func (c Customers) Len() int { return len(c.Frequency) }

func (c Customers) weight(i int) float64 {
	if c.Weight == nil {
		return 1
	}
	return c.Weight[i]
}

// validate rejects inputs no model can explain, instead of fitting NaN.
func (c Customers) validate() error {
	n := c.Len()
	if n == 0 {
		return ErrNoData
	}
	if len(c.Recency) != n || len(c.T) != n || (c.Weight != nil && len(c.Weight) != n) {
		return errors.Join(ErrBadInput, errors.New("columns differ in length"))
	}
	for i := 0; i < n; i++ {
		x, tx, T := c.Frequency[i], c.Recency[i], c.T[i]
		if !(x >= 0 && tx >= 0 && T >= tx) || math.IsInf(T, 0) {
			return errors.Join(ErrBadInput, errors.New("need 0 <= recency <= T and frequency >= 0"))
		}
	}
	return nil
}

// Compress merges customers with identical (frequency, recency, T) into one
// weighted row: a nightly run in days has far fewer distinct triples than
// customers, and the likelihood only needs each triple once.
func Compress(c Customers) Customers {
	out, _ := compress(c)
	return out
}

// compress also returns, for every input row, its row in the output.
func compress(c Customers) (Customers, []int32) {
	if packable(c) {
		return compressPacked(c)
	}
	type key struct{ x, tx, T float64 }
	return compressBy(c, func(i int) key { return key{c.Frequency[i], c.Recency[i], c.T[i]} })
}

// packable reports whether every value is a whole number below 2²¹, as
// counts and day numbers are, so a triple packs into one integer key that
// hashes much faster than three floats.
func packable(c Customers) bool {
	for _, col := range [][]float64{c.Frequency, c.Recency, c.T} {
		for _, v := range col {
			if v != math.Trunc(v) || v < 0 || v >= 1<<21 {
				return false
			}
		}
	}
	return true
}

// compressPacked is compressBy for packable customers, with an
// open-addressing table of packed keys in place of a Go map: the rows come
// out the same, in order of first occurrence, at a fraction of the
// hashing cost (a Go map's probing and growth were most of a compression).
func compressPacked(c Customers) (Customers, []int32) {
	if c.Weight == nil && c.Len() >= parallelCompressRows {
		return compressPackedParallel(c)
	}
	return compressPackedSerial(c)
}

// compressPackedSerial is compressPacked on one goroutine, for any weights.
func compressPackedSerial(c Customers) (Customers, []int32) {
	n := c.Len()
	size := 1
	for size < 2*n {
		size <<= 1
	}
	shift := 64 - uint(bits.Len(uint(size-1)))
	mask := uint64(size - 1)
	// A slot holds its key + 1, so 0 marks it empty (packed keys stay
	// below 2⁶³), and the key's row in the output.
	keys := make([]uint64, size)
	slot := make([]int32, size)
	rows := make([]int32, n)
	var out Customers
	out.Weight = []float64{}
	for i := range n {
		k := uint64(c.Frequency[i])<<42 | uint64(c.Recency[i])<<21 | uint64(c.T[i])
		h := (k * 0x9e3779b97f4a7c15) >> shift
		for keys[h] != 0 && keys[h] != k+1 {
			h = (h + 1) & mask
		}
		j := slot[h]
		if keys[h] == 0 {
			j = int32(len(out.Frequency))
			keys[h], slot[h] = k+1, j
			out.Frequency = append(out.Frequency, c.Frequency[i])
			out.Recency = append(out.Recency, c.Recency[i])
			out.T = append(out.T, c.T[i])
			out.Weight = append(out.Weight, 0)
		}
		out.Weight[j] += c.weight(i)
		rows[i] = j
	}
	return out, rows
}

// parallelCompressRows is the size from which unweighted rows are
// compressed by two workers.
const parallelCompressRows = 1 << 17

// compressPackedParallel is compressPacked for unweighted rows, on two
// workers that each own the keys of one half of the hash range: each scans
// every row but hashes only its own keys, recording their first rows and
// counts; merging the two lists of first rows (both ascending) gives the
// rows of the output in order of first occurrence, exactly compressPacked's.
// Weights are counts, which sum exactly in any order, so the output is the
// same to the bit whatever the number of CPUs.
func compressPackedParallel(c Customers) (Customers, []int32) {
	n := c.Len()
	const parts = 2
	pack := func(i int) uint64 {
		return uint64(c.Frequency[i])<<42 | uint64(c.Recency[i])<<21 | uint64(c.T[i])
	}
	// A row holds its key's position in its part's list, the second
	// part's negated (−1 − position), until the merge renumbers it.
	rows := make([]int32, n)
	var first [parts][]int32
	var count [parts][]float64
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := 0
			for i := range n {
				if int((pack(i)*0x9e3779b97f4a7c15)>>63) == p {
					mine++
				}
			}
			size := 1
			for size < 2*mine {
				size <<= 1
			}
			shift := 64 - uint(bits.Len(uint(size-1)))
			mask := uint64(size - 1)
			keys := make([]uint64, size)
			slot := make([]int32, size)
			fr, ct := make([]int32, 0, mine/2+1), make([]float64, 0, mine/2+1)
			for i := range n {
				k := pack(i)
				hk := k * 0x9e3779b97f4a7c15
				if int(hk>>63) != p {
					continue
				}
				h := (hk << 1) >> shift
				for keys[h] != 0 && keys[h] != k+1 {
					h = (h + 1) & mask
				}
				j := slot[h]
				if keys[h] == 0 {
					j = int32(len(fr))
					keys[h], slot[h] = k+1, j
					fr, ct = append(fr, int32(i)), append(ct, 0)
				}
				ct[j]++
				if p == 0 {
					rows[i] = j
				} else {
					rows[i] = -1 - j
				}
			}
			first[p], count[p] = fr, ct
		}()
	}
	wg.Wait()
	m := len(first[0]) + len(first[1])
	out := Customers{Frequency: make([]float64, m), Recency: make([]float64, m), T: make([]float64, m), Weight: make([]float64, m)}
	var renumber [parts][]int32
	for p := range parts {
		renumber[p] = make([]int32, len(first[p]))
	}
	for a, b, j := 0, 0, 0; j < m; j++ {
		p, at := 0, a
		if a == len(first[0]) || (b < len(first[1]) && first[1][b] < first[0][a]) {
			p, at = 1, b
			b++
		} else {
			a++
		}
		i := first[p][at]
		renumber[p][at] = int32(j)
		out.Frequency[j], out.Recency[j], out.T[j], out.Weight[j] = c.Frequency[i], c.Recency[i], c.T[i], count[p][at]
	}
	parallel(n, func(i int) {
		if v := rows[i]; v >= 0 {
			rows[i] = renumber[0][v]
		} else {
			rows[i] = renumber[1][-1-v]
		}
	})
	return out, rows
}

func compressBy[K comparable](c Customers, keyOf func(i int) K) (Customers, []int32) {
	idx := make(map[K]int32, c.Len()/4)
	rows := make([]int32, c.Len())
	var out Customers
	out.Weight = []float64{}
	for i := 0; i < c.Len(); i++ {
		k := keyOf(i)
		j, ok := idx[k]
		if !ok {
			j = int32(len(out.Frequency))
			idx[k] = j
			out.Frequency = append(out.Frequency, c.Frequency[i])
			out.Recency = append(out.Recency, c.Recency[i])
			out.T = append(out.T, c.T[i])
			out.Weight = append(out.Weight, 0)
		}
		out.Weight[j] += c.weight(i)
		rows[i] = j
	}
	return out, rows
}

// subsample keeps every k-th row, weights scaled by k, so a warm-start fit
// on it estimates the same parameters at a fraction of the cost.
func (c Customers) subsample(k int) Customers {
	var s Customers
	s.Weight = []float64{}
	for i := 0; i < c.Len(); i += k {
		s.Frequency = append(s.Frequency, c.Frequency[i])
		s.Recency = append(s.Recency, c.Recency[i])
		s.T = append(s.T, c.T[i])
		s.Weight = append(s.Weight, c.weight(i)*float64(k))
	}
	return s
}

// table caches a function of the parameters over the distinct values of one
// input column, so an evaluation costs one call per distinct value rather
// than per customer.
type table struct {
	values []float64 // distinct values, sorted
	index  []int32   // row → position in values
}

func newTable(col []float64) table {
	if t, ok := newCountTable(col); ok {
		return t
	}
	values := slices.Clone(col)
	slices.Sort(values)
	values = slices.Compact(values)
	t := table{values: values, index: make([]int32, len(col))}
	for i, v := range col {
		j, _ := slices.BinarySearch(values, v)
		t.index[i] = int32(j)
	}
	return t
}

// newCountTable is newTable for a column of whole numbers below 2²¹
// (counts, day numbers): a direct index over 0..max in place of a sort and
// a binary search per row, the same table in one linear pass; false for
// any other column.
func newCountTable(col []float64) (table, bool) {
	maxV := 0.0
	for _, v := range col {
		if !(v >= 0 && v < 1<<21) || v != math.Trunc(v) || math.Signbit(v) {
			return table{}, false
		}
		maxV = max(maxV, v)
	}
	pos := make([]int32, int(maxV)+1)
	for _, v := range col {
		pos[int(v)] = 1
	}
	var values []float64
	for v, seen := range pos {
		if seen != 0 {
			pos[v] = int32(len(values))
			values = append(values, float64(v))
		}
	}
	t := table{values: values, index: make([]int32, len(col))}
	for i, v := range col {
		t.index[i] = pos[int(v)]
	}
	return t, true
}

func (t table) apply(dst []float64, f func(v float64) float64) []float64 {
	dst = dst[:0]
	for _, v := range t.values {
		dst = append(dst, f(v))
	}
	return dst
}

// logAddExp is log(exp(a) + exp(b)) without overflow.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// logSubExp is log(exp(a) − exp(b)) for a > b.
func logSubExp(a, b float64) float64 {
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log(-math.Expm1(b-a))
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}
