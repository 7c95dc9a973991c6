//go:build !linux

package pipeline

// exchange has no atomic implementation here; the caller falls back to two
// renames.
func exchange(a, b string) error { return errNoExchange }
