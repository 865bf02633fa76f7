package spec

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	execnetconform "github.com/execnet-conform/execnet-conform"
)

//go:embed vector_clauses.json
var vectorClausesJSON []byte

// Clause is one normative clause of SPEC.md.
type Clause struct {
	// ID is the anchor without brackets, e.g. "SER-INT-3".
	ID string
	// Level is the strongest BCP 14 keyword of the clause: "MUST" (for
	// MUST, MUST NOT, REQUIRED, SHALL, SHALL NOT), "SHOULD" (for SHOULD,
	// SHOULD NOT, RECOMMENDED) or "MAY" (for MAY, OPTIONAL).
	Level string
	// Section is the heading the clause appears under, e.g. "4.6 Integers".
	Section string
	// Text is the clause text after the anchor, with line breaks joined.
	Text string
}

// Deviation is one row of SPEC.md Appendix B: a place where Python execnet
// does not follow a clause.
type Deviation struct {
	// ID is the row identifier, e.g. "DEV-4".
	ID string
	// Clauses are the clause ids the row cites (possibly none).
	Clauses []string
	// Versions names the execnet versions affected.
	Versions string
	// Behaviour describes what execnet does.
	Behaviour string
	// VectorTag is the deviation id that testdata/vectors/vectors.json
	// uses for this row, or "".
	VectorTag string
}

// NegativeExample is one row of SPEC.md Appendix A: an invalid input and
// the error class a decoder raises for it.
type NegativeExample struct {
	// ID is the row number, e.g. "A-12".
	ID string
	// Form is "wire" (no format byte) or "public" (format byte first).
	Form string
	// Input is the input bytes.
	Input []byte
	// Class is the error class name of SPEC.md section 6.2.
	Class string
	// Why says what is wrong with the input.
	Why string
}

// The decoder error classes of SPEC.md section 6.2.
const (
	ClassTruncated         = "Truncated"
	ClassUnknownOpcode     = "UnknownOpcode"
	ClassStackUnderflow    = "StackUnderflow"
	ClassStopStack         = "StopStack"
	ClassUnhashable        = "Unhashable"
	ClassBadInteger        = "BadInteger"
	ClassBadUTF8           = "BadUTF8"
	ClassNegativeLength    = "NegativeLength"
	ClassIndexRange        = "IndexRange"
	ClassNotContainer      = "NotContainer"
	ClassLimit             = "Limit"
	ClassVersion           = "Version"
	ClassChannelNotAllowed = "ChannelNotAllowed"
)

// ErrorClasses returns the decoder error class names of SPEC.md section
// 6.2, in the order of its table. The slice is a fresh copy.
func ErrorClasses() []string {
	return []string{
		ClassTruncated, ClassUnknownOpcode, ClassStackUnderflow,
		ClassStopStack, ClassUnhashable, ClassBadInteger, ClassBadUTF8,
		ClassNegativeLength, ClassIndexRange, ClassNotContainer,
		ClassLimit, ClassVersion, ClassChannelNotAllowed,
	}
}

// IsErrorClass reports whether name is one of the error classes.
func IsErrorClass(name string) bool {
	for _, c := range ErrorClasses() {
		if c == name {
			return true
		}
	}
	return false
}

// ErrSpec is wrapped by every error about the structure of SPEC.md.
var ErrSpec = errors.New("malformed SPEC.md")

// ProblemError lists every structural problem found in a document.
type ProblemError struct {
	Problems []string
}

func (e *ProblemError) Error() string {
	return fmt.Sprintf("%v: %d problem(s): %s", ErrSpec, len(e.Problems), strings.Join(e.Problems, "; "))
}

// Unwrap makes errors.Is(err, ErrSpec) true.
func (e *ProblemError) Unwrap() error { return ErrSpec }

type document struct {
	clauses      []Clause
	byID         map[string]int
	deviations   []Deviation
	negatives    []NegativeExample
	classClauses map[string][]string
	vectorRules  []vectorRule
}

type vectorRule struct {
	Prefix  string   `json:"prefix"`
	Clauses []string `json:"clauses"`
}

var parsed = sync.OnceValues(func() (*document, error) {
	d, err := parse(execnetconform.SpecMarkdown)
	if err != nil {
		return nil, err
	}
	var rules struct {
		Rules []vectorRule `json:"rules"`
	}
	if err := json.Unmarshal(vectorClausesJSON, &rules); err != nil {
		return nil, fmt.Errorf("%w: vector_clauses.json: %v", ErrSpec, err)
	}
	for _, r := range rules.Rules {
		for _, id := range r.Clauses {
			if _, ok := d.byID[id]; !ok {
				return nil, fmt.Errorf("%w: vector_clauses.json: prefix %q cites unknown clause %s", ErrSpec, r.Prefix, id)
			}
		}
	}
	d.vectorRules = rules.Rules
	return d, nil
})

