package mutation

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Explanation classifies a surviving mutant, argued by a person: the
// report merges these by mutant id, so an argument carries over to a
// later run as long as the mutant's id and text stay the same.
type Explanation struct {
	// Class is "equivalent" (no observable behaviour of the worker
	// changes; Reason argues why), "unspecified" (the worker behaves
	// differently, but only where SPEC.md sets no rule, for example the
	// wording of an error message: no conformance case may fail it;
	// Reason says what changes and why no rule covers it) or "gap" (a
	// rule SPEC.md states is broken and no case sees it; Case names the
	// case that would catch it).
	Class  string `json:"class"`
	Reason string `json:"reason"`
	Case   string `json:"case,omitempty"`
	// Old and New, when set, are the mutant's text the explanation was
	// written for; a mutant with the same id but other text is reported
	// as unexplained.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// The classes of an explanation.
const (
	Equivalent  = "equivalent"
	Unspecified = "unspecified"
	Gap         = "gap"
)

// ReadExplanations reads a JSON object of explanations keyed by mutant
// id. A missing file is an empty set.
func ReadExplanations(path string) (map[string]Explanation, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]Explanation{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]Explanation
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("mutation: %s: %w", path, err)
	}
	for id, e := range m {
		if e.Class != Equivalent && e.Class != Unspecified && e.Class != Gap {
			return nil, fmt.Errorf("mutation: %s: %s: class %q, want %q, %q or %q", path, id, e.Class, Equivalent, Unspecified, Gap)
		}
		if e.Reason == "" || (e.Class == Gap && e.Case == "") {
			return nil, fmt.Errorf("mutation: %s: %s: an explanation needs a reason, and a gap the case that would catch it", path, id)
		}
	}
	return m, nil
}

// Report is a run with the explanations merged in.
type Report struct {
	Schema    string   `json:"schema"`
	Seed      int64    `json:"seed"`
	Packages  []string `json:"packages"`
	Generated int      `json:"generated"`
	Sampled   int      `json:"sampled"`
	Counts    Counts   `json:"counts"`
	// Score is killed / (killed + survivors not argued equivalent or
	// unspecified): the share of the mutants that break a rule of
	// SPEC.md (or are not yet explained) that the suite detects.
	Score float64 `json:"score"`
	// StrictScore counts unspecified survivors as misses: killed /
	// (killed + survivors not argued equivalent).
	StrictScore float64          `json:"strict_score"`
	Mutants     []ReportedMutant `json:"mutants"`
	// Unused lists explanations whose mutant did not survive this run
	// (killed now, not sampled, or changed): stale or not needed.
	Unused []string `json:"unused_explanations,omitempty"`
}

// Counts sums a report.
type Counts struct {
	Run          int `json:"run"` // built and judged by the suite
	Killed       int `json:"killed"`
	Survived     int `json:"survived"`
	Equivalent   int `json:"survived_equivalent"`
	Unspecified  int `json:"survived_unspecified"`
	Gap          int `json:"survived_gap"`
	Unexplained  int `json:"survived_unexplained"`
	NotCompiled  int `json:"not_compiled"`
	IdenticalBin int `json:"identical_binary"`
}

// ReportedMutant is a result with its explanation, if it survived.
type ReportedMutant struct {
	Result
	Explanation *Explanation `json:"explanation,omitempty"`
}

