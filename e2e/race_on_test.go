//go:build race

package e2e_test

// raceEnabled scales the heaviest whole-job tests down under the race
// detector, which slows the job tenfold: the race pass is there for the
// goroutines, the plain pass (`go test ./e2e/`) for the full-size shops.
const raceEnabled = true
