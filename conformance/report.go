package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// recentFrames is how many trace entries a text failure report shows.
const recentFrames = 8

// Summary returns the summary line of a result, e.g.
// "12 passed, 1 failed, 2 xfailed, 1 skipped". Passed and failed are
// always present; other counts only when non-zero.
func Summary(res *Result) string {
	c := res.Counts()
	parts := []string{fmt.Sprintf("%d passed", c[Pass]), fmt.Sprintf("%d failed", c[Fail])}
	for _, x := range []struct {
		o    Outcome
		word string
	}{{XFail, "xfailed"}, {XPass, "xpassed"}, {Skip, "skipped"}, {Timeout, "timed out"}, {Crash, "crashed"},
		{Blocked, "blocked"}, {Interrupted, "interrupted"}} {
		if c[x.o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[x.o], x.word))
		}
	}
	if n := len(res.Stale); n > 0 {
		parts = append(parts, fmt.Sprintf("%d stale known-failing", n))
	}
	return strings.Join(parts, ", ")
}

// TextOptions configure a TextReporter.
type TextOptions struct {
	Color    bool // ANSI colours (off when NO_COLOR is set or not a terminal)
	Progress bool // a one-line counter, rewritten in place (terminals)
	Verbose  bool // one line per case, also for passing cases
	// Target names the target in the header instead of the result's
	// xspec (for example the built-in worker, whose xspec under go run
	// holds a temporary path); empty: the xspec.
	Target string
	// Notes are lines printed after the header (for example how many
	// cases the selection left out).
	Notes []string
}

// TextReporter writes a human-readable report as the run goes.
type TextReporter struct {
	mu       sync.Mutex
	w        io.Writer
	o        TextOptions
	progress bool   // a progress line is on screen
	lastWhy  string // message of the last blocked or not-run case shown
}

// NewTextReporter returns a reporter writing to w.
func NewTextReporter(w io.Writer, o TextOptions) *TextReporter {
	return &TextReporter{w: w, o: o}
}

func (r *TextReporter) colour(code, s string) string {
	if !r.o.Color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// outcomeWord returns the outcome in capitals, padded to 7 columns, in
// colour when enabled.
func (r *TextReporter) outcomeWord(o Outcome) string {
	w := strings.ToUpper(string(o))
	pad := strings.Repeat(" ", max(0, 7-len(w)))
	switch {
	case o == Pass:
		return r.colour("32", w) + pad
	case o == XFail || o == Skip:
		return r.colour("33", w) + pad
	case o.Unexpected():
		return r.colour("1;31", w) + pad
	}
	return w + pad
}

func (r *TextReporter) clearProgress() {
	if r.progress {
		fmt.Fprint(r.w, "\r\x1b[K")
		r.progress = false
	}
}

// Begin prints the run header.
func (r *TextReporter) Begin(total int, res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	target := res.Target
	if r.o.Target != "" {
		target = r.o.Target
	}
	fmt.Fprintf(r.w, "execnet-conform %s, spec %s: %d cases against %s\n", res.SuiteVersion, res.SpecVersion, total, target)
	if len(res.Implementation) > 0 {
		fmt.Fprintf(r.w, "implementation: %s\n", formatInfo(res.Implementation))
	}
	fmt.Fprintf(r.w, "seed %d, count %d\n", res.Seed, res.Count)
	for _, n := range r.o.Notes {
		fmt.Fprintf(r.w, "note: %s\n", n)
	}
}

func formatInfo(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", k, m[k])
	}
	return b.String()
}