// ClassClauses returns the clauses that table 6.2 of SPEC.md lists for an
// error class; the class may be given as "Truncated" or "ErrTruncated".
func ClassClauses(class string) []string {
	d, err := parsed()
	if err != nil {
		return nil
	}
	return append([]string(nil), d.classClauses[strings.TrimPrefix(class, "Err")]...)
}

// VectorClauses returns the clauses a golden vector checks, from its name
// (e.g. "reject/utf8/lone-continuation") and, for a reject vector, its
// error class ("BadUTF8" or "ErrBadUTF8"; "" for other vectors). A reject
// vector always gets the clauses of its class (table 6.2) and ERR-GEN-1;
// any other vector fails unless a rule of vector_clauses.json matches it.
func VectorClauses(name, errorClass string) ([]string, error) {
	d, err := parsed()
	if err != nil {
		return nil, err
	}
	best := -1
	for i, r := range d.vectorRules {
		if strings.HasPrefix(name, r.Prefix) && (best < 0 || len(r.Prefix) > len(d.vectorRules[best].Prefix)) {
			best = i
		}
	}
	if best < 0 && errorClass == "" {
		return nil, fmt.Errorf("spec: no clause rule for vector %q", name)
	}
	var out []string
	seen := map[string]bool{}
	add := func(ids ...string) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	if best >= 0 {
		add(d.vectorRules[best].Clauses...)
	}
	if errorClass != "" {
		c := strings.TrimPrefix(errorClass, "Err")
		if !IsErrorClass(c) {
			return nil, fmt.Errorf("spec: vector %q: %q is not an error class", name, errorClass)
		}
		add(d.classClauses[c]...)
		add("ERR-GEN-1")
	}
	return out, nil
}

// Clauses returns every clause of SPEC.md in document order. It fails,
// with an error wrapping ErrSpec, if the document breaks the anchor rules
// (duplicate or malformed id, clause without a BCP 14 keyword, normative
// sentence without an anchor). The returned slice is a fresh copy.
func Clauses() ([]Clause, error) {
	d, err := parsed()
	if err != nil {
		return nil, err
	}
	return append([]Clause(nil), d.clauses...), nil
}

// Lookup returns the clause with the given id (without brackets). It
// reports false if there is no such clause or SPEC.md does not parse.
func Lookup(id string) (Clause, bool) {
	d, err := parsed()
	if err != nil {
		return Clause{}, false
	}
	i, ok := d.byID[strings.Trim(id, "[]")]
	if !ok {
		return Clause{}, false
	}
	return d.clauses[i], true
}

// DeviationIDs returns the DEV-N identifiers of SPEC.md Appendix B in
// table order.
func DeviationIDs() ([]string, error) {
	d, err := parsed()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(d.deviations))
	for i, dv := range d.deviations {
		ids[i] = dv.ID
	}
	return ids, nil
}

// NegativeExamples returns the rows of SPEC.md Appendix A in table order.
func NegativeExamples() ([]NegativeExample, error) {
	d, err := parsed()
	if err != nil {
		return nil, err
	}
	out := make([]NegativeExample, len(d.negatives))
	for i, n := range d.negatives {
		n.Input = append([]byte(nil), n.Input...)
		out[i] = n
	}
	return out, nil
}

// Deviations returns the rows of SPEC.md Appendix B in table order.
func Deviations() ([]Deviation, error) {
	d, err := parsed()
	if err != nil {
		return nil, err
	}
	out := make([]Deviation, len(d.deviations))
	for i, dv := range d.deviations {
		dv.Clauses = append([]string(nil), dv.Clauses...)
		out[i] = dv
	}
	return out, nil
}

// The patterns compile on first use: the registry is read by tests and
// the runner, and a worker process importing this package should not pay
// for compiling them at start-up.
var (
	// anchorStart matches a paragraph or list item that starts with
	// something shaped like an anchor; idRE then decides if it is valid.
	anchorStart = lazyRegexp(`^(?:[-*+]\s+|\d+\.\s+)?\[([A-Za-z0-9][A-Za-z0-9_.-]*)\](?:\s+(.*))?$`)
	idRE        = lazyRegexp(`^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+-[1-9][0-9]*$`)
	listItem    = lazyRegexp(`^(?:[-*+]\s+|\d+\.\s+)`)
	keywordRE   = lazyRegexp(`\b(MUST|SHALL|REQUIRED|SHOULD|RECOMMENDED|MAY|OPTIONAL)\b`)
	codeSpan    = lazyRegexp("`[^`]*`")
	devRow      = lazyRegexp(`^\|\s*(DEV-[^\s|]*)\s*\|`)
	classRow    = lazyRegexp("^\\|\\s*`([A-Za-z0-9]+)`\\s*\\|")
	negRow      = lazyRegexp(`^\|\s*(A-[^\s|]*)\s*\|`)
	negIDRE     = lazyRegexp(`^A-[1-9][0-9]*$`)
	repeatRE    = lazyRegexp(`<([0-9]+) x ([0-9a-fA-F]{2})>`)
	devIDRE     = lazyRegexp(`^DEV-[1-9][0-9]*$`)
	clauseRef   = lazyRegexp(`[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+-[1-9][0-9]*`)
)

