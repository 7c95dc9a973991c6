package affinity

import (
	"fmt"
	"strings"
	"testing"
)

// TestProductIndex: ids go to SKUs in order of first sight, a SKU seen
// again gets its id back, short and long ones alike (inline or compared by
// name), through many growths of the index.
func TestProductIndex(t *testing.T) {
	tests := []struct {
		name string
		sku  func(i int) string
	}{
		{"short", func(i int) string { return fmt.Sprintf("SKU%05d", i) }},
		{"at the inline limit", func(i int) string { return fmt.Sprintf("%0*d", inlineSKU, i) }},
		{"long", func(i int) string { return strings.Repeat("x", inlineSKU) + fmt.Sprint(i) }},
		{"mixed", func(i int) string { return strings.Repeat("ab", i%20) + fmt.Sprint(i) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stage{products: newProductIndex()}
			const n = 20_000
			for round := range 2 {
				for i := range n {
					if got := s.product(tt.sku(i)); got != int32(i) {
						t.Fatalf("round %d: %q has id %d, want %d", round, tt.sku(i), got, i)
					}
				}
			}
			if len(s.names) != n || s.names[n-1] != tt.sku(n-1) {
				t.Fatalf("%d names, last %q", len(s.names), s.names[len(s.names)-1])
			}
		})
	}
}
