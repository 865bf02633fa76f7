package conformance

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Selector chooses cases by id. A pattern is a slash-separated list of
// path.Match globs, one per id segment, where the segment ** matches any
// number of segments (none included); a pattern with fewer segments than
// an id matches it as a prefix ("serial" and "serial/*" both match
// "serial/int/zero"; "*/int" matches "serial/int/zero"; "serial/**/echo"
// matches "serial/int/zero/echo"; "**/echo" any case with an echo
// segment). A case is selected when it matches some Run pattern (or Run
// is empty), no Skip pattern, is in Only (when Only is not nil), and
// belongs to the core profile or to one of Profiles (see Selects).
type Selector struct {
	Run  []string
	Skip []string
	// Profiles lists the optional profiles of SPEC.md 12.8 the target
	// claims, by the names cases carry in Case.Profile ("via"), or
	// AllProfiles for every one. The cases of other optional profiles are
	// not selected: by default only the core profile is tested.
	Profiles []string
	// Only, when not nil, limits the selection to these case ids: for
	// example the cases that cite a clause (CasesCiting), or those of
	// the levels asked for (CasesAtLevels).
	Only map[string]bool
}

// SplitPatterns splits comma-separated pattern lists, dropping empty ones.
func SplitPatterns(lists ...string) []string {
	var out []string
	for _, l := range lists {
		for p := range strings.SplitSeq(l, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Validate reports the first malformed pattern.
func (s Selector) Validate() error {
	for _, p := range append(append([]string(nil), s.Run...), s.Skip...) {
		for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
			if _, err := path.Match(seg, ""); err != nil {
				return fmt.Errorf("bad case pattern %q: %w", p, err)
			}
		}
	}
	return nil
}

// AllProfiles in Selector.Profiles claims every optional profile.
const AllProfiles = "all"

// Selects reports whether the case is selected: its id matches (Match)
// and its profile is the core profile or one that Profiles claims.
func (s Selector) Selects(c Case) bool {
	return s.ClaimsProfile(c.Profile) && s.Match(c.ID)
}

// ClaimsProfile reports whether the cases of profile p are selected: p is
// "" (the core profile), or Profiles lists p or AllProfiles.
func (s Selector) ClaimsProfile(p string) bool {
	return p == "" || slices.Contains(s.Profiles, p) || slices.Contains(s.Profiles, AllProfiles)
}

// CaseProfiles returns the optional profiles that the cases belong to,
// sorted, without the core profile.
func CaseProfiles(cases []Case) []string {
	var out []string
	for _, c := range cases {
		if c.Profile != "" && !slices.Contains(out, c.Profile) {
			out = append(out, c.Profile)
		}
	}
	slices.Sort(out)
	return out
}

// CheckProfiles reports a profile name that is neither AllProfiles nor
// the profile of one of the cases.
func CheckProfiles(profiles []string, cases []Case) error {
	known := CaseProfiles(cases)
	for _, p := range profiles {
		if p != AllProfiles && !slices.Contains(known, p) {
			return fmt.Errorf("unknown profile %q (the suite's optional profiles: %s, or %s)", p, strings.Join(known, ", "), AllProfiles)
		}
	}
	return nil
}

// Match reports whether the case id is selected by Run, Skip and Only;
// it does not look at profiles (Selects does).
func (s Selector) Match(id string) bool {
	if s.Only != nil && !s.Only[id] {
		return false
	}
	if len(s.Run) > 0 && !matchAny(s.Run, id) {
		return false
	}
	return !matchAny(s.Skip, id)
}

func matchAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if MatchPattern(p, id) {
			return true
		}
	}
	return false
}

// MatchPattern reports whether pattern selects the case id (see Selector).
func MatchPattern(pattern, id string) bool {
	pattern = strings.Trim(pattern, "/")
	if pattern == "" {
		return true
	}
	return matchSegments(strings.Split(pattern, "/"), strings.Split(id, "/"))
}

// matchSegments matches pattern segments against id segments, as a
// prefix; ** matches any number of id segments.
func matchSegments(ps, ids []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			for k := 0; k <= len(ids); k++ {
				if matchSegments(ps[1:], ids[k:]) {
					return true
				}
			}
			return false
		}
		if len(ids) == 0 {
			return false
		}
		if ok, err := path.Match(ps[0], ids[0]); err != nil || !ok {
			return false
		}
		ps, ids = ps[1:], ids[1:]
	}
	return true
}

// CasesCiting returns the ids of the cases that cite a clause matching one
// of the patterns: clause ids such as SER-INT-1 (brackets are ignored), or
// path.Match globs such as SER-INT-*. A pattern that names no clause of
// SPEC.md, or whose clauses no case cites, is an error.
func CasesCiting(cases []Case, patterns []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range patterns {
		p = strings.Trim(strings.TrimSpace(p), "[]")
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad clause pattern %q: %w", p, err)
		}
		glob := strings.ContainsAny(p, "*?[")
		if !glob {
			if _, _, ok := clauseInfo(p); !ok {
				return nil, fmt.Errorf("clause %s is not in SPEC.md", p)
			}
		}
		n := 0
		for _, c := range cases {
			for _, cl := range c.Clauses {
				if ok, _ := path.Match(p, cl); ok {
					out[c.ID] = true
					n++
					break
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no case cites clause %s (conformance/exempt.go lists the clauses that cannot be tested from the wire)", p)
		}
	}
	return out, nil
}

// CasesAtLevels returns the ids of the cases whose level is one of levels.
func CasesAtLevels(cases []Case, levels ...Level) map[string]bool {
	out := map[string]bool{}
	for _, c := range cases {
		if slices.Contains(levels, c.Level) {
			out[c.ID] = true
		}
	}
	return out
}

// Intersect returns the ids in both sets; a nil set stands for all ids.
func Intersect(a, b map[string]bool) map[string]bool {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := map[string]bool{}
	for id := range a {
		if b[id] {
			out[id] = true
		}
	}
	return out
}
