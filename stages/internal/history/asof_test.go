package history

import (
	"slices"
	"testing"
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
