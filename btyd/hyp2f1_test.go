package btyd

import (
	"math"
	"testing"
)

// Reference values from closed forms of ₂F₁.
func TestLogHyp2F1(t *testing.T) {
	tests := []struct {
		name       string
		a, b, c, z float64
		want       float64
	}{
		// ₂F₁(1, 1; 2; z) = −ln(1−z)/z
		{"log", 1, 1, 2, 0.5, -math.Log(0.5) / 0.5},
		{"log near 1", 1, 1, 2, 0.999, -math.Log(0.001) / 0.999},
		// ₂F₁(a, b; b; z) = (1−z)^−a
		{"power", 3.5, 2, 2, 0.3, math.Pow(0.7, -3.5)},
		{"heavy power", 2000, 7, 7, 0.2, math.Exp(-2000 * math.Log(0.8))},
		// ₂F₁(1/2, 1; 3/2; z²) = atanh(z)/z
		{"atanh", 0.5, 1, 1.5, 0.81, math.Atanh(0.9) / 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logHyp2F1(tt.a, tt.b, tt.c, tt.z)
			if math.Abs(got-math.Log(tt.want)) > 1e-9*math.Max(1, math.Abs(math.Log(tt.want))) {
				t.Errorf("log 2F1 = %.12g, want %.12g", got, math.Log(tt.want))
			}
		})
	}
}
