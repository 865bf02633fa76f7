// Package mutation measures the power of the conformance suite: it makes
// small changes (mutants) to the Go reference worker and codec, runs the
// suite against each mutant, and reports which mutants the suite kills.
//
// Run it with
//
//	go run ./tools/mutate
//
// (slow: about 45 minutes for the default 160 mutants on two busy cores;
// not part of CI). See
// tools/mutate for the flags and testdata/mutation for the committed
// report.
//
// Mutants are made by a small go/ast mutator (Generate): comparison
// boundaries and negations, && and ||, arithmetic and bitwise operators,
// ++ and --, integer literals plus and minus one, true and false, negated
// if conditions, removed call statements, and error returns replaced by
// nil. Only functions that the worker binary links (as "go tool nm"
// shows for a build without inlining) are mutated: code of the same
// packages that only a master or the CLI uses is out of scope.
//
// The runner shares the codec and framing code with the worker, so a
// mutant of that code must not change the judge along with the judged:
// the runner is built once from the unmutated tree, and each mutant
// builds only the worker command (internal/mutation/worker) with the
// mutated file swapped in by "go build -overlay". A mutant whose worker
// code is byte for byte the original's is equivalent by construction and
// is not run. Each run stops at the first unexpected outcome; a kill by
// TIMEOUT is confirmed by running that case again on its own, and a run
// stopped at the wall-clock bound is run once more.
//
// Survivors are explained by hand in a JSON file keyed by mutant id
// (ReadExplanations), merged into the report by NewReport: equivalent
// (argued), unspecified (the worker behaves differently only where
// SPEC.md sets no rule) or gap (with the case that would catch it). A
// mutant id names file, function, operator and ordinal within the
// function, so it survives edits elsewhere and an explanation carries
// over to a re-run.
package mutation
