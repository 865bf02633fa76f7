package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
)

// ErrReport is matched (errors.Is) by every error about a report that
// cannot be read: not JSON, or not a run report of a known schema.
var ErrReport = errors.New("compare: bad report")

// Report is the part of a run report ("execnet-conform/run/v1", written
// by "execnet-conform run --format json") that comparisons use.
type Report struct {
	Schema         string            `json:"schema"`
	SuiteVersion   string            `json:"suite_version"`
	SpecVersion    string            `json:"spec_version"`
	Target         string            `json:"target"`
	Implementation map[string]string `json:"implementation"`
	Seed           int64             `json:"seed"`
	Cases          []Case            `json:"cases"`
}

// Case is one case of a report.
type Case struct {
	ID      string              `json:"id"`
	Clauses []string            `json:"clauses"`
	Outcome conformance.Outcome `json:"outcome"`
	Message string              `json:"message,omitempty"`
	Known   *Known              `json:"known_failing,omitempty"`
}

// Known is the known-failing entry a case matched.
type Known struct {
	Deviation string `json:"deviation"`
	Reason    string `json:"reason"`
}

// ReadReport decodes a run report. Errors match ErrReport.
func ReadReport(r io.Reader, name string) (*Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrReport, name, err)
	}
	if !strings.HasPrefix(rep.Schema, "execnet-conform/run/") {
		return nil, fmt.Errorf("%w: %s: schema %q is not a run report (want %s, from \"execnet-conform run --format json\")",
			ErrReport, name, rep.Schema, conformance.Schema)
	}
	if rep.Schema != conformance.Schema {
		return nil, fmt.Errorf("%w: %s: schema %q is not supported (want %s)", ErrReport, name, rep.Schema, conformance.Schema)
	}
	seen := make(map[string]bool, len(rep.Cases))
	for i, c := range rep.Cases {
		if c.ID == "" {
			return nil, fmt.Errorf("%w: %s: case %d has no id", ErrReport, name, i)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("%w: %s: case %s appears twice", ErrReport, name, c.ID)
		}
		if !knownOutcome(c.Outcome) {
			return nil, fmt.Errorf("%w: %s: case %s has an unknown outcome %q", ErrReport, name, c.ID, c.Outcome)
		}
		seen[c.ID] = true
	}
	return &rep, nil
}

// ReadReportFile reads a run report from a file.
func ReadReportFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReport, err)
	}
	defer f.Close()
	return ReadReport(f, path)
}

func knownOutcome(o conformance.Outcome) bool {
	for _, x := range conformance.Outcomes() {
		if o == x {
			return true
		}
	}
	return false
}

// FromResult converts a run's result into a Report, as ReadReport would
// read its JSON form.
func FromResult(res *conformance.Result) *Report {
	rep := &Report{Schema: conformance.Schema, SuiteVersion: res.SuiteVersion, SpecVersion: res.SpecVersion,
		Target: res.Target, Implementation: res.Implementation, Seed: res.Seed}
	for _, c := range res.Cases {
		rc := Case{ID: c.ID, Clauses: c.Clauses, Outcome: c.Outcome, Message: c.Message}
		if c.Known != nil {
			rc.Known = &Known{Deviation: c.Known.Deviation, Reason: c.Known.Reason}
		}
		rep.Cases = append(rep.Cases, rc)
	}
	return rep
}

// Name returns a short name of the report's target: the implementation's
// name and version when the target reported them, else the target spec.
func (r *Report) Name() string {
	impl := r.Implementation
	name := impl["implementation"]
	if name == "" {
		name = impl["language"]
	}
	if v := impl["version"]; v != "" && name != "" {
		return name + " " + v
	}
	if name != "" {
		return name
	}
	return r.Target
}

// Status is what a case's outcome says about the implementation, with
// known-failing lists taken out: a case listed as known-failing that
// failed as listed (xfail) failed, one that passed anyway (xpass) passed.
type Status string

// Statuses.
const (
	Passed  Status = "passed"  // pass, xpass
	Failed  Status = "failed"  // fail, xfail, timeout, crash
	Skipped Status = "skipped" // skip
)

// StatusOf returns the status of an outcome.
func StatusOf(o conformance.Outcome) Status {
	switch o {
	case conformance.Pass, conformance.XPass:
		return Passed
	case conformance.Skip:
		return Skipped
	}
	return Failed
}

// failureKind is the kind of a failed outcome: xfail is a plain failure
// that a list expected.
func failureKind(o conformance.Outcome) conformance.Outcome {
	if o == conformance.XFail {
		return conformance.Fail
	}
	return o
}

// RawMessage returns the case's own failure message, without what the
// known-failing list added to it ("known failure DEV-N (reason): " before
// an xfail's message, "failed differently than listed ...: OUTCOME: "
// before a failure the list did not expect), so that the same failure
// compares equal whether or not a list named it.
func (c Case) RawMessage() string {
	m := c.Message
	if c.Known == nil {
		return m
	}
	switch c.Outcome {
	case conformance.XFail:
		p := "known failure " + c.Known.Deviation + " (" + c.Known.Reason + "): "
		if rest, ok := strings.CutPrefix(m, p); ok {
			return rest
		}
	case conformance.Fail, conformance.Timeout, conformance.Crash:
		if strings.HasPrefix(m, "failed differently than listed") {
			marker := "): " + string(c.Outcome) + ": "
			if i := strings.Index(m, marker); i >= 0 {
				return m[i+len(marker):]
			}
		}
	case conformance.XPass, conformance.Pass:
		return ""
	}
	return m
}
