package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// CompareSchema is the schema id of the JSON form of a comparison.
const CompareSchema = "execnet-conform/compare/v1"

// kindTitle is the heading of each kind's group.
var kindTitle = map[Kind]string{
	Regressed: "Regressed (passed before, fail now)",
	Changed:   "Changed failures (failed before and now, differently)",
	Fixed:     "Fixed (failed before, pass now)",
	SkipDiff:  "Skipped in one run only",
	Added:     "New cases",
	Removed:   "Removed cases",
}

// summaryLine returns e.g. "1 regressed, 0 changed, 8 fixed, 0 skip, 0 new,
// 0 removed, 831 same".
func (c *Comparison) summaryLine() string {
	counts := c.Counts()
	parts := make([]string, 0, len(Kinds())+1)
	for _, k := range Kinds() {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	parts = append(parts, fmt.Sprintf("%d same", c.Same))
	return strings.Join(parts, ", ")
}

func describe(r *Report) string {
	if n := r.Name(); n != r.Target && r.Target != "" {
		return n + " (" + r.Target + ")"
	}
	return r.Name()
}

func sideText(s *Side) string {
	if s == nil {
		return "(absent)"
	}
	out := string(s.Outcome)
	if s.Deviation != "" {
		out += " [" + s.Deviation + "]"
	}
	if s.Message != "" {
		out += ": " + s.Message
	}
	return out
}

// WriteText writes the comparison for a terminal: a header naming both
// runs, then each differing case with its clauses and both sides, then a
// summary line and the verdict ("ok" or "REGRESSED").
func WriteText(w io.Writer, c *Comparison) error {
	ew := &errWriter{w: w}
	ew.printf("old: %s\nnew: %s\n", describe(c.Old), describe(c.New))
	var cur Kind
	for _, d := range c.Diffs {
		if d.Kind != cur {
			cur = d.Kind
			ew.printf("\n%s:\n", kindTitle[cur])
		}
		mark := ""
		if d.Worse {
			mark = " (worse)"
		}
		ew.printf("  %s%s  [%s]\n", d.ID, mark, strings.Join(d.Clauses, " "))
		ew.printf("    old: %s\n", indentLines(sideText(d.Old), "         "))
		ew.printf("    new: %s\n", indentLines(sideText(d.New), "         "))
	}
	verdict := "ok"
	if !c.OK() {
		verdict = fmt.Sprintf("REGRESSED (%d)", c.Regressions())
	}
	ew.printf("\n%s\n%s\n", c.summaryLine(), verdict)
	return ew.err
}

func indentLines(s, ind string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+ind)
}

// WriteMarkdown writes the comparison as Markdown for a pull-request
// comment: a heading with the verdict, the two runs, a summary, and one
// table per kind (case, clauses, old, new).
func WriteMarkdown(w io.Writer, c *Comparison) error {
	ew := &errWriter{w: w}
	verdict := "no regression"
	if !c.OK() {
		verdict = fmt.Sprintf("%d regression(s)", c.Regressions())
	}
	ew.printf("### execnet-conform compare: %s\n\n", verdict)
	ew.printf("- old: %s\n- new: %s\n- %s\n", mdCell(describe(c.Old)), mdCell(describe(c.New)), c.summaryLine())
	var cur Kind
	for _, d := range c.Diffs {
		if d.Kind != cur {
			cur = d.Kind
			ew.printf("\n#### %s\n\n| case | clauses | old | new |\n|---|---|---|---|\n", kindTitle[cur])
		}
		id := "`" + d.ID + "`"
		if d.Worse {
			id += " (worse)"
		}
		ew.printf("| %s | %s | %s | %s |\n", id, strings.Join(d.Clauses, " "), mdCell(sideText(d.Old)), mdCell(sideText(d.New)))
	}
	return ew.err
}

// mdCell makes s safe inside a Markdown table cell: one line, pipes
// escaped, at most 300 characters.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// jsonComparison is the schema "execnet-conform/compare/v1".
type jsonComparison struct {
	Schema      string       `json:"schema"`
	Old         jsonRun      `json:"old"`
	New         jsonRun      `json:"new"`
	OK          bool         `json:"ok"`
	Regressions int          `json:"regressions"`
	Counts      map[Kind]int `json:"counts"`
	Same        int          `json:"same"`
	Diffs       []Diff       `json:"diffs"`
}

type jsonRun struct {
	Name           string            `json:"name"`
	Target         string            `json:"target"`
	Implementation map[string]string `json:"implementation"`
	Cases          int               `json:"cases"`
}

func runInfo(r *Report) jsonRun {
	impl := r.Implementation
	if impl == nil {
		impl = map[string]string{}
	}
	return jsonRun{Name: r.Name(), Target: r.Target, Implementation: impl, Cases: len(r.Cases)}
}

// WriteJSON writes the comparison in the schema
// "execnet-conform/compare/v1".
func WriteJSON(w io.Writer, c *Comparison) error {
	out := jsonComparison{Schema: CompareSchema, Old: runInfo(c.Old), New: runInfo(c.New), OK: c.OK(),
		Regressions: c.Regressions(), Counts: c.Counts(), Same: c.Same, Diffs: c.Diffs}
	if out.Diffs == nil {
		out.Diffs = []Diff{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
