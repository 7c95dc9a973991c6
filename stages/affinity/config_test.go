package affinity

import (
	"errors"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the affinity section, so these
// tests depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/", []config.Section{Section})
}

// TestSectionValues: a value the file sets wins over the default, the
// others keep theirs, and an integral float such as 1e4 is a whole number.
func TestSectionValues(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       Config
	}{
		{"defaults", "", Config{MinPairOrders: 5, TopK: 10, MaxPairs: 5_000_000, OpenOrders: 4096}},
		{"max_pairs as 1e4", "affinity: {max_pairs: 1e4}\n", Config{MinPairOrders: 5, TopK: 10, MaxPairs: 10_000, OpenOrders: 4096}},
		{"smallest", "affinity: {min_pair_orders: 1, top_k: 1, max_pairs: 1000, open_orders: 1}\n", Config{MinPairOrders: 1, TopK: 1, MaxPairs: 1000, OpenOrders: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := *Section.Of(f); got != tt.want {
				t.Errorf("affinity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		// Values a file sets are checked, never replaced by a default.
		{"zero max_pairs", "affinity: {max_pairs: 0}\n", "affinity.max_pairs: 0 is out of range"},
		{"max_pairs below 1000", "affinity: {max_pairs: 999}\n", "affinity.max_pairs: 999 is out of range"},
		{"zero open_orders", "affinity: {open_orders: 0}\n", "affinity.open_orders: 0 is out of range"},
		{"zero min_pair_orders", "affinity: {min_pair_orders: 0}\n", "affinity.min_pair_orders: 0 is out of range"},
		{"zero top_k", "affinity: {top_k: 0}\n", "affinity.top_k: 0 is out of range"},
		{"fractional top_k", "affinity: {top_k: 2.5}\n", "affinity.top_k: 2.5 is not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.yaml)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
