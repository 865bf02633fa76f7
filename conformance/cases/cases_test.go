package cases

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/conformance"
)

var idRE = regexp.MustCompile(`^[a-z][a-z0-9-]*(/[^/\s]+)+$`)

var sections = []string{"bootstrap", "framing", "delivery", "serial", "vectors", "channel", "exec",
	"status", "reconfigure", "errors", "concurrency", "termination", "robustness", "property", "via",
	"rsync"}

func TestCatalogue(t *testing.T) {
	all := All()
	if err := conformance.CheckCases(all); err != nil {
		t.Fatal(err)
	}
	if len(all) < 300 {
		t.Errorf("only %d cases", len(all))
	}
	order := map[string]int{}
	for i, s := range sections {
		order[s] = i
	}
	last := -1
	for _, c := range all {
		if !idRE.MatchString(c.ID) {
			t.Errorf("case id %q is not made of readable path segments", c.ID)
		}
		sec, ok := order[c.Section()]
		if !ok {
			t.Errorf("case %s: unknown section %q", c.ID, c.Section())
		} else if sec < last {
			t.Errorf("case %s: section %q out of order", c.ID, c.Section())
		} else {
			last = sec
		}
		if len(c.Clauses) == 0 {
			t.Errorf("case %s cites no clause", c.ID)
		}
		// The cases of an optional profile (SPEC.md 12.8) are the section
		// of that name, and only they carry the profile.
		profiles := []string{"via", "rsync"}
		if sec := c.Section(); (slices.Contains(profiles, sec) || c.Profile != "") && c.Profile != sec {
			t.Errorf("case %s: profile %q in section %q", c.ID, c.Profile, c.Section())
		}
		if c.Description == "" || strings.Contains(c.Description, "\n") {
			t.Errorf("case %s: description must be one non-empty line", c.ID)
		}
		if c.Level != conformance.MUST && c.Level != conformance.SHOULD {
			t.Errorf("case %s: level %q", c.ID, c.Level)
		}
	}
}

func TestAllDeterministic(t *testing.T) {
	ids := func() []string {
		var out []string
		for _, c := range All() {
			out = append(out, c.ID+" "+strings.Join(c.Clauses, ","))
		}
		return out
	}
	if a, b := ids(), ids(); !reflect.DeepEqual(a, b) {
		t.Fatal("All() is not deterministic")
	}
}

func TestVectorsCovered(t *testing.T) {
	vs, err := loadVectors()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range All() {
		ids[c.ID] = true
	}
	skipped := 0
	for _, v := range vs {
		if skipVector(v) {
			skipped++
			continue
		}
		var want string
		switch v.Class {
		case "reject":
			want = "vectors/" + v.Name
		default:
			want = "vectors/" + v.Name + "/decode"
		}
		if !ids[want] {
			t.Errorf("vector %s (%s) has no case %s", v.Name, v.Class, want)
		}
	}
	// Only the versioned vectors and a handful of limit vectors are left out.
	if skipped > len(vs)/8 {
		t.Errorf("%d of %d vectors are left out of the suite", skipped, len(vs))
	}
}
