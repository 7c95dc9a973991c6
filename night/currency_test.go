package night

import (
	"math"
	"testing"

	"github.com/rs/zerolog"

	"retain/config"
)

func TestCurrencyOf(t *testing.T) {
	for _, c := range []struct {
		code  string
		want  string
		scale int
	}{
		{"USD", "USD", 2}, {" eur ", "EUR", 2}, {"JPY", "JPY", 0}, {"KWD", "KWD", 3}, {"CHF", "CHF", 2},
		{"", "", UnknownScale}, {"XYZ", "", UnknownScale}, {"dollars", "", UnknownScale},
	} {
		got := CurrencyOf(c.code)
		if got.Code != c.want || got.Scale != c.scale || got.Known() != (c.want != "") {
			t.Errorf("CurrencyOf(%q) = %+v, want %q scale %d", c.code, got, c.want, c.scale)
		}
	}
}

// TestRound: hand-picked halves (2.675 and 1.005 lie just below the half
// as float64, 0.125 and 2.5 are exact halves), negatives rounding away
// from zero, and values that pass through.
func TestRound(t *testing.T) {
	usd, jpy, kwd := CurrencyOf("USD"), CurrencyOf("JPY"), CurrencyOf("KWD")
	for _, c := range []struct {
		cur  Currency
		in   float64
		want float64
	}{
		{usd, 111.594494749, 111.59},
		{usd, 2.675, 2.68},
		{usd, 1.005, 1.01},
		{usd, 0.125, 0.13},
		{usd, -0.125, -0.13},
		{usd, -2.675, -2.68},
		{usd, 0.1 + 0.2, 0.3},
		{usd, 46.833333333333336, 46.83},
		{usd, 1.0049999, 1},
		{usd, 19.634999999999998, 19.64},
		{usd, 19.634999, 19.63},
		{usd, 1e9 + 0.0049999, 1e9},
		{usd, -0.004, 0},
		{usd, 1e15 + 0.255, 1e15 + 0.26},
		{usd, 1e300, 1e300},
		{jpy, 2.5, 3},
		{jpy, -2.5, -3},
		{jpy, 1234.4999, 1234},
		{kwd, 1.2345, 1.235},
		{kwd, 0.0005, 0.001},
		{Currency{Scale: UnknownScale}, 9.995, 10},
	} {
		got := c.cur.Round(c.in)
		if got != c.want || math.Signbit(got) != math.Signbit(c.want) {
			t.Errorf("%s Round(%v) = %v, want %v", c.cur.Code, c.in, got, c.want)
		}
	}
	if !math.IsNaN(usd.Round(math.NaN())) || !math.IsInf(usd.Round(math.Inf(-1)), -1) {
		t.Error("NaN and infinities must pass through")
	}
}

// TestContextCurrency: the job's reporting currency wins; without it, the
// one currency validation noted; without either, unknown.
func TestContextCurrency(t *testing.T) {
	for _, c := range []struct {
		name, yaml, noted, want string
	}{
		{"job's currency", "input: {orders: {path: o.csv}, reporting_currency: eur}\n", "USD", "EUR"},
		{"orders' currency", "input: {orders: {path: o.csv}}\n", "jpy", "JPY"},
		{"unknown", "input: {orders: {path: o.csv}}\n", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			j, err := config.Decode([]byte("name: n\n"+c.yaml), t.TempDir(), []config.Section{InputSection, OutputSection})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := New(j, "r", "2026-11-22", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			if c.noted != "" {
				rc.NoteOrdersCurrency(c.noted)
			}
			if got := rc.Currency(); got.Code != c.want {
				t.Errorf("currency %+v, want %q", got, c.want)
			}
		})
	}
}
