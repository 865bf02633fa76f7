package cases

import (
	"slices"
	"testing"
)

// TestAppendixAClauses checks that each replayed row of SPEC.md Appendix A
// cites the clause its input exercises: A-40 (NEWLIST beyond the input) is
// the slot bound LIM-ALLOC-2, A-41 (a 4301-digit LONGINT) the digit limit
// LIM-INT-2.
func TestAppendixAClauses(t *testing.T) {
	want := map[string]string{"vectors/appendix-a/A-40": "LIM-ALLOC-2", "vectors/appendix-a/A-41": "LIM-INT-2"}
	wrong := map[string]string{"vectors/appendix-a/A-40": "LIM-INT-2", "vectors/appendix-a/A-41": "LIM-ALLOC-2"}
	found := 0
	for _, c := range All() {
		w, ok := want[c.ID]
		if !ok {
			continue
		}
		found++
		if !slices.Contains(c.Clauses, w) || slices.Contains(c.Clauses, wrong[c.ID]) {
			t.Errorf("%s cites %v, want %s and not %s", c.ID, c.Clauses, w, wrong[c.ID])
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the Appendix A cases %v", found, want)
	}
}
