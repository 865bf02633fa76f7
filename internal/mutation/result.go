package mutation

import "strings"

// Status is what became of one mutant.
type Status string

// The statuses of a mutant.
const (
	Killed       Status = "killed"        // the suite reported an unexpected outcome, or refused the target
	Survived     Status = "survived"      // the whole suite passed against it
	NotCompiled  Status = "not-compiled"  // the mutated tree does not build; not counted
	IdenticalBin Status = "identical-bin" // the worker's code is byte for byte the original's: equivalent, proven by the compiler
)

// Result is the outcome of one mutant.
type Result struct {
	Mutant
	Status Status `json:"status"`
	// Case, Outcome and Message describe the first unexpected outcome
	// of a killed mutant (Case is empty when the runner refused the
	// target before any case, Outcome then says how).
	Case    string `json:"case,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Message string `json:"message,omitempty"`
	// Retried is set when a first kill by TIMEOUT (or by the wall-clock
	// bound) did not reproduce on its own and the suite was run again.
	Retried bool `json:"retried,omitempty"`
}

// Run is the outcome of a harness run.
type Run struct {
	Seed      int64    `json:"seed"`
	Packages  []string `json:"packages"`
	Generated int      `json:"generated"` // mutants of the reachable functions
	Sampled   int      `json:"sampled"`
	Results   []Result `json:"results"` // the sampled mutants, by id
}

// oneLine folds s to one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
