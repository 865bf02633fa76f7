package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/conformance"
)

func report(name string, cases ...Case) *Report {
	return &Report{Schema: conformance.Schema, Target: "popen//python=" + name,
		Implementation: map[string]string{"implementation": "python-execnet", "version": name}, Cases: cases}
}

func kc(id string, o conformance.Outcome, msg string) Case {
	return Case{ID: id, Clauses: []string{"X-1"}, Outcome: o, Message: msg}
}

func TestCompareKinds(t *testing.T) {
	dev := &Known{Deviation: "DEV-1", Reason: "ints"}
	old := report("1.0",
		kc("a/same-pass", conformance.Pass, ""),
		kc("a/regressed", conformance.Pass, ""),
		kc("a/fixed", conformance.Fail, "boom"),
		Case{ID: "a/fixed-xpass", Outcome: conformance.XFail, Message: "known failure DEV-1 (ints): boom", Known: dev},
		kc("a/same-fail", conformance.Fail, `File "/usr/lib/x.py", line 3, in f: boom on channel 5 (pid 77)`),
		Case{ID: "a/listed-now-unlisted", Outcome: conformance.XFail, Message: "known failure DEV-1 (ints): boom", Known: dev},
		kc("a/changed-message", conformance.Fail, "got 1"),
		kc("a/worse", conformance.Fail, "got 1"),
		kc("a/better-failure", conformance.Crash, "EOF"),
		kc("a/slower", conformance.Fail, "no end before the deadline"),
		kc("a/now-skipped", conformance.Pass, ""),
		kc("a/removed", conformance.Pass, ""),
	)
	new := report("2.0",
		kc("a/same-pass", conformance.Pass, ""),
		kc("a/regressed", conformance.Timeout, "the case did not finish within 5s"),
		kc("a/fixed", conformance.Pass, ""),
		Case{ID: "a/fixed-xpass", Outcome: conformance.XPass, Message: "listed but passed", Known: dev},
		kc("a/same-fail", conformance.Fail, `File "/peers/x.py", line 9, in f: boom on channel 9 (pid 12)`),
		kc("a/listed-now-unlisted", conformance.Fail, "boom"),
		kc("a/changed-message", conformance.Fail, "got 2"),
		kc("a/worse", conformance.Crash, "got 1"),
		kc("a/better-failure", conformance.Fail, "EOF"),
		kc("a/slower", conformance.Timeout, "no end before the deadline"),
		kc("a/now-skipped", conformance.Skip, "no PyPy"),
		kc("a/added", conformance.Fail, "new"),
	)
	c := Compare(old, new)
	got := map[string]Kind{}
	for _, d := range c.Diffs {
		got[d.ID] = d.Kind
	}
	want := map[string]Kind{
		"a/regressed": Regressed, "a/fixed": Fixed, "a/fixed-xpass": Fixed,
		"a/changed-message": Changed, "a/worse": Changed, "a/better-failure": Changed, "a/slower": Changed,
		"a/now-skipped": SkipDiff, "a/added": Added, "a/removed": Removed,
	}
	for id, k := range want {
		if got[id] != k {
			t.Errorf("%s: kind %q, want %q", id, got[id], k)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: reported as %s, want no diff", id, got[id])
		}
	}
	if c.Same != 3 {
		t.Errorf("Same = %d, want 3 (same-pass, same-fail, listed-now-unlisted)", c.Same)
	}
	if n := c.Regressions(); n != 2 {
		t.Errorf("Regressions() = %d, want 2 (regressed, worse)", n)
	}
	if c.OK() {
		t.Error("OK() with regressions")
	}
	for _, d := range c.Diffs {
		if (d.ID == "a/better-failure" || d.ID == "a/slower") && d.Regression() {
			t.Errorf("%s counts as a regression (only failures that became crashes do)", d.ID)
		}
	}
	// Order: by kind, then id.
	if c.Diffs[0].ID != "a/regressed" || c.Diffs[len(c.Diffs)-1].ID != "a/removed" {
		t.Errorf("diff order: first %s, last %s", c.Diffs[0].ID, c.Diffs[len(c.Diffs)-1].ID)
	}
}

func TestCompareIdenticalIsOK(t *testing.T) {
	r := report("1.0", kc("a", conformance.Pass, ""), kc("b", conformance.Fail, "x"))
	c := Compare(r, r)
	if !c.OK() || len(c.Diffs) != 0 || c.Same != 2 {
		t.Fatalf("identical reports: ok=%v diffs=%v same=%d", c.OK(), c.Diffs, c.Same)
	}
}

