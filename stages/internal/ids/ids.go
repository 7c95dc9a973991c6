// Package ids holds the rule every stage applies to identifiers it reads,
// so an order, a customer and an item's order id match however they were
// padded.
package ids

import "strings"

// Trim removes blanks around an id, so " C1" and "C1 " are the id C1, and
// adds one to *trimmed when it removed any from a non-blank id. It slices,
// never copies.
func Trim(id string, trimmed *int64) string {
	t := strings.TrimSpace(id)
	if len(t) != len(id) && t != "" {
		*trimmed++
	}
	return t
}

// AddCount adds n to m[key] when n is positive, so a manifest map lists
// only the columns that had any.
func AddCount(m map[string]int64, key string, n int64) {
	if n > 0 {
		m[key] += n
	}
}
