package history

import (
	"slices"
	"testing"

	"retain/stages/internal/exactsum"
)

// TestNetUpto: the night before the run date sees each cell's revenue less
// the refunds made by then, so a refund dated on the run date is not yet
// taken off the order's cell.
func TestNetUpto(t *testing.T) {
	c := Cells{
		First:           []int32{10, 15, 22},
		Last:            []int32{12, 15, 22},
		Revenue:         []float64{100, 40, 25},
		Refunded:        []float64{50, 40, 5},
		RunDateRefunded: []float64{20, 0, 5},
	}
	tests := []struct {
		k    int
		want []float64
	}{
		{0, nil},
		{2, []float64{70, 0}},
		{3, []float64{70, 0, 25}},
	}
	for _, tt := range tests {
		if got := c.NetUpto(nil, tt.k); !slices.Equal(got, tt.want) {
			t.Errorf("NetUpto(%d) = %v, want %v", tt.k, got, tt.want)
		}
	}
	if k := c.Upto(21); k != 2 {
		t.Errorf("Upto(21) = %d, want 2", k)
	}
}

// TestNetUptoPeriodDay: a run for the same day of the previous period sees
// none of the refunds dated after it, the run date's included.
func TestNetUptoPeriodDay(t *testing.T) {
	c := Cells{
		First:                  []int32{10, 15, 22},
		Last:                   []int32{12, 15, 22},
		Revenue:                []float64{100, 40, 25},
		Refunded:               []float64{50, 40, 5},
		RunDateRefunded:        []float64{20, 0, 5},
		PeriodDayLaterRefunded: []float64{30, 40, 5},
	}
	tests := []struct {
		k    int
		want []float64
	}{
		{0, nil},
		{1, []float64{80}},
		{2, []float64{80, 40}},
	}
	for _, tt := range tests {
		if got := c.NetUptoPeriodDay(nil, tt.k); !slices.Equal(got, tt.want) {
			t.Errorf("NetUptoPeriodDay(%d) = %v, want %v", tt.k, got, tt.want)
		}
	}
}

// TestNetSums: the exact net values are NetUpto's and NetUptoPeriodDay's
// with each column's residual added, so a cell whose sums rounded gives
// back the exact amount.
func TestNetSums(t *testing.T) {
	var want exactsum.Sum
	want.Add(0.1)
	want.Add(0.2)
	r, _ := exactsum.Residual(want)
	c := Cells{
		First: []int32{10, 15}, Last: []int32{12, 15},
		Revenue:                []float64{want.Float64(), 40},
		Refunded:               []float64{0, 30},
		RunDateRefunded:        []float64{0, 10},
		PeriodDayLaterRefunded: []float64{0, 20},
		Residuals:              [4][]float64{{r, 0}, {0, 0}, {0, 0}, {0, 0}},
	}
	if r == 0 {
		t.Fatal("0.1 + 0.2 is a float64: no residual to test")
	}
	third := want.Float64()
	for _, tt := range []struct {
		name string
		got  []exactsum.Sum
		want []float64
	}{
		{"run date", c.NetSums(nil, 2), []float64{third, 10}},
		{"night before", c.NetUptoSums(nil, 2), []float64{third, 20}},
		{"period day", c.NetUptoPeriodDaySums(nil, 2), []float64{third, 30}},
	} {
		if tt.got[0] != want {
			t.Errorf("%s: cell 0 is %+v, want the exact %+v", tt.name, tt.got[0], want)
		}
		for i, w := range tt.want {
			if g := tt.got[i].Float64(); g != w {
				t.Errorf("%s: cell %d is %v, want %v", tt.name, i, g, w)
			}
		}
	}
}