func TestRawMessage(t *testing.T) {
	dev := &Known{Deviation: "DEV-3", Reason: "why"}
	for _, c := range []struct {
		c    Case
		want string
	}{
		{Case{Outcome: conformance.XFail, Message: "known failure DEV-3 (why): got 1", Known: dev}, "got 1"},
		{Case{Outcome: conformance.Crash, Message: "failed differently than listed in f.txt:3 (DEV-3 expects a plain failure): crash: EOF", Known: dev}, "EOF"},
		{Case{Outcome: conformance.XPass, Message: "listed as known-failing ... remove the entry", Known: dev}, ""},
		{Case{Outcome: conformance.Fail, Message: "got 1"}, "got 1"},
	} {
		if got := c.c.RawMessage(); got != c.want {
			t.Errorf("RawMessage(%q) = %q, want %q", c.c.Message, got, c.want)
		}
	}
}

func TestReadReportErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       "hello",
		"other schema":   `{"schema": "execnet-conform/list/v1", "cases": []}`,
		"future version": `{"schema": "execnet-conform/run/v9", "cases": []}`,
		"no id":          `{"schema": "execnet-conform/run/v1", "cases": [{"outcome": "pass"}]}`,
		"duplicate":      `{"schema": "execnet-conform/run/v1", "cases": [{"id": "a", "outcome": "pass"}, {"id": "a", "outcome": "pass"}]}`,
		"bad outcome":    `{"schema": "execnet-conform/run/v1", "cases": [{"id": "a", "outcome": "great"}]}`,
	} {
		if _, err := ReadReport(strings.NewReader(in), name); !errors.Is(err, ErrReport) {
			t.Errorf("%s: err = %v, want ErrReport", name, err)
		}
	}
	if _, err := ReadReportFile("/nonexistent/report.json"); !errors.Is(err, ErrReport) {
		t.Errorf("missing file: err = %v, want ErrReport", err)
	}
}

// TestReadWrittenReport reads what conformance.WriteJSON writes, so that a
// change of the run schema shows here.
func TestReadWrittenReport(t *testing.T) {
	res := &conformance.Result{SuiteVersion: conformance.SuiteVersion, Target: "t",
		Implementation: map[string]string{"implementation": "x", "version": "1"},
		Cases: []conformance.CaseResult{
			{ID: "a/b", Clauses: []string{"SER-INT-1"}, Outcome: conformance.XFail, Message: "known failure DEV-1 (r): m",
				Known: &conformance.KnownFailure{Deviation: "DEV-1", Reason: "r"}},
			{ID: "a/c", Outcome: conformance.Pass},
		}}
	var buf bytes.Buffer
	if err := conformance.WriteJSON(&buf, res, false); err != nil {
		t.Fatal(err)
	}
	rep, err := ReadReport(&buf, "written")
	if err != nil {
		t.Fatal(err)
	}
	want := FromResult(res)
	if len(rep.Cases) != 2 || rep.Cases[0].RawMessage() != "m" || rep.Cases[0].Known.Deviation != "DEV-1" ||
		rep.Name() != "x 1" || want.Cases[0].RawMessage() != "m" {
		t.Fatalf("read back %+v", rep)
	}
	if c := Compare(rep, want); len(c.Diffs) != 0 {
		t.Errorf("JSON and in-memory forms differ: %+v", c.Diffs)
	}
}

func TestWriters(t *testing.T) {
	old := report("1.0", kc("a/x", conformance.Pass, ""), kc("a/y", conformance.Fail, "p|q\nr"))
	new := report("2.0", kc("a/x", conformance.Crash, "EOF"), kc("a/y", conformance.Pass, ""))
	c := Compare(old, new)
	var text, md, js bytes.Buffer
	if err := WriteText(&text, c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"old: python-execnet 1.0", "Regressed", "  a/x  [X-1]", "    new: crash: EOF", "Fixed", "1 regressed, 0 changed, 1 fixed", "REGRESSED (1)"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, text.String())
		}
	}
	if err := WriteMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"### execnet-conform compare: 1 regression(s)", "| `a/x` | X-1 | pass | crash: EOF |", `fail: p\|q r`} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown output lacks %q:\n%s", s, md.String())
		}
	}
	if err := WriteJSON(&js, c); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Schema      string
		OK          bool
		Regressions int
		Counts      map[string]int
		Diffs       []Diff
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != CompareSchema || back.OK || back.Regressions != 1 || back.Counts["fixed"] != 1 || len(back.Diffs) != 2 || back.Diffs[0].New.Outcome != conformance.Crash {
		t.Errorf("JSON round trip: %+v", back)
	}
}

func Example() {
	old := report("1.9.0", kc("channel/close-error/non-text", conformance.Pass, ""))
	new := report("2.1.2", kc("channel/close-error/non-text", conformance.Crash, "target ended the connection: EOF"))
	c := Compare(old, new)
	WriteText(os.Stdout, c)
	// Output:
	// old: python-execnet 1.9.0 (popen//python=1.9.0)
	// new: python-execnet 2.1.2 (popen//python=2.1.2)
	//
	// Regressed (passed before, fail now):
	//   channel/close-error/non-text  [X-1]
	//     old: pass
	//     new: crash: target ended the connection: EOF
	//
	// 1 regressed, 0 changed, 0 fixed, 0 skip, 0 new, 0 removed, 0 same
	// REGRESSED (1)
}