// level returns the strongest BCP 14 level named in text outside code
// spans, or "" if there is none.
func level(text string) string {
	best := ""
	rank := map[string]int{"MAY": 1, "SHOULD": 2, "MUST": 3}
	for _, m := range keywordRE().FindAllString(codeSpan().ReplaceAllString(text, ""), -1) {
		var l string
		switch m {
		case "MUST", "SHALL", "REQUIRED":
			l = "MUST"
		case "SHOULD", "RECOMMENDED":
			l = "SHOULD"
		default:
			l = "MAY"
		}
		if rank[l] > rank[best] {
			best = l
		}
	}
	return best
}

// sectionKind classifies a heading for the unanchored-keyword rule.
func exempt(heading string) bool {
	h := strings.ToLower(heading)
	return strings.HasPrefix(h, "2. ") || strings.HasPrefix(h, "2 ") ||
		strings.HasPrefix(h, "appendix b") || strings.HasPrefix(h, "appendix c")
}

// parse reads a SPEC.md text. It returns the document even when it also
// returns a *ProblemError, so that tests can inspect both.
func parse(md string) (*document, error) {
	d := &document{byID: map[string]int{}, classClauses: map[string][]string{}}
	var problems []string
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	section, top := "", ""
	inFence := false
	cur := -1 // index of the clause being continued, or -1
	inAppendixA, inAppendixB := false, false
	for n, raw := range lines {
		lineNo := n + 1
		line := strings.TrimRight(raw, " \t")
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
			inFence = !inFence
			cur = -1
			continue
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(trim, "#") {
			h := strings.TrimSpace(strings.TrimLeft(trim, "#"))
			section = h
			if strings.HasPrefix(trim, "## ") || strings.HasPrefix(trim, "# ") {
				top = h
			}
			inAppendixA = strings.HasPrefix(strings.ToLower(top), "appendix a")
			inAppendixB = strings.HasPrefix(strings.ToLower(top), "appendix b")
			cur = -1
			continue
		}
		if trim == "" {
			cur = -1
			continue
		}
		if strings.HasPrefix(trim, "|") {
			cur = -1
			if m := classRow().FindStringSubmatch(trim); m != nil && strings.HasPrefix(section, "6.2") {
				cells := strings.Split(strings.Trim(trim, "|"), "|")
				if len(cells) >= 3 {
					d.classClauses[m[1]] = clauseRef().FindAllString(cells[2], -1)
				}
			}
			if m := negRow().FindStringSubmatch(trim); inAppendixA && m != nil {
				ne, p := negativeRow(trim, m[1], lineNo)
				problems = append(problems, p...)
				if ne.ID != "" {
					for _, old := range d.negatives {
						if old.ID == ne.ID {
							problems = append(problems, fmt.Sprintf("line %d: duplicate negative example %s", lineNo, ne.ID))
						}
					}
					d.negatives = append(d.negatives, ne)
				}
			}
			if inAppendixB {
				if m := devRow().FindStringSubmatch(trim); m != nil {
					dv, p := deviationRow(trim, m[1], lineNo)
					problems = append(problems, p...)
					if dv.ID != "" {
						for _, old := range d.deviations {
							if old.ID == dv.ID {
								problems = append(problems, fmt.Sprintf("line %d: duplicate deviation id %s", lineNo, dv.ID))
							}
						}
						d.deviations = append(d.deviations, dv)
					}
				}
			}
			continue
		}
		if m := anchorStart().FindStringSubmatch(trim); m != nil {
			id := m[1]
			if !idRE().MatchString(id) {
				problems = append(problems, fmt.Sprintf("line %d: malformed clause id [%s]", lineNo, id))
				cur = -1
				continue
			}
			if _, dup := d.byID[id]; dup {
				problems = append(problems, fmt.Sprintf("line %d: duplicate clause id [%s]", lineNo, id))
				cur = -1
				continue
			}
			d.byID[id] = len(d.clauses)
			d.clauses = append(d.clauses, Clause{ID: id, Section: section, Text: strings.TrimSpace(m[2])})
			cur = len(d.clauses) - 1
			continue
		}
		if cur >= 0 && !listItem().MatchString(trim) {
			d.clauses[cur].Text += " " + trim
			continue
		}
		cur = -1
		if !exempt(top) && level(trim) != "" {
			problems = append(problems, fmt.Sprintf("line %d: normative keyword outside an anchored clause: %q", lineNo, clip(trim)))
		}
	}
	if inFence {
		problems = append(problems, "unterminated code fence")
	}
	for i := range d.clauses {
		c := &d.clauses[i]
		c.Level = level(c.Text)
		if c.Level == "" {
			problems = append(problems, fmt.Sprintf("clause [%s] has no BCP 14 keyword", c.ID))
		}
	}
	for class, ids := range d.classClauses {
		for _, id := range ids {
			if _, ok := d.byID[id]; !ok {
				problems = append(problems, fmt.Sprintf("error class %s cites unknown clause %s", class, id))
			}
		}
	}
	for _, dv := range d.deviations {
		for _, id := range dv.Clauses {
			if _, ok := d.byID[id]; !ok {
				problems = append(problems, fmt.Sprintf("%s cites unknown clause %s", dv.ID, id))
			}
		}
	}
	if len(problems) > 0 {
		return d, &ProblemError{Problems: problems}
	}
	return d, nil
}

