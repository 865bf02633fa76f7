package conformance

// Exemption records a MUST clause of SPEC.md that no case can check from a
// master speaking to a worker over the wire (for example a rule binding
// masters, or the contents of a process's file descriptors), together with
// the Go test that covers it instead.
type Exemption struct {
	Clause    string // anchor without brackets, e.g. "BOOT-HS-3"
	CoveredBy string // package and test name, e.g. "reference/transport TestPopenNoFrameBeforeReady"
	Reason    string // why the clause is not wire-testable from a master
}

// Exemptions returns the clauses exempt from the coverage rule that every
// MUST clause is cited by at least one case.
func Exemptions() []Exemption {
	return []Exemption{}
}