// NewReport merges explanations into a run.
func NewReport(run *Run, expl map[string]Explanation) *Report {
	r := &Report{Schema: "execnet-conform/mutation/v1", Seed: run.Seed, Packages: run.Packages,
		Generated: run.Generated, Sampled: run.Sampled}
	used := map[string]bool{}
	for _, res := range run.Results {
		rm := ReportedMutant{Result: res}
		switch res.Status {
		case Killed:
			r.Counts.Run++
			r.Counts.Killed++
		case Survived:
			r.Counts.Run++
			r.Counts.Survived++
			e, ok := expl[res.ID]
			if ok && (e.Old == "" || e.Old == res.Old) && (e.New == "" || e.New == res.New) {
				used[res.ID] = true
				rm.Explanation = &e
				switch e.Class {
				case Equivalent:
					r.Counts.Equivalent++
				case Unspecified:
					r.Counts.Unspecified++
				default:
					r.Counts.Gap++
				}
			} else {
				r.Counts.Unexplained++
			}
		case NotCompiled:
			r.Counts.NotCompiled++
		case IdenticalBin:
			r.Counts.IdenticalBin++
		}
		r.Mutants = append(r.Mutants, rm)
	}
	for id := range expl {
		if !used[id] {
			r.Unused = append(r.Unused, id)
		}
	}
	sort.Strings(r.Unused)
	if d := r.Counts.Killed + r.Counts.Survived - r.Counts.Equivalent - r.Counts.Unspecified; d > 0 {
		r.Score = float64(r.Counts.Killed) / float64(d)
	}
	if d := r.Counts.Killed + r.Counts.Survived - r.Counts.Equivalent; d > 0 {
		r.StrictScore = float64(r.Counts.Killed) / float64(d)
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report for people: the counts, the score,
// every survivor with its classification, and the kills by case.
func (r *Report) WriteMarkdown(w io.Writer, command string) error {
	var b strings.Builder
	c := r.Counts
	fmt.Fprintf(&b, "# Mutation report: the Go reference worker\n\n")
	fmt.Fprintf(&b, "Generated by `%s` (seed %d); do not edit: explanations of survivors live in\n", command, r.Seed)
	fmt.Fprintf(&b, "`testdata/mutation/explanations.json`, keyed by mutant id, and are merged in.\n\n")
	fmt.Fprintf(&b, "Packages mutated (functions the worker binary links): %s.\n", strings.Join(r.Packages, ", "))
	fmt.Fprintf(&b, "The runner is built from the unmutated tree; only the worker is built from each mutant.\n\n")
	fmt.Fprintf(&b, "| | mutants |\n|---|---|\n")
	fmt.Fprintf(&b, "| generated (reachable functions) | %d |\n", r.Generated)
	fmt.Fprintf(&b, "| sampled (seed %d) | %d |\n", r.Seed, r.Sampled)
	fmt.Fprintf(&b, "| did not compile (not counted) | %d |\n", c.NotCompiled)
	fmt.Fprintf(&b, "| worker code byte-identical to the original (equivalent, not run) | %d |\n", c.IdenticalBin)
	fmt.Fprintf(&b, "| run against the suite | %d |\n", c.Run)
	fmt.Fprintf(&b, "| killed | %d |\n", c.Killed)
	fmt.Fprintf(&b, "| survived, argued equivalent | %d |\n", c.Equivalent)
	fmt.Fprintf(&b, "| survived, changes only what SPEC.md leaves open | %d |\n", c.Unspecified)
	fmt.Fprintf(&b, "| survived, coverage gap | %d |\n", c.Gap)
	fmt.Fprintf(&b, "| survived, not yet explained | %d |\n\n", c.Unexplained)
	fmt.Fprintf(&b, "**Score: %d of %d mutants that break a rule of SPEC.md (or are not yet explained) killed (%.1f%%).**\n",
		c.Killed, c.Killed+c.Survived-c.Equivalent-c.Unspecified, 100*r.Score)
	fmt.Fprintf(&b, "Counting the survivors that change only what SPEC.md leaves open as misses: %d of %d non-equivalent mutants killed (%.1f%%).\n\n",
		c.Killed, c.Killed+c.Survived-c.Equivalent, 100*r.StrictScore)

	type tally struct{ killed, eq, unspec, gap, unexpl int }
	byFile := map[string]*tally{}
	var files []string
	for _, m := range r.Mutants {
		if m.Status != Killed && m.Status != Survived {
			continue
		}
		t := byFile[m.File]
		if t == nil {
			t = &tally{}
			byFile[m.File] = t
			files = append(files, m.File)
		}
		switch {
		case m.Status == Killed:
			t.killed++
		case m.Explanation == nil:
			t.unexpl++
		case m.Explanation.Class == Equivalent:
			t.eq++
		case m.Explanation.Class == Unspecified:
			t.unspec++
		default:
			t.gap++
		}
	}
	sort.Strings(files)
	fmt.Fprintf(&b, "## By file (mutants run)\n\n")
	fmt.Fprintf(&b, "| file | killed | equivalent | unspecified | gap | unexplained |\n|---|---|---|---|---|---|\n")
	for _, f := range files {
		t := byFile[f]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", f, t.killed, t.eq, t.unspec, t.gap, t.unexpl)
	}
	fmt.Fprintf(&b, "\n")

	if c.Gap > 0 {
		fmt.Fprintf(&b, "## Coverage gaps: the cases that would catch them\n\n")
		for _, m := range r.Mutants {
			if m.Status == Survived && m.Explanation != nil && m.Explanation.Class == Gap {
				fmt.Fprintf(&b, "- `%s`: %s\n", m.ID, m.Explanation.Case)
			}
		}
		fmt.Fprintf(&b, "\n")
	}

	fmt.Fprintf(&b, "## Survivors\n\n")
	any := false
	for _, m := range r.Mutants {
		if m.Status != Survived {
			continue
		}
		any = true
		fmt.Fprintf(&b, "### `%s`\n\n", m.ID)
		fmt.Fprintf(&b, "%s line %d: `%s` → `%s`\n\n", m.File, m.Line, oneLine(m.Old, 80), oneLine(m.New, 80))
		switch {
		case m.Explanation == nil:
			fmt.Fprintf(&b, "**Not yet explained.**\n\n")
		case m.Explanation.Class == Equivalent:
			fmt.Fprintf(&b, "**Equivalent.** %s\n\n", m.Explanation.Reason)
		case m.Explanation.Class == Unspecified:
			fmt.Fprintf(&b, "**Changes only what SPEC.md leaves open.** %s\n\n", m.Explanation.Reason)
		default:
			fmt.Fprintf(&b, "**Coverage gap.** %s", m.Explanation.Reason)
			if m.Explanation.Case != "" {
				fmt.Fprintf(&b, " Case that would catch it: %s", m.Explanation.Case)
			}
			fmt.Fprintf(&b, "\n\n")
		}
	}
	if !any {
		fmt.Fprintf(&b, "None.\n\n")
	}

	fmt.Fprintf(&b, "## Killed, by the first case that failed\n\n")
	byCase := map[string][]string{}
	for _, m := range r.Mutants {
		if m.Status == Killed {
			k := m.Case
			if k == "" {
				k = "(" + m.Outcome + ": the runner refused the target)"
			}
			byCase[k] = append(byCase[k], m.ID)
		}
	}
	cases := make([]string, 0, len(byCase))
	for k := range byCase {
		cases = append(cases, k)
	}
	sort.Slice(cases, func(i, j int) bool {
		if len(byCase[cases[i]]) != len(byCase[cases[j]]) {
			return len(byCase[cases[i]]) > len(byCase[cases[j]])
		}
		return cases[i] < cases[j]
	})
	fmt.Fprintf(&b, "| case | mutants killed |\n|---|---|\n")
	for _, k := range cases {
		fmt.Fprintf(&b, "| `%s` | %d |\n", k, len(byCase[k]))
	}
	fmt.Fprintf(&b, "\nThe full list, with each mutant's change and the failure it caused, is in `report.json`.\n")
	if len(r.Unused) > 0 {
		fmt.Fprintf(&b, "\n## Explanations not used by this run\n\n")
		fmt.Fprintf(&b, "These mutants were killed this time, not sampled, or changed; their explanations are stale or not needed.\n\n")
		for _, id := range r.Unused {
			fmt.Fprintf(&b, "- `%s`\n", id)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
