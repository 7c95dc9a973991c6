//go:build !race

package btyd

// raceEnabled reports a build with the race detector, which slows the
// arithmetic-bound statistical studies several times over.
const raceEnabled = false
