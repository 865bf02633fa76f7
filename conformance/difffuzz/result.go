package difffuzz

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Result converts the report to a conformance.Result, so that the report
// writers of `execnet-conform run` (text, JSON, JUnit) print it: one case
// "fuzz/summary" that passes and logs the counts, and one case per
// finding, failing, or xfail when the finding is a known deviation.
func (r *Report) Result() *conformance.Result {
	res := &conformance.Result{
		SuiteVersion:   "fuzz",
		SpecVersion:    spec.Version,
		Target:         r.Target,
		Implementation: r.Implementation,
		Seed:           r.Seed,
		Count:          1,
		Started:        r.Started,
		Duration:       r.Duration,
	}
	res.Cases = append(res.Cases, conformance.CaseResult{
		ID:          "fuzz/summary",
		Level:       conformance.MUST,
		Description: "differential fuzzing against the reference codec",
		Outcome:     conformance.Pass,
		Logs: []string{
			fmt.Sprintf("%d conform_loads inputs, %d conform_dumps values, %d inputs answered by the reference only (NEWLIST over %d slots)",
				r.LoadsExecs, r.DumpsExecs, r.ReferenceOnly, maxListSlots),
			fmt.Sprintf("%d disagreement classes, %d unclassified", len(r.Findings), len(r.Unclassified())),
		},
		Duration: r.Duration,
	})
	for _, f := range r.Findings {
		c := conformance.CaseResult{
			ID:          "fuzz/" + f.Key,
			Clauses:     f.Clauses,
			Level:       level(f.Clauses),
			Description: f.Direction + " " + f.Kind + " disagreement",
			Outcome:     conformance.Fail,
			Message:     f.String(),
		}
		if f.Classified() {
			c.Outcome = conformance.XFail
			c.Known = &conformance.KnownFailure{CaseID: c.ID, Deviation: f.Deviation,
				Reason: "known deviation of Python execnet (SPEC.md Appendix B)"}
		}
		res.Cases = append(res.Cases, c)
	}
	return res
}

// level is the strongest level among the clauses (MUST when none is known).
func level(ids []string) conformance.Level {
	best := conformance.Level("")
	for _, id := range ids {
		c, ok := spec.Lookup(id)
		if !ok {
			continue
		}
		switch {
		case c.Level == "MUST":
			return conformance.MUST
		case c.Level == "SHOULD":
			best = conformance.SHOULD
		case c.Level == "MAY" && best == "":
			best = conformance.MAY
		}
	}
	if best == "" {
		return conformance.MUST
	}
	return best
}