// CaseDone prints a line for the case: with details (clauses, message,
// last frames) for unexpected outcomes; in verbose mode also a line for
// every other case.
func (r *TextReporter) CaseDone(n, total int, c CaseResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearProgress()
	switch {
	case (c.Outcome == Blocked || c.Outcome == Interrupted) && c.Duration == 0:
		// Not run: one line each, the reason once.
		fmt.Fprintf(r.w, "%s %s\n", r.outcomeWord(c.Outcome), c.ID)
		if c.Message != r.lastWhy {
			fmt.Fprintf(r.w, "        %s\n", c.Message)
			r.lastWhy = c.Message
		}
	case c.Outcome.Unexpected():
		fmt.Fprintf(r.w, "%s %s (%s)\n", r.outcomeWord(c.Outcome), c.ID, roundDur(c.Duration))
		r.details(c)
	case r.o.Verbose:
		fmt.Fprintf(r.w, "%s %s (%s)\n", r.outcomeWord(c.Outcome), c.ID, roundDur(c.Duration))
		switch {
		case c.Outcome == XFail && c.Known != nil && c.Known.IsPort():
			fmt.Fprintf(r.w, "        known port deviation: %s\n", c.Known.Reason)
		case c.Outcome == XFail && c.Known != nil:
			fmt.Fprintf(r.w, "        known failure %s: %s\n", c.Known.Deviation, c.Known.Reason)
		case c.Outcome == Skip && c.Message != "":
			fmt.Fprintf(r.w, "        %s\n", c.Message)
		}
	}
	if r.o.Progress && n < total {
		fmt.Fprintf(r.w, "[%d/%d] %s", n, total, c.ID)
		r.progress = true
	}
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func (r *TextReporter) details(c CaseResult) {
	ind := "        "
	if c.Description != "" {
		fmt.Fprintf(r.w, "%scase: %s [%s]\n", ind, c.Description, c.Level)
	}
	for _, id := range c.Clauses {
		if level, text, ok := clauseInfo(id); ok {
			fmt.Fprintf(r.w, "%s[%s] %s: %s\n", ind, id, level, oneLine(text, 200))
		} else {
			fmt.Fprintf(r.w, "%s[%s]\n", ind, id)
		}
	}
	if c.Message != "" {
		for _, l := range strings.Split(c.Message, "\n") {
			fmt.Fprintf(r.w, "%s%s\n", ind, l)
		}
	}
	for _, l := range c.Logs {
		fmt.Fprintf(r.w, "%slog: %s\n", ind, l)
	}
	tr := lastFrames(c.Trace, recentFrames)
	if len(tr) > 0 {
		fmt.Fprintf(r.w, "%slast frames:\n", ind)
		for _, e := range tr {
			fmt.Fprintf(r.w, "%s  %s\n", ind, e)
		}
	}
}

// lastFrames returns the last n entries, counting only frames but keeping
// the events between them.
func lastFrames(tr []TraceEntry, n int) []TraceEntry {
	count := 0
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].Dir != DirNote {
			count++
			if count == n {
				return tr[i:]
			}
		}
	}
	return tr
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		for max > 0 && !utf8Start(s[max]) {
			max--
		}
		s = s[:max] + "..."
	}
	return s
}

// End prints stale known-failing entries and the summary line.
func (r *TextReporter) End(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearProgress()
	for _, k := range res.Stale {
		fmt.Fprintf(r.w, "%s %s:%d: known-failing entry names no case: %s\n", r.colour("1;31", "STALE"), k.File, k.Line, k.CaseID)
	}
	var slow []string
	for _, c := range res.Cases {
		if c.Slow {
			slow = append(slow, fmt.Sprintf("%s (%s%s)", c.ID, roundDur(c.Duration), attemptsNote(c)))
		}
	}
	if len(slow) > 0 {
		fmt.Fprintf(r.w, "slow (over half the deadline, or passed when retried): %s\n", strings.Join(slow, ", "))
	}
	if res.Blocked != "" {
		fmt.Fprintf(r.w, "%s remaining cases not run: %s\n", r.colour("1;31", "BLOCKED"), res.Blocked)
	}
	if res.Interrupted != "" {
		fmt.Fprintf(r.w, "%s %s\n", r.colour("1;31", "INTERRUPTED"), res.Interrupted)
	}
	r.knownSummary(res)
	r.failedSummary(res)
	verdict := r.colour("32", "ok")
	if !res.OK() {
		verdict = r.colour("1;31", "FAIL")
	}
	fmt.Fprintf(r.w, "%s\n%s (%s)\n", Summary(res), verdict, roundDur(res.Duration))
}

func attemptsNote(c CaseResult) string {
	if c.Attempts > 1 {
		return fmt.Sprintf(", %d attempts", c.Attempts)
	}
	return ""
}