// deviationRow parses "| DEV-N | clauses | versions | behaviour | repro |".
func deviationRow(row, id string, lineNo int) (Deviation, []string) {
	if !devIDRE().MatchString(id) {
		return Deviation{}, []string{fmt.Sprintf("line %d: malformed deviation id %s", lineNo, id)}
	}
	cells := strings.Split(strings.Trim(row, "|"), "|")
	if len(cells) < 4 {
		return Deviation{}, []string{fmt.Sprintf("line %d: deviation %s has %d cells, want at least 4", lineNo, id, len(cells))}
	}
	dv := Deviation{
		ID:        id,
		Clauses:   clauseRef().FindAllString(cells[1], -1),
		Versions:  strings.TrimSpace(cells[2]),
		Behaviour: strings.TrimSpace(cells[3]),
	}
	if len(cells) >= 6 {
		dv.VectorTag = strings.Trim(strings.TrimSpace(cells[5]), "`")
	}
	return dv, nil
}

// negativeRow parses "| A-N | form | `hex` | Class | why | ... |".
func negativeRow(row, id string, lineNo int) (NegativeExample, []string) {
	bad := func(format string, args ...any) (NegativeExample, []string) {
		return NegativeExample{}, []string{fmt.Sprintf("line %d: negative example %s: ", lineNo, id) + fmt.Sprintf(format, args...)}
	}
	if !negIDRE().MatchString(id) {
		return bad("malformed id")
	}
	cells := strings.Split(strings.Trim(row, "|"), "|")
	if len(cells) < 5 {
		return bad("%d cells, want at least 5", len(cells))
	}
	ne := NegativeExample{
		ID:    id,
		Form:  strings.TrimSpace(cells[1]),
		Class: strings.TrimSpace(cells[3]),
		Why:   strings.TrimSpace(cells[4]),
	}
	if ne.Form != "wire" && ne.Form != "public" {
		return bad("form %q is neither wire nor public", ne.Form)
	}
	if !IsErrorClass(ne.Class) {
		return bad("%q is not an error class", ne.Class)
	}
	in := strings.TrimSpace(cells[2])
	if in != "(empty)" {
		if len(in) < 2 || in[0] != '`' || in[len(in)-1] != '`' {
			return bad("input %q is neither (empty) nor `hex`", in)
		}
		var err error
		if ne.Input, err = parseHex(in[1 : len(in)-1]); err != nil {
			return bad("%v", err)
		}
	}
	return ne, nil
}

// parseHex reads hex digits separated by spaces; "<N x HH>" stands for N
// bytes 0xHH.
func parseHex(s string) ([]byte, error) {
	var out []byte
	for _, f := range strings.Fields(repeatRE().ReplaceAllString(s, " <$1:$2> ")) {
		if strings.HasPrefix(f, "<") {
			var n int
			var b byte
			if _, err := fmt.Sscanf(f, "<%d:%x>", &n, &b); err != nil || n > 1<<20 {
				return nil, fmt.Errorf("bad repeat %q", f)
			}
			for i := 0; i < n; i++ {
				out = append(out, b)
			}
			continue
		}
		b, err := hex.DecodeString(f)
		if err != nil {
			return nil, fmt.Errorf("bad hex %q: %v", f, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// lazyRegexp returns a function that compiles expr on its first call and
// returns the same *regexp.Regexp every time.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
