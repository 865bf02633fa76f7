// Package fuzz holds native Go fuzz targets for the reference
// implementation:
//
//   - FuzzLoads, FuzzLoadsVersioned: the codec's wire and public decoders;
//     whatever they accept re-encodes to bytes that decode to an identical
//     value, and every rejection is a typed *codec.DecodeError.
//   - FuzzFrameReader: the frame reader; errors are typed, memory stays
//     bounded by the input.
//   - FuzzParseLiteral: the Python literal parser; Repr of what it parses
//     parses back to the same value.
//   - FuzzXspecParse: the xspec parser.
//   - FuzzWorkerReceive: arbitrary bytes into a Go worker gateway after the
//     handshake; it ends or answers within its bound, writes only
//     well-formed frames and leaks no goroutine.
//
// Run one with, for example:
//
//	go test ./fuzz -run='^$' -fuzz=FuzzLoads -fuzztime=60s
//
// Plain `go test ./fuzz` runs every target over its seed corpus: the golden
// vectors in testdata/vectors/vectors.json plus the files checked in under
// fuzz/testdata/fuzz/. .ci/run fuzzes each target for 20 s.
package fuzz
