package execnetconform

import "embed"

// KnownFailures holds the known-failing lists of testdata/known-failures,
// so that a binary built with "go install" can select them by name: the
// file testdata/known-failures/NAME.txt is the list NAME (for example
// "execnet-1.9.0" or "execnet-1.9.0-pypy"). Adding a .txt file to that
// directory is all it takes to add a list.
//
//go:embed testdata/known-failures/*.txt
var KnownFailures embed.FS

// KnownFailuresDir is the directory of KnownFailures holding the lists.
const KnownFailuresDir = "testdata/known-failures"
