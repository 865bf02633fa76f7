package conformance

import "testing"

func TestMatchPatternDoubleStar(t *testing.T) {
	for _, tc := range []struct {
		pattern, id string
		want        bool
	}{
		{"serial", "serial/int/zero/echo", true},
		{"serial/*/zero", "serial/int/zero/echo", true},
		{"serial/**/echo", "serial/int/zero/echo", true},
		{"serial/**/echo", "serial/echo", true},
		{"serial/**/echo", "serial/int/zero/dumps", false},
		{"**/zero/echo", "serial/int/zero/echo", true},
		{"**/zero", "vectors/int/zero/decode", true},
		{"**/nope", "serial/int/zero/echo", false},
		{"**", "anything/at/all", true},
		{"serial/**", "serial", true},
		{"serial/**/int/**/echo", "serial/int/zero/echo", true},
		{"channel/**/e*o", "channel/a/b/c/echo", true},
		{"channel/**/e*o", "serial/a/b/c/echo", false},
	} {
		if got := MatchPattern(tc.pattern, tc.id); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pattern, tc.id, got, tc.want)
		}
	}
}

func TestCasesCiting(t *testing.T) {
	cs := []Case{
		{ID: "a/one", Level: MUST, Clauses: []string{"SER-INT-1"}},
		{ID: "a/two", Level: SHOULD, Clauses: []string{"SER-INT-2", "MSG-STATUS-3"}},
		{ID: "b/three", Level: MUST, Clauses: []string{"MSG-DATA-2"}},
	}
	got, err := CasesCiting(cs, []string{"[SER-INT-1]"})
	if err != nil || len(got) != 1 || !got["a/one"] {
		t.Errorf("SER-INT-1: %v, %v", got, err)
	}
	got, err = CasesCiting(cs, []string{"SER-INT-*"})
	if err != nil || len(got) != 2 {
		t.Errorf("SER-INT-*: %v, %v", got, err)
	}
	if _, err := CasesCiting(cs, []string{"NOPE-1"}); err == nil {
		t.Error("an unknown clause is accepted")
	}
	if _, err := CasesCiting(cs, []string{"SER-FLOAT-*"}); err == nil {
		t.Error("a pattern no case cites is accepted")
	}
	must := CasesAtLevels(cs, MUST)
	if len(must) != 2 || must["a/two"] {
		t.Errorf("CasesAtLevels(MUST) = %v", must)
	}
	if both := Intersect(got, must); len(both) != 1 || !both["a/one"] {
		t.Errorf("Intersect = %v", both)
	}
	s := Selector{Only: must}
	if s.Match("a/two") || !s.Match("b/three") {
		t.Error("Selector.Only is not applied")
	}
}
