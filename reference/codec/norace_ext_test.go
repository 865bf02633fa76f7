//go:build !race

package codec_test

// raceEnabled is true in builds with the race detector.
const raceEnabled = false