// maxListedFailures bounds the ids listed at the end of a text report.
const maxListedFailures = 50

// failedSummary lists the ids of the cases with an unexpected outcome at
// the end of the report (as go test's "--- FAIL" lines and pytest's short
// summary do), so that they need not be found among the details above.
func (r *TextReporter) failedSummary(res *Result) {
	var bad []CaseResult
	for _, c := range res.Cases {
		if c.Outcome.Unexpected() {
			bad = append(bad, c)
		}
	}
	if len(bad) == 0 {
		return
	}
	noun := "outcomes"
	if len(bad) == 1 {
		noun = "outcome"
	}
	fmt.Fprintf(r.w, "\n%d unexpected %s:\n", len(bad), noun)
	for i, c := range bad {
		if i == maxListedFailures {
			fmt.Fprintf(r.w, "  ... and %d more (--format json lists all)\n", len(bad)-i)
			break
		}
		fmt.Fprintf(r.w, "  %s %s  [%s]\n", r.outcomeWord(c.Outcome), c.ID, strings.Join(c.Clauses, " "))
	}
	fmt.Fprintln(r.w)
}

// knownSummary counts the expected failures by deviation, execnet's
// DEV-N apart from the port's own PORT: entries, whose cases it lists.
func (r *TextReporter) knownSummary(res *Result) {
	byDev := map[string]int{}
	var devs []string
	var port []CaseResult
	n := 0
	for _, c := range res.Cases {
		if c.Outcome != XFail || c.Known == nil {
			continue
		}
		if c.Known.IsPort() {
			port = append(port, c)
			continue
		}
		if byDev[c.Known.Deviation] == 0 {
			devs = append(devs, c.Known.Deviation)
		}
		byDev[c.Known.Deviation]++
		n++
	}
	sort.Slice(devs, func(i, j int) bool { return devNumber(devs[i]) < devNumber(devs[j]) })
	if n > 0 {
		parts := make([]string, len(devs))
		for i, d := range devs {
			parts[i] = fmt.Sprintf("%s %d", d, byDev[d])
		}
		fmt.Fprintf(r.w, "xfailed by execnet deviations (SPEC.md Appendix B): %d (%s)\n", n, strings.Join(parts, ", "))
	}
	if len(port) > 0 {
		fmt.Fprintf(r.w, "xfailed by the port's own deviations (PORT: entries): %d\n", len(port))
		for i, c := range port {
			if i == maxListedFailures {
				fmt.Fprintf(r.w, "  ... and %d more\n", len(port)-i)
				break
			}
			fmt.Fprintf(r.w, "  %s  %s\n", c.ID, c.Known.Reason)
		}
	}
}

