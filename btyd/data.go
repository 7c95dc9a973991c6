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

// compressPacked is compressBy for packable customers, with
// open-addressing tables of packed keys in place of a Go map: the rows come
// out the same, in order of first occurrence, at a fraction of the
// hashing cost (a Go map's probing and growth were most of a compression).
func compressPacked(c Customers) (Customers, []int32) {
	return compressPackedBuckets(c)
}

// compressPackedSerial is compressPacked with one table over all rows, the
// form compressPackedBuckets is checked against.
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
	return a + log1pNonNeg(math.Exp(b-a))
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

// compressPackedBuckets is compressPacked by buckets of one T: the rows are
// first scattered by T (a counting sort, which keeps each bucket's rows in
// input order) and each bucket's (x, tₓ) keys are hashed in a table sized to
// the bucket, small enough to stay in cache, where one table over all rows
// missed the cache on nearly every probe. Marking each key's first row and
// numbering the keys in a pass over the rows in order gives the rows of the
// output in order of first occurrence, each key's weight summed in row
// order: exactly compressPackedSerial's output. Two workers split the
// buckets; each numbers its own keys, so the result is the same whatever
// the number of CPUs.
func compressPackedBuckets(c Customers) (Customers, []int32) {
	n := c.Len()
	maxT := 0
	for _, v := range c.T {
		maxT = max(maxT, int(v))
	}
	start := make([]int32, maxT+2)
	for _, v := range c.T {
		start[int(v)+1]++
	}
	for t := range maxT + 1 {
		start[t+1] += start[t]
	}
	type entry struct {
		key uint64 // x<<21 | tₓ
		row int32
	}
	ents := make([]entry, n)
	fill := slices.Clone(start[:maxT+1])
	for i := range n {
		t := int(c.T[i])
		ents[fill[t]] = entry{uint64(c.Frequency[i])<<21 | uint64(c.Recency[i]), int32(i)}
		fill[t]++
	}
	// The workers' bucket ranges: the first ends where half the rows do.
	split := maxT + 1
	for t := range maxT + 1 {
		if int(start[t+1]) >= n/2 {
			split = t + 1
			break
		}
	}
	ids := make([]int32, n) // row → its key's number among its worker's keys
	first := make([]bool, n)
	var weights [2][]float64
	work := func(p, t0, t1 int) {
		biggest := 0
		for t := t0; t < t1; t++ {
			biggest = max(biggest, int(start[t+1]-start[t]))
		}
		size := 1
		for size < 2*biggest {
			size <<= 1
		}
		type slot struct {
			key   uint64
			stamp int32 // bucket number + 1 of the key held; 0 empty
			id    int32
		}
		table := make([]slot, size)
		var w []float64
		for t := t0; t < t1; t++ {
			lo, hi := int(start[t]), int(start[t+1])
			if lo == hi {
				continue
			}
			size := 1
			for size < 2*(hi-lo) {
				size <<= 1
			}
			shift := 64 - uint(bits.Len(uint(size-1)))
			mask := uint64(size - 1)
			stamp := int32(t + 1)
			for _, e := range ents[lo:hi] {
				h := (e.key * 0x9e3779b97f4a7c15) >> shift // 0 when size is 1
				for table[h].stamp == stamp && table[h].key != e.key {
					h = (h + 1) & mask
				}
				s := &table[h]
				if s.stamp != stamp {
					*s = slot{e.key, stamp, int32(len(w))}
					w = append(w, 0)
					first[e.row] = true
				}
				w[s.id] += c.weight(int(e.row))
				ids[e.row] = s.id
			}
		}
		weights[p] = w
	}
	var g group
	g.Go(func() { work(1, split, maxT+1) })
	work(0, 0, split)
	g.Wait()
	m0 := len(weights[0])
	m := m0 + len(weights[1])
	out := Customers{Frequency: make([]float64, m), Recency: make([]float64, m), T: make([]float64, m), Weight: make([]float64, m)}
	renumber := make([]int32, m)
	rows := make([]int32, n)
	next := int32(0)
	for i := range n {
		g := ids[i]
		if int(c.T[i]) >= split {
			g += int32(m0)
			ids[i] = g
		}
		if first[i] {
			renumber[g] = next
			out.Frequency[next], out.Recency[next], out.T[next] = c.Frequency[i], c.Recency[i], c.T[i]
			if int(g) < m0 {
				out.Weight[next] = weights[0][g]
			} else {
				out.Weight[next] = weights[1][int(g)-m0]
			}
			next++
		}
	}
	parallel(n, func(i int) { rows[i] = renumber[ids[i]] })
	return out, rows
}

