package execnetconform

import _ "embed"

// VectorsJSON is testdata/vectors/vectors.json, the golden codec vectors
// generated from real execnet, for the conformance cases that replay them
// against a target.
//
//go:embed testdata/vectors/vectors.json
var VectorsJSON []byte
