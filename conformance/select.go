package conformance

import (
	"fmt"
	"path"
	"strings"
)

// Selector chooses cases by id. A pattern is a slash-separated list of
// path.Match globs, one per id segment; a pattern with fewer segments than
// an id matches it as a prefix ("serial" and "serial/*" both match
// "serial/int/zero"; "*/int" matches "serial/int/zero"). A case is
// selected when it matches some Run pattern (or Run is empty) and no Skip
// pattern.
type Selector struct {
	Run  []string
	Skip []string
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

// Match reports whether the case id is selected.
func (s Selector) Match(id string) bool {
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
	ps := strings.Split(pattern, "/")
	ids := strings.Split(id, "/")
	if len(ps) > len(ids) {
		return false
	}
	for i, p := range ps {
		ok, err := path.Match(p, ids[i])
		if err != nil || !ok {
			return false
		}
	}
	return true
}
