package conformance

import (
	"strings"
	"time"
)

// Level is the requirement level of a case: the strongest BCP 14 keyword of
// the clauses it checks.
type Level string

// Requirement levels.
const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
	MAY    Level = "MAY"
)

// Case is one conformance check.
type Case struct {
	// ID is stable and readable, e.g. "serial/int/beyond-int32-negative".
	// Its first path element names the spec section group (bootstrap,
	// framing, delivery, serial, vectors, channel, exec, status, reconfigure, errors,
	// concurrency, termination, robustness, property, and rsync for the optional
	// rsync profile).
	ID string
	// Clauses are the SPEC.md anchors the case checks, without brackets,
	// e.g. "SER-INT-3".
	Clauses []string
	// Level is the requirement level; a failing SHOULD case is still
	// reported as a failure.
	Level Level
	// Description is one line saying what is checked.
	Description string
	// Profile names the optional profile of SPEC.md 12.8 whose features
	// the case checks ("via"), or is "" for the core profile. A case of an
	// optional profile runs only when the selection claims that profile
	// (Selector.Profiles): a port that does not claim it is not judged by
	// it.
	Profile string
	// Fresh asks for a brand-new target session (e.g. termination cases,
	// or cases that change gateway-wide state).
	Fresh bool
	// Timeout bounds the case; 0 means Options.Timeout.
	Timeout time.Duration
	// Run performs the check.
	Run func(t *T)
}

// Section returns the first path element of the case id.
func (c Case) Section() string {
	s, _, _ := strings.Cut(c.ID, "/")
	return s
}

// Outcome is the verdict of one case.
type Outcome string

// Outcomes. Fail, XPass, Timeout, Crash, Blocked and Interrupted are
// unexpected and fail a run.
const (
	Pass    Outcome = "pass"
	Fail    Outcome = "fail"
	XFail   Outcome = "xfail" // listed as known-failing and failed as listed
	XPass   Outcome = "xpass" // listed as known-failing but passed
	Skip    Outcome = "skip"
	Timeout Outcome = "timeout"
	Crash   Outcome = "crash"
	// Blocked: not run, because the target failed the same way in the
	// cases before (it cannot be started, every session desynchronises,
	// STATUS is never answered); the message says how.
	Blocked Outcome = "blocked"
	// Interrupted: the run ended (interrupt, the run's time limit) while
	// the case ran or before it was reached; no verdict.
	Interrupted Outcome = "interrupted"
)

// Outcomes returns every outcome in report order.
func Outcomes() []Outcome {
	return []Outcome{Pass, Fail, XFail, XPass, Skip, Timeout, Crash, Blocked, Interrupted}
}

// Unexpected reports whether the outcome fails a run.
func (o Outcome) Unexpected() bool {
	switch o {
	case Fail, XPass, Timeout, Crash, Blocked, Interrupted:
		return true
	}
	return false
}

// failing reports whether the outcome means the implementation did not
// behave as the case requires (before known-failing adjustment).
func (o Outcome) failing() bool { return o == Fail || o == Timeout || o == Crash }
