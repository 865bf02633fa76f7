//go:build !race

package worker_test

// raceBuild reports whether the tests run under the race detector.
const raceBuild = false
