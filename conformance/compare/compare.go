// Package compare compares conformance runs: two run reports case by case
// (Compare), or several runs side by side (NewMatrix, RunMatrix).
//
//	old, _ := compare.ReadReportFile("execnet-1.9.json")
//	new, _ := compare.ReadReportFile("execnet-2.1.json")
//	d := compare.Compare(old, new)
//	compare.WriteText(os.Stdout, d)
//	if d.Regressions() > 0 { os.Exit(1) }
//
// A comparison looks at what each case says about the implementation, not
// at the known-failing lists the runs used: a case that failed as listed
// (xfail) failed, one that passed despite its entry (xpass) passed (see
// Status). Each case that differs gets a Kind: fixed, regressed, changed
// (failed in both runs, but differently), skip (skipped in one run only),
// new or removed.
package compare

import (
	"sort"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/normalize"
)

// Kind says how a case differs between two runs.
type Kind string

// Kinds, in report order.
const (
	Regressed Kind = "regressed" // passed before, fails now
	Changed   Kind = "changed"   // failed before and now, differently (outcome or message)
	Fixed     Kind = "fixed"     // failed before, passes now
	SkipDiff  Kind = "skip"      // skipped in exactly one of the runs
	Added     Kind = "new"       // only in the new run
	Removed   Kind = "removed"   // only in the old run
)

// Kinds returns every kind in report order.
func Kinds() []Kind { return []Kind{Regressed, Changed, Fixed, SkipDiff, Added, Removed} }

// Side is one run's view of a case.
type Side struct {
	Outcome conformance.Outcome `json:"outcome"`
	Status  Status              `json:"status"`
	// Message is the case's own message (Case.RawMessage).
	Message   string `json:"message,omitempty"`
	Deviation string `json:"deviation,omitempty"` // the known-failing entry's DEV-N, if any
}

// Diff is one case that differs.
type Diff struct {
	ID      string   `json:"id"`
	Kind    Kind     `json:"kind"`
	Clauses []string `json:"clauses"`
	Old     *Side    `json:"old,omitempty"` // nil for a new case
	New     *Side    `json:"new,omitempty"` // nil for a removed case
	// Worse marks a changed failure that is now a crash and was not one
	// before. (A failure that became a timeout is only listed: whether a
	// slow case meets its deadline depends on the machine's load.)
	Worse bool `json:"worse,omitempty"`
}

// Regression reports whether the diff fails a comparison: a regressed
// case, or a failure that became worse.
func (d Diff) Regression() bool { return d.Kind == Regressed || d.Worse }

// Comparison is the result of Compare.
type Comparison struct {
	Old, New *Report
	// Diffs lists the differing cases, by kind (Kinds order), then id.
	Diffs []Diff
	// Same counts the cases present in both runs with the same status and,
	// for failures, the same failure.
	Same int
}

// Counts returns the number of diffs per kind (every kind present).
func (c *Comparison) Counts() map[Kind]int {
	m := map[Kind]int{}
	for _, k := range Kinds() {
		m[k] = 0
	}
	for _, d := range c.Diffs {
		m[d.Kind]++
	}
	return m
}

// Regressions returns the number of diffs that fail the comparison
// (Diff.Regression).
func (c *Comparison) Regressions() int {
	n := 0
	for _, d := range c.Diffs {
		if d.Regression() {
			n++
		}
	}
	return n
}

// OK reports whether the comparison has no regression.
func (c *Comparison) OK() bool { return c.Regressions() == 0 }

// normMessage removes what differs from run to run without saying
// anything about the implementation (package normalize).
func normMessage(s string) string { return normalize.Text(s) }

func side(c Case) *Side {
	s := &Side{Outcome: c.Outcome, Status: StatusOf(c.Outcome), Message: c.RawMessage()}
	if c.Known != nil {
		s.Deviation = c.Known.Deviation
	}
	return s
}

// Compare compares two runs case by case.
func Compare(old, new *Report) *Comparison {
	cmp := &Comparison{Old: old, New: new}
	oldByID := make(map[string]Case, len(old.Cases))
	for _, c := range old.Cases {
		oldByID[c.ID] = c
	}
	newIDs := make(map[string]bool, len(new.Cases))
	for _, nc := range new.Cases {
		newIDs[nc.ID] = true
		oc, ok := oldByID[nc.ID]
		if !ok {
			cmp.Diffs = append(cmp.Diffs, Diff{ID: nc.ID, Kind: Added, Clauses: clauses(nc.Clauses), New: side(nc)})
			continue
		}
		o, n := side(oc), side(nc)
		d := Diff{ID: nc.ID, Clauses: clauses(nc.Clauses), Old: o, New: n}
		switch {
		case o.Status == n.Status && o.Status != Failed:
			cmp.Same++
			continue
		case o.Status == Failed && n.Status == Failed:
			if failureKind(o.Outcome) == failureKind(n.Outcome) && normMessage(o.Message) == normMessage(n.Message) {
				cmp.Same++
				continue
			}
			d.Kind = Changed
			d.Worse = n.Outcome == conformance.Crash && o.Outcome != conformance.Crash
		case o.Status == Skipped || n.Status == Skipped:
			d.Kind = SkipDiff
		case o.Status == Passed:
			d.Kind = Regressed
		default:
			d.Kind = Fixed
		}
		cmp.Diffs = append(cmp.Diffs, d)
	}
	for _, oc := range old.Cases {
		if !newIDs[oc.ID] {
			cmp.Diffs = append(cmp.Diffs, Diff{ID: oc.ID, Kind: Removed, Clauses: clauses(oc.Clauses), Old: side(oc)})
		}
	}
	order := map[Kind]int{}
	for i, k := range Kinds() {
		order[k] = i
	}
	sort.SliceStable(cmp.Diffs, func(i, j int) bool {
		a, b := cmp.Diffs[i], cmp.Diffs[j]
		if order[a.Kind] != order[b.Kind] {
			return order[a.Kind] < order[b.Kind]
		}
		return a.ID < b.ID
	})
	return cmp
}

func clauses(c []string) []string {
	if c == nil {
		return []string{}
	}
	return c
}
