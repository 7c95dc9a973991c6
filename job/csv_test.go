package job

import (
	"errors"
	"strings"
	"testing"
)

func TestMaxMalformedShare(t *testing.T) {
	tests := []struct {
		name, csv string
		want      float64
		err       string
	}{
		{"default", "", 0.01, ""},
		{"none allowed", "csv: {max_malformed_share: 0}", 0, ""},
		{"all allowed", "csv: {max_malformed_share: 1}", 1, ""},
		{"negative", "csv: {max_malformed_share: -0.1}", 0, "input.orders.csv.max_malformed_share: -0.1 is out of range"},
		{"a percentage", "csv: {max_malformed_share: 5}", 0, "want a number in [0, 1]"},
		{"not a number", "csv: {max_malformed_share: .nan}", 0, "max_malformed_share: NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse([]byte("name: n\ninput: {orders: {path: o.csv, "+tt.csv+"}}\n"), "/")
			if tt.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := *j.Input.Orders.CSV.MaxMalformedShare; got != tt.want {
				t.Errorf("max_malformed_share = %g, want %g", got, tt.want)
			}
		})
	}
}
