// Package exactsum sums float64 amounts exactly, so a total does not depend
// on the order its terms arrive in (README, "Row order"): local files in any order,
// BigQuery over parallel streams and BigQuery summing in SQL give the same
// bits.
//
// Each amount v is split into three integers, u = floor(v), h = floor(f*2^31)
// and l = floor((f*2^31-h)*2^31) with f = v-u; each step is exact in float64
// and drops only the bits below 2^-62. The parts are summed as integers and
// the total S = U*2^62 + H*2^31 + L is rounded once, ties to even, to the
// float64 nearest S*2^-62. The same split is written in BigQuery SQL, whose
// SUMs of the parts this type takes in with AddParts.
package exactsum

import (
	"math"
	"math/bits"
)

const (
	fracBits = 31
	fracMask = 1<<fracBits - 1
	scale    = 1 << fracBits // 2^31, exact in float64
)

// Sum is an exact sum of amounts. The zero value is 0. H and L are kept in
// [0, 2^31), carried into U as they fill, so a Sum overflows only when U
// does: for amounts below 2^40 that is after more than 2^23 of them at the
// largest amount, and never for realistic days or customers.
type Sum struct {
	U, H, L int64
}

// Split is the three parts of v. v must be finite with |v| < 2^63; callers
// validate amounts before summing them. The parts are floor(v*2^62) exactly
// for v >= 0 and v <= -1; in (-1, 0), v - floor(v) rounds to a multiple of
// 2^-53, in BigQuery's float64 arithmetic as in Go's, so the two agree there
// too.
func Split(v float64) (u, h, l int64) {
	fu := math.Floor(v)
	f := (v - fu) * scale
	fh := math.Floor(f)
	return int64(fu), int64(fh), int64(math.Floor((f - fh) * scale))
}

// Of is the sum holding v alone.
func Of(v float64) Sum {
	u, h, l := Split(v)
	return Sum{U: u, H: h, L: l}
}

// Add adds v.
func (s *Sum) Add(v float64) {
	u, h, l := Split(v)
	s.AddParts(u, h, l)
}

// AddParts adds a sum given by its parts, such as one summed in SQL; the
// parts need not be in range.
func (s *Sum) AddParts(u, h, l int64) {
	s.L += l
	s.H += h + s.L>>fracBits
	s.L &= fracMask
	s.U += u + s.H>>fracBits
	s.H &= fracMask
}

// Merge adds the sum o.
func (s *Sum) Merge(o Sum) { s.AddParts(o.U, o.H, o.L) }

// Neg is -s.
func (s Sum) Neg() Sum {
	var n Sum
	n.AddParts(-s.U, -s.H, -s.L)
	return n
}

// IsZero reports whether the sum is exactly 0.
func (s Sum) IsZero() bool { return s == Sum{} }

// Float64 is the float64 nearest the exact sum, ties to even.
func (s Sum) Float64() float64 {
	// S as a 128-bit two's complement integer: U*2^62 plus the 62-bit
	// fraction H*2^31+L, which is in [0, 2^62).
	frac := uint64(s.H)<<fracBits | uint64(s.L)
	hi := uint64(s.U >> 2)       // arithmetic: the sign spreads into hi
	lo := uint64(s.U)<<62 | frac // frac < 2^62 does not overlap U's low bits
	neg := int64(hi) < 0
	if neg {
		lo, hi = -lo, ^hi
		if lo == 0 {
			hi++
		}
	}
	var mag float64
	switch n := bitLen128(hi, lo); {
	case n == 0:
		return 0
	case n <= 53:
		mag = math.Ldexp(float64(lo), -62)
	default:
		shift := uint(n - 53)
		m, rem, half := shr128(hi, lo, shift)
		if rem > half || rem == half && m&1 == 1 {
			m++
		}
		mag = math.Ldexp(float64(m), int(shift)-62)
	}
	if neg {
		return -mag
	}
	return mag
}

func bitLen128(hi, lo uint64) int {
	if hi != 0 {
		return 64 + bits.Len64(hi)
	}
	return bits.Len64(lo)
}

// shr128 is (hi,lo) >> shift for shift in [1, 75], with the bits shifted out
// compared against half of the last kept bit: rem and half are both scaled
// so that rem > half, rem == half and rem < half keep their meaning (rem
// folds in a sticky bit when it cannot hold every shifted-out bit).
func shr128(hi, lo uint64, shift uint) (m, rem, half uint64) {
	if shift < 64 {
		m = lo>>shift | hi<<(64-shift)
		rem = lo & (1<<shift - 1)
		return m, rem, 1 << (shift - 1)
	}
	s := shift - 64
	m = hi >> s
	// The kept bits end inside hi; the shifted-out bits are hi's low s
	// bits and all of lo. Keep hi's low bits and one sticky bit for lo.
	h := hi & (1<<s - 1)
	sticky := uint64(0)
	if lo != 0 {
		sticky = 1
	}
	// Compare h:lo against 2^(shift-1) = (1<<(s-1)):0 when s > 0, or 0:2^63 when s == 0.
	if s == 0 {
		return m, lo, 1 << 63
	}
	return m, h<<1 | sticky, 1 << s
}

// Residual is what s exceeds s.Float64() by, and whether it is not zero:
// the float64 and the residual together are s exactly while s is below
// about 2^43 (the residual then needs at most 53 bits above 2^-62), so a
// sum of both over several values is their exact sum.
func Residual(s Sum) (float64, bool) {
	r := s
	r.Merge(Of(s.Float64()).Neg())
	if r.IsZero() {
		return 0, false
	}
	return r.Float64(), true
}

// OfPair is the exact sum of v and its residual r (see Residual). A
// negative residual is added as its negation taken off: Split is exact for
// values of at least 0, while one in (-1, 0) rounds.
func OfPair(v, r float64) Sum {
	s := Of(v)
	switch {
	case r > 0:
		s.Add(r)
	case r < 0:
		s.Merge(Of(-r).Neg())
	}
	return s
}
