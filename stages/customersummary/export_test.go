package customersummary

// SetWorkers sets how many workers fold orders until the returned func
// restores it.
func SetWorkers(n int) func() {
	old := workers
	workers = n
	return func() { workers = old }
}