// log1pNonNeg is math.Log1p, bit for bit, and faster for finite x >= 0:
// for those it runs the standard library's log1p operations in the same
// order without its checks for negative, NaN and infinite arguments, which
// with its call were a fifth of its cost in the likelihood loops that take
// it once per history and evaluation. Any other x goes to math.Log1p.
func log1pNonNeg(x float64) float64 {
	const (
		Sqrt2M1 = 4.142135623730950488017e-01 // Sqrt(2)-1 = 0x3fda827999fcef34
		Small   = 1.0 / (1 << 29)             // 2**-29 = 0x3e20000000000000
		Tiny    = 1.0 / (1 << 54)             // 2**-54
		Two53   = 1 << 53                     // 2**53
		Ln2Hi   = 6.93147180369123816490e-01  // 3fe62e42fee00000
		Ln2Lo   = 1.90821492927058770002e-10  // 3dea39ef35793c76
		Lp1     = 6.666666666666735130e-01    // 3FE5555555555593
		Lp2     = 3.999999999940941908e-01    // 3FD999999997FA04
		Lp3     = 2.857142874366239149e-01    // 3FD2492494229359
		Lp4     = 2.222219843214978396e-01    // 3FCC71C51D8E78AF
		Lp5     = 1.818357216161805012e-01    // 3FC7466496CB03DE
		Lp6     = 1.531383769920937332e-01    // 3FC39A09D078C69F
		Lp7     = 1.479819860511658591e-01    // 3FC2F112DF3E5244
	)
	if !(x >= 0 && x <= math.MaxFloat64) {
		return math.Log1p(x)
	}
	var f, c float64
	var iu uint64
	k := 1
	if x < Sqrt2M1 {
		if x < Small {
			if x < Tiny {
				return x
			}
			return x - x*x*0.5
		}
		// x > Sqrt(2)/2−1 holds for every x >= 0.
		k, f, iu = 0, x, 1
	}
	if k != 0 {
		var u float64
		if x < Two53 {
			u = 1.0 + x
			iu = math.Float64bits(u)
			k = int((iu >> 52) - 1023)
			// correction term
			if k > 0 {
				c = 1.0 - (u - x)
			} else {
				c = x - (u - 1.0)
			}
			c /= u
		} else {
			u = x
			iu = math.Float64bits(u)
			k = int((iu >> 52) - 1023)
			c = 0
		}
		iu &= 0x000fffffffffffff
		if iu < 0x0006a09e667f3bcd { // mantissa of Sqrt(2)
			u = math.Float64frombits(iu | 0x3ff0000000000000) // normalize u
		} else {
			k++
			u = math.Float64frombits(iu | 0x3fe0000000000000) // normalize u/2
			iu = (0x0010000000000000 - iu) >> 2
		}
		f = u - 1.0 // Sqrt(2)/2 < u < Sqrt(2)
	}
	hfsq := 0.5 * f * f
	if iu == 0 { // |f| < 2**-20
		if f == 0 {
			if k == 0 {
				return 0
			}
			c += float64(k) * Ln2Lo
			return float64(k)*Ln2Hi + c
		}
		R := hfsq * (1.0 - 0.66666666666666666*f) // avoid division
		if k == 0 {
			return f - R
		}
		return float64(k)*Ln2Hi - ((R - (float64(k)*Ln2Lo + c)) - f)
	}
	s := f / (2.0 + f)
	z := s * s
	R := z * (Lp1 + z*(Lp2+z*(Lp3+z*(Lp4+z*(Lp5+z*(Lp6+z*Lp7))))))
	if k == 0 {
		return f - (hfsq - s*(hfsq+R))
	}
	return float64(k)*Ln2Hi - ((hfsq - (s*(hfsq+R) + (float64(k)*Ln2Lo + c))) - f)
}
