package difffuzz

import (
	"fmt"
	"strings"

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
			fmt.Sprintf("%d conform_loads inputs, %d conform_dumps values, %d inputs answered by the reference only (%s)",
				r.LoadsExecs, r.DumpsExecs, r.ReferenceOnly, ReferenceOnlyReason),
			fmt.Sprintf("%d disagreement classes, %d unclassified", len(r.Findings), len(r.Unclassified())),
		},
		Duration: r.Duration,
	})
	rows := map[string]string{}
	if devs, err := spec.Deviations(); err == nil {
		for _, d := range devs {
			rows[d.ID] = d.Behaviour
		}
	}
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
				Reason: deviationReason(f, rows[f.Deviation])}
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

// ReferenceOnlyReason explains Report.ReferenceOnly: which inputs are not
// sent to the target, and why.
var ReferenceOnlyReason = fmt.Sprintf("inputs holding a NEWLIST of more than %d slots are decoded by the reference codec only, "+
	"not sent: execnet allocates the whole list before reading its items, so one such input can exhaust a Python target's memory (SPEC.md Appendix B DEV-13)", maxListSlots)

// deviationReason is the reason shown for a finding that is a known
// deviation: the Appendix B row's behaviour (its first sentence, short)
// and the minimized example.
func deviationReason(f Finding, behaviour string) string {
	title := strings.Join(strings.Fields(behaviour), " ")
	for _, sep := range []string{"; ", " ("} { // the first clause: the row's gist
		if i := strings.Index(title, sep); i > 0 {
			title = title[:i]
		}
	}
	title = strings.ReplaceAll(title, "`", "")
	if len(title) > 140 {
		title = title[:137] + "..."
	}
	if title == "" {
		title = "known deviation of Python execnet (SPEC.md Appendix B)"
	}
	var ex string
	if f.Direction == "dumps" && f.Value != "" {
		ex = "dumps " + shorten(f.Value, 80)
	} else {
		ex = "loads " + shorten(f.Hex, 80)
	}
	return title + "; example: " + ex + " -> target " + shorten(f.Target, 100)
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
