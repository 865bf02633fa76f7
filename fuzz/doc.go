// Package fuzz holds native Go fuzz targets for the reference codec and
// frame reader. Run one with, for example:
//
//	go test ./fuzz -run='^$' -fuzz=FuzzLoads -fuzztime=60s
//
// Plain `go test ./fuzz` runs every target over its seed corpus: the golden
// vectors in testdata/vectors/vectors.json plus the files checked in under
// fuzz/testdata/fuzz/.
package fuzz
