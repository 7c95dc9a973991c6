package validate

// SetWorkers sets how many workers check raw batches until the returned
// func restores it.
func SetWorkers(n int) func() {
	old := workers
	workers = n
	return func() { workers = old }
}

// SetOrderKey replaces the order-id fingerprint of raw rows until the
// returned func restores it.
func SetOrderKey(key func(string) uint64) func() {
	old := orderKey
	orderKey = key
	return func() { orderKey = old }
}
