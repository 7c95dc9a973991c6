package itemline

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		st   Status
	}{
		{"2.5", 2.5, OK},
		{" 3 ", 3, OK},
		{"-1", -1, OK},
		{"1e3", 1000, OK},
		{".5", 0.5, OK},
		{"", 0, Null},
		{"   ", 0, Null},
		{"abc", 0, Bad},
		{"inf", 0, Bad},
		{"NaN", 0, Bad},
		{"0x1p3", 0, Bad},
		{"1_000", 0, Bad},
		{"1,5", 0, Bad},
		{"1e400", 0, Bad},
		{"-", 0, Bad},
		{"1.2.3", 0, Bad},
	} {
		v, st := parse(tc.in)
		if v != tc.want || st != tc.st {
			t.Errorf("parse(%q) = %v, %d; want %v, %d", tc.in, v, st, tc.want, tc.st)
		}
	}
}

func TestTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{1.5, -2}, nil)
	fb.AppendNull()
	fb.Append(1 / zero())
	f := fb.NewArray()
	defer f.Release()
	fb.Release()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{4}, nil)
	ib.AppendNull()
	ints := ib.NewArray()
	defer ints.Release()
	ib.Release()
	ub := array.NewUint8Builder(mem)
	ub.Append(7)
	u := ub.NewArray()
	defer u.Release()
	ub.Release()
	db := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 10, Scale: 2})
	db.Append(decimal128.FromI64(1234))
	d := db.NewArray()
	defer d.Release()
	db.Release()
	for _, tc := range []struct {
		name string
		read Number
		i    int
		want float64
		st   Status
	}{
		{"float", Of(f), 0, 1.5, OK},
		{"negative float", Of(f), 1, -2, OK},
		{"null float", Of(f), 2, 0, Null},
		{"infinite float", Of(f), 3, 0, Bad},
		{"int", Of(ints), 0, 4, OK},
		{"null int", Of(ints), 1, 0, Null},
		{"decimal", Of(d), 0, 12.34, OK},
		{"small unsigned", Of(u), 0, 7, OK},
		{"no column", Of(nil), 0, 0, Null},
	} {
		v, st := tc.read(tc.i)
		if v != tc.want || st != tc.st {
			t.Errorf("%s: %v, %d; want %v, %d", tc.name, v, st, tc.want, tc.st)
		}
	}
	if !BadCost(Of(f), 1) || !BadCost(Of(f), 3) || BadCost(Of(f), 0) || BadCost(Of(f), 2) {
		t.Error("BadCost: want negative and infinite bad, a positive cost and null not")
	}
}

func zero() float64 { return 0 }
