package conformance_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/cases"
	"github.com/execnet-conform/execnet-conform/spec"
)

// TestSpecCoverage checks the suite against SPEC.md: every MUST clause is
// cited by at least one case or exempted (with the Go test that covers it
// instead), every clause a case cites or an exemption names exists, and no
// clause is both cited and exempted.
func TestSpecCoverage(t *testing.T) {
	clauses, err := spec.Clauses()
	if err != nil {
		t.Fatalf("spec.Clauses: %v", err)
	}
	all := cases.All()
	if err := conformance.CheckCases(all); err != nil {
		t.Fatal(err)
	}
	cited := map[string][]string{}
	for _, c := range all {
		if len(c.Clauses) == 0 {
			t.Errorf("case %s cites no clause", c.ID)
		}
		for _, id := range c.Clauses {
			if _, ok := spec.Lookup(id); !ok {
				t.Errorf("case %s cites %s, which SPEC.md does not define", c.ID, id)
			}
			cited[id] = append(cited[id], c.ID)
		}
	}
	exempt := map[string]conformance.Exemption{}
	for _, e := range conformance.Exemptions() {
		if _, ok := spec.Lookup(e.Clause); !ok {
			t.Errorf("exemption names %s, which SPEC.md does not define", e.Clause)
		}
		if _, dup := exempt[e.Clause]; dup {
			t.Errorf("%s is exempted twice", e.Clause)
		}
		if e.CoveredBy == "" || e.Reason == "" {
			t.Errorf("exemption of %s needs CoveredBy and Reason", e.Clause)
		}
		if ids := cited[e.Clause]; len(ids) > 0 {
			t.Errorf("%s is exempted but cited by %s: drop the exemption", e.Clause, strings.Join(ids, ", "))
		}
		exempt[e.Clause] = e
	}
	var missing []string
	for _, c := range clauses {
		if c.Level != "MUST" {
			continue
		}
		if len(cited[c.ID]) == 0 {
			if _, ok := exempt[c.ID]; !ok {
				missing = append(missing, c.ID+" ("+c.Section+")")
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("MUST clause %s is cited by no case and not exempted", m)
	}
	if len(missing) > 0 {
		t.Logf("%d of the MUST clauses are uncovered; add a case citing each, or an entry in conformance/exempt.go", len(missing))
	}
}

// TestCaseLevels checks that a case's level is no stronger than the
// strongest clause it cites: a case checking only SHOULD clauses must not
// claim MUST.
func TestCaseLevels(t *testing.T) {
	rank := map[string]int{"MAY": 0, "SHOULD": 1, "MUST": 2}
	for _, c := range cases.All() {
		best := -1
		for _, id := range c.Clauses {
			if cl, ok := spec.Lookup(id); ok && rank[cl.Level] > best {
				best = rank[cl.Level]
			}
		}
		if best >= 0 && rank[string(c.Level)] > best {
			t.Errorf("case %s is %s but cites only clauses up to level %d (MAY=0, SHOULD=1)", c.ID, c.Level, best)
		}
	}
}

// TestKnownFailureLists checks every list in testdata/known-failures
// without running a target: each line parses, names a deviation of SPEC.md
// Appendix B, and names (or globs) at least one existing case.
func TestKnownFailureLists(t *testing.T) {
	files, err := filepath.Glob("../testdata/known-failures/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no known-failure lists yet")
	}
	all := cases.All()
	for _, f := range files {
		kf, err := conformance.LoadKnownFailing(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, k := range kf {
			found := false
			for _, c := range all {
				if conformance.MatchKnownID(k.CaseID, c.ID) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s:%d: %s names no case (stale entry)", k.File, k.Line, k.CaseID)
			}
		}
	}
}
