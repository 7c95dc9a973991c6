//go:build !race

package e2e_test

// raceEnabled is false in the plain pass, which runs every shop at full size.
const raceEnabled = false
