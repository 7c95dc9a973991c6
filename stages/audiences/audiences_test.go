package audiences

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestTextCellsCannotRunAsFormulas(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cases := map[string]string{
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		`+cmd|' /C calc'!A0`:         `'+cmd|' /C calc'!A0`,
		`@SUM(1)`:                    `'@SUM(1)`,
		`-2+3`:                       `'-2+3`,
		"\t=1+1":                     "'\t=1+1",
		"\r=1+1":                     "'\r=1+1",
		`-`:                          `'-`,
		`-.5`:                        `'-.5`,
		`-1e5`:                       `'-1e5`,
		// Plain numbers read as numbers, and other text as text.
		`-42`:        `-42`,
		`-1.25`:      `-1.25`,
		`+7`:         `+7`,
		`C00000001`:  `C00000001`,
		`a=b`:        `a=b`,
		` =1`:        ` =1`,
		`Can't Lose`: `Can't Lose`,
		``:           ``,
	}
	b := array.NewStringBuilder(mem)
	defer b.Release()
	var in []string
	for s := range cases {
		in = append(in, s)
		b.Append(s)
	}
	a := b.NewStringArray()
	defer a.Release()
	for i, s := range in {
		if got := text(a, i); got != cases[s] {
			t.Errorf("text(%q) = %q, want %q", s, got, cases[s])
		}
	}

	// Numbers are ours and never text: a negative one is written as it is.
	fb := array.NewFloat64Builder(mem)
	defer fb.Release()
	fb.AppendValues([]float64{-2.5, -0.001}, nil)
	fa := fb.NewFloat64Array()
	defer fa.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.Append(-3)
	ia := ib.NewInt64Array()
	defer ia.Release()
	if got := []string{text(fa, 0), text(fa, 1), text(ia, 0)}; got[0] != "-2.50" || got[1] != "-0.001" || got[2] != "-3" {
		t.Errorf("negative numbers written as %q", got)
	}
}
