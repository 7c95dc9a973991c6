package validate

// SetWorkers sets how many workers check raw batches until the returned
// func restores it.
func SetWorkers(n int) func() {
	old := workers
	workers = n
	return func() { workers = old }
}