// devNumber returns N of "DEV-N" for sorting (0 if it has none).
func devNumber(d string) int {
	n := 0
	for _, c := range strings.TrimPrefix(d, "DEV-") {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// jsonReport is the stable JSON schema "execnet-conform/run/v1". Fields
// are only ever added to it.
type jsonReport struct {
	Schema         string            `json:"schema"`
	SuiteVersion   string            `json:"suite_version"`
	SpecVersion    string            `json:"spec_version"`
	Target         string            `json:"target"`
	Implementation map[string]string `json:"implementation"`
	Seed           int64             `json:"seed"`
	Count          int               `json:"count"`
	Started        string            `json:"started"`
	DurationMS     int64             `json:"duration_ms"`
	OK             bool              `json:"ok"`
	Summary        string            `json:"summary"`
	Counts         map[string]int    `json:"counts"`
	Cases          []jsonCase        `json:"cases"`
	Stale          []jsonStale       `json:"stale"`
	// Interrupted and Blocked say why the run ended early.
	Interrupted string `json:"interrupted,omitempty"`
	Blocked     string `json:"blocked,omitempty"`
	// RTTMS is the target's round-trip time at start; TimeoutScale the
	// factor deadlines were scaled by.
	RTTMS        float64 `json:"rtt_ms"`
	TimeoutScale float64 `json:"timeout_scale"`
}

type jsonCase struct {
	ID          string       `json:"id"`
	Clauses     []string     `json:"clauses"`
	Level       Level        `json:"level"`
	Description string       `json:"description,omitempty"`
	Outcome     Outcome      `json:"outcome"`
	Message     string       `json:"message,omitempty"`
	Logs        []string     `json:"logs,omitempty"`
	DurationMS  float64      `json:"duration_ms"`
	Known       *jsonKnown   `json:"known_failing,omitempty"`
	Trace       []TraceEntry `json:"trace,omitempty"`
	Slow        bool         `json:"slow,omitempty"`
	Attempts    int          `json:"attempts,omitempty"`
}

type jsonKnown struct {
	Deviation string `json:"deviation"`
	Match     string `json:"match,omitempty"`
	Reason    string `json:"reason"`
}

type jsonStale struct {
	CaseID    string `json:"case_id"`
	Deviation string `json:"deviation"`
	File      string `json:"file"`
	Line      int    `json:"line"`
}

// WriteJSON writes the result in the schema "execnet-conform/run/v1".
// Traces of non-passing cases are included when withTrace is set.
func WriteJSON(w io.Writer, res *Result, withTrace bool) error {
	counts := map[string]int{}
	for o, n := range res.Counts() {
		counts[string(o)] = n
	}
	counts["stale"] = len(res.Stale)
	impl := res.Implementation
	if impl == nil {
		impl = map[string]string{}
	}
	rep := jsonReport{
		Schema: Schema, SuiteVersion: res.SuiteVersion, SpecVersion: res.SpecVersion,
		Target: res.Target, Implementation: impl, Seed: res.Seed, Count: res.Count,
		Started: res.Started.UTC().Format(time.RFC3339Nano), DurationMS: res.Duration.Milliseconds(),
		OK: res.OK(), Summary: Summary(res), Counts: counts,
		Cases: make([]jsonCase, 0, len(res.Cases)), Stale: make([]jsonStale, 0, len(res.Stale)),
		Interrupted: res.Interrupted, Blocked: res.Blocked,
		RTTMS: float64(res.RTT.Microseconds()) / 1000, TimeoutScale: res.TimeoutScale,
	}
	for _, c := range res.Cases {
		jc := jsonCase{ID: c.ID, Clauses: c.Clauses, Level: c.Level, Description: c.Description,
			Outcome: c.Outcome, Message: c.Message, Logs: c.Logs,
			DurationMS: float64(c.Duration.Microseconds()) / 1000, Slow: c.Slow}
		if c.Attempts > 1 {
			jc.Attempts = c.Attempts
		}
		if jc.Clauses == nil {
			jc.Clauses = []string{}
		}
		if c.Known != nil {
			jc.Known = &jsonKnown{Deviation: c.Known.Deviation, Reason: c.Known.Reason}
			if c.Known.Match != nil {
				jc.Known.Match = c.Known.Match.String()
			}
		}
		if withTrace {
			jc.Trace = c.Trace
		}
		rep.Cases = append(rep.Cases, jc)
	}
	for _, k := range res.Stale {
		rep.Stale = append(rep.Stale, jsonStale{CaseID: k.CaseID, Deviation: k.Deviation, File: k.File, Line: k.Line})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// JUnit XML structures.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the result as JUnit XML: one testsuite per spec
// section (classname = section), one testcase per case. Fail and xpass are
// failures, timeout, crash, blocked and interrupted are errors (with the
// outcome as type), skip and xfail are skipped; an interrupted or blocked
// run is named in each suite's properties;
// stale known-failing entries appear as failing testcases of a
// "known-failing" suite.
func WriteJUnit(w io.Writer, res *Result) error {
	top := junitSuites{Name: "execnet-conform", Time: secs(res.Duration)}
	bySection := map[string]*junitSuite{}
	var order []string
	suite := func(name string) *junitSuite {
		s := bySection[name]
		if s == nil {
			s = &junitSuite{Name: name}
			bySection[name] = s
			order = append(order, name)
		}
		return s
	}
	durs := map[string]time.Duration{}
	for _, c := range res.Cases {
		s := suite(c.Section())
		jc := junitCase{Classname: c.Section(), Name: c.ID, Time: secs(c.Duration)}
		msg := c.Message
		body := msg
		if len(c.Trace) > 0 {
			var b strings.Builder
			b.WriteString(msg)
			b.WriteString("\n\nlast frames:\n")
			for _, e := range lastFrames(c.Trace, recentFrames) {
				b.WriteString(e.String())
				b.WriteByte('\n')
			}
			body = b.String()
		}
		switch c.Outcome {
		case Fail, XPass:
			jc.Failure = &junitMessage{Message: oneLine(msg, 500), Type: string(c.Outcome), Text: body}
			s.Failures++
		case Timeout, Crash, Blocked, Interrupted:
			jc.Error = &junitMessage{Message: oneLine(msg, 500), Type: string(c.Outcome), Text: body}
			s.Errors++
		case Skip, XFail:
			jc.Skipped = &junitMessage{Message: string(c.Outcome) + ": " + oneLine(msg, 500)}
			s.Skipped++
		}
		if len(c.Clauses) > 0 {
			jc.SystemOut = "clauses: " + strings.Join(c.Clauses, " ")
		}
		s.Tests++
		durs[s.Name] += c.Duration
		s.Cases = append(s.Cases, jc)
	}
	for _, k := range res.Stale {
		s := suite("known-failing")
		s.Tests++
		s.Failures++
		s.Cases = append(s.Cases, junitCase{Classname: "known-failing", Name: "stale/" + k.CaseID, Time: secs(0),
			Failure: &junitMessage{Type: "stale", Message: fmt.Sprintf("%s:%d: entry names no case: %s", k.File, k.Line, k.CaseID)}})
	}
	for _, name := range order {
		s := bySection[name]
		s.Time = secs(durs[name])
		s.Timestamp = res.Started.UTC().Format("2006-01-02T15:04:05")
		s.Properties = []junitProperty{{"target", res.Target}, {"seed", fmt.Sprint(res.Seed)}, {"spec_version", res.SpecVersion}}
		if res.Interrupted != "" {
			s.Properties = append(s.Properties, junitProperty{"interrupted", res.Interrupted})
		}
		if res.Blocked != "" {
			s.Properties = append(s.Properties, junitProperty{"blocked", res.Blocked})
		}
		top.Tests += s.Tests
		top.Failures += s.Failures
		top.Errors += s.Errors
		top.Skipped += s.Skipped
		top.Suites = append(top.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(top); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// jsonListCase is one case in "execnet-conform list --format json".
type jsonListCase struct {
	ID          string   `json:"id"`
	Section     string   `json:"section"`
	Level       Level    `json:"level"`
	Clauses     []string `json:"clauses"`
	Description string   `json:"description"`
	Fresh       bool     `json:"fresh,omitempty"`
	Profile     string   `json:"profile,omitempty"` // optional profile (SPEC.md 12.8); absent for core
}

// WriteList lists cases as text (one per line: level, id, clauses,
// description, and "(profile NAME)" for a case of an optional profile)
// or as JSON (format "json": {"schema":
// "execnet-conform/list/v1", "cases": [...]}).
func WriteList(w io.Writer, cases []Case, format string) error {
	if format == "json" {
		out := struct {
			Schema       string         `json:"schema"`
			SuiteVersion string         `json:"suite_version"`
			Cases        []jsonListCase `json:"cases"`
		}{Schema: "execnet-conform/list/v1", SuiteVersion: SuiteVersion, Cases: make([]jsonListCase, 0, len(cases))}
		for _, c := range cases {
			cl := c.Clauses
			if cl == nil {
				cl = []string{}
			}
			out.Cases = append(out.Cases, jsonListCase{ID: c.ID, Section: c.Section(), Level: c.Level,
				Clauses: uniqueClauses(cl), Description: c.Description, Fresh: c.Fresh, Profile: c.Profile})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, c := range cases {
		desc := c.Description
		if c.Profile != "" {
			desc += " (profile " + c.Profile + ")"
		}
		if _, err := fmt.Fprintf(w, "%-6s %s  [%s]  %s\n", c.Level, c.ID, strings.Join(uniqueClauses(c.Clauses), " "), desc); err != nil {
			return err
		}
	}
	return nil
}
