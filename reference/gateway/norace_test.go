//go:build !race

package gateway

// raceEnabled is true in builds with the race detector.
const raceEnabled = false
