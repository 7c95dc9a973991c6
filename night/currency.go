package night

import (
	"math"
	"strings"

	"golang.org/x/text/currency"
)

// UnknownScale is the number of decimals money is rounded to when the
// night's currency is unknown: most currencies have cents, and two
// decimals lose nothing a report shows.
const UnknownScale = 2

// Currency is the currency every money column of a night is in, and the
// decimals of its minor unit.
type Currency struct {
	// Code is the ISO 4217 code, empty when unknown.
	Code string
	// Scale is the number of decimals of the minor unit (JPY 0, USD 2,
	// KWD 3), UnknownScale when the code is unknown.
	Scale int
}

// CurrencyOf is the currency with ISO code code (any case, blanks
// trimmed). A code that is empty or not an ISO 4217 currency is unknown:
// it names nothing a reader could look up, so no column repeats it.
func CurrencyOf(code string) Currency {
	code = strings.ToUpper(strings.TrimSpace(code))
	u, err := currency.ParseISO(code)
	if code == "" || err != nil {
		return Currency{Scale: UnknownScale}
	}
	scale, _ := currency.Standard.Rounding(u)
	return Currency{Code: u.String(), Scale: scale}
}

// Known reports whether the currency has an ISO code.
func (c Currency) Known() bool { return c.Code != "" }

// Round rounds v to the currency's minor unit, halves away from zero, as
// every published money value is rounded: the load stage before writing a
// table and the audience lists before writing a cell use this one
// function, so a list and its table agree to the minor unit.
//
// The stages compute on unrounded values and only publication rounds:
// shares, averages and CLV are derived from sums, and rounding each input
// first would add an error per summed row and make a derived figure depend
// on where along the way rounding happened.
//
// A value a hair below a half counts as the half: within 10^-12 of its
// size, and at most a millionth of a minor unit. Decimal amounts have no
// exact float64, and a sum or mean of them lands a few units in the last
// place off the decimal it stands for, often below it: 2.675 is stored as
// 2.67499999999999982236431605997495353221893310546875, and a mean of
// cents whose decimal value ends in a half cent may come out as
// 19.634999999999998. Rounding those down would lose the half the
// decimals hold; this way they round as the decimal does, away from zero.
// The result is the float64 nearest the rounded decimal, so readers print
// it with at most Scale decimals; it depends on v alone, the same on
// every machine. Values too large to have a fraction at this scale, NaN
// and infinities are returned as they are; negative zero becomes zero.
func (c Currency) Round(v float64) float64 {
	p := math.Pow10(c.Scale)
	x := math.Abs(v) * p
	if math.IsNaN(v) || math.IsInf(v, 0) || x >= 1<<52 {
		return v
	}
	n := math.Floor(x)
	if x-n >= 0.5-min(1e-12*max(1, x), 1e-6) {
		n++
	}
	r := n / p
	if r == 0 {
		return 0
	}
	return math.Copysign(r, v)
}
