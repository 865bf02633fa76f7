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

func TestSelectorProfiles(t *testing.T) {
	core := Case{ID: "a/core", Level: MUST}
	via := Case{ID: "via/hop/x", Level: MUST, Profile: "via"}
	other := Case{ID: "q/y", Level: MUST, Profile: "other"}
	for _, tc := range []struct {
		profiles []string
		want     map[string]bool
	}{
		{nil, map[string]bool{"a/core": true}},
		{[]string{"via"}, map[string]bool{"a/core": true, "via/hop/x": true}},
		{[]string{"other", "via"}, map[string]bool{"a/core": true, "via/hop/x": true, "q/y": true}},
		{[]string{AllProfiles}, map[string]bool{"a/core": true, "via/hop/x": true, "q/y": true}},
	} {
		s := Selector{Profiles: tc.profiles}
		for _, c := range []Case{core, via, other} {
			if got := s.Selects(c); got != tc.want[c.ID] {
				t.Errorf("profiles %v: Selects(%s) = %v", tc.profiles, c.ID, got)
			}
		}
	}
	if s := (Selector{Profiles: []string{"via"}, Run: []string{"a"}}); s.Selects(via) || !s.Selects(core) {
		t.Error("a claimed profile's case is selected although --run does not match it")
	}
	cs := []Case{core, via, other}
	if got := CaseProfiles(cs); len(got) != 2 || got[0] != "other" || got[1] != "via" {
		t.Errorf("CaseProfiles = %v", got)
	}
	if err := CheckProfiles([]string{"via", AllProfiles}, cs); err != nil {
		t.Error(err)
	}
	if err := CheckProfiles([]string{"vai"}, cs); err == nil {
		t.Error("an unknown profile is accepted")
	}
}
