package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// echoCase sends one int to the fake target and expects it back.
func echoCase(id string) Case {
	return Case{ID: id, Clauses: []string{"FRM-HDR-1"}, Level: MUST, Description: "echo one frame",
		Run: func(t *T) {
			ch := t.NewChannelID()
			t.Send(frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: int32Payload(7)})
			f := t.Expect(spec.MsgChannelData, ch)
			if !bytes.Equal(f.Payload, int32Payload(7)) {
				t.Errorf("expected payload %x, got %x", int32Payload(7), f.Payload)
			}
		}}
}

func rawCase(id string, run func(t *T)) Case {
	return Case{ID: id, Level: MUST, Run: run}
}

func runFake(t *testing.T, ft *fakeTarget, opts Options, cases ...Case) *Result {
	t.Helper()
	opts.Open = ft.open
	opts.Target = "fake"
	if opts.Timeout == 0 {
		opts.Timeout = 300 * time.Millisecond
	}
	res, err := Run(context.Background(), opts, cases, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func outcomes(res *Result) map[string]Outcome {
	m := map[string]Outcome{}
	for _, c := range res.Cases {
		m[c.ID] = c.Outcome
	}
	return m
}

func TestRunOutcomes(t *testing.T) {
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{},
		echoCase("a/pass"),
		rawCase("a/fail", func(t *T) { t.Errorf("expected 1, got 2") }),
		rawCase("a/skip", func(t *T) { t.Skipf("not for this target") }),
		rawCase("a/panic", func(t *T) { panic("boom") }),
		rawCase("b/timeout", func(t *T) {
			ch := t.NewChannelID()
			t.Expect(spec.MsgChannelData, ch) // nothing ever comes
		}),
		echoCase("b/after-timeout"),
		rawCase("c/crash", func(t *T) {
			t.Send(frame.Frame{Code: 100})
			t.Expect(spec.MsgChannelData, 1)
		}),
		echoCase("c/after-crash"),
		rawCase("c/silent-crash", func(t *T) { t.Send(frame.Frame{Code: 100}) }),
		rawCase("c/silent-hang", func(t *T) { t.Send(frame.Frame{Code: 101}) }),
		echoCase("d/pass"),
		rawCase("d/expected-end", func(t *T) {
			t.Send(frame.Frame{Code: 100})
			t.ExpectEnd()
		}),
		rawCase("d/end-never-comes", func(t *T) {
			t.Send(frame.Frame{Code: 101})
			t.ExpectEnd()
		}),
		echoCase("d/last"),
	)
	want := map[string]Outcome{
		"a/pass": Pass, "a/fail": Fail, "a/skip": Skip, "a/panic": Fail,
		"b/timeout": Timeout, "b/after-timeout": Pass,
		"c/crash": Crash, "c/after-crash": Pass, "c/silent-crash": Crash, "c/silent-hang": Timeout,
		"d/pass": Pass, "d/expected-end": Pass, "d/end-never-comes": Timeout, "d/last": Pass,
	}
	got := outcomes(res)
	for id, o := range want {
		if got[id] != o {
			c := findCase(res, id)
			t.Errorf("%s: outcome %s, want %s (message %q)", id, got[id], o, c.Message)
		}
	}
	// Sessions: first, after b/timeout, after c/crash, after c/silent-crash,
	// after c/silent-hang, after d/expected-end, after d/end-never-comes,
	// and one more for the retry of each of the three timed-out cases.
	if n := ft.opens.Load(); n != 10 {
		t.Errorf("target opened %d times, want 10", n)
	}
	if c := findCase(res, "b/timeout"); c.Attempts != 2 {
		t.Errorf("b/timeout ran %d times, want 2 (a timed-out case is retried once)", c.Attempts)
	}
	if res.OK() {
		t.Errorf("result OK despite failures")
	}
	if c := findCase(res, "a/panic"); !strings.Contains(c.Message, "boom") {
		t.Errorf("panic message %q lacks the panic value", c.Message)
	}
	if c := findCase(res, "b/timeout"); !strings.Contains(c.Message, "deadline") || len(c.Trace) == 0 {
		t.Errorf("timeout message %q / trace %d entries", c.Message, len(c.Trace))
	}
	s := Summary(res)
	if want := "6 passed, 2 failed, 1 skipped, 3 timed out, 2 crashed"; s != want {
		t.Errorf("summary %q, want %q", s, want)
	}
}

func findCase(res *Result, id string) CaseResult {
	for _, c := range res.Cases {
		if c.ID == id {
			return c
		}
	}
	return CaseResult{}
}

func TestRunHungWriteIsKilled(t *testing.T) {
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{Timeout: 200 * time.Millisecond},
		rawCase("w/block", func(t *T) {
			t.Send(frame.Frame{Code: 103})
			// net.Pipe is unbuffered: this write blocks until the runner
			// kills the session.
			t.SendRaw(make([]byte, 1<<20))
		}),
		echoCase("w/next"),
	)
	got := outcomes(res)
	if got["w/block"] != Timeout || got["w/next"] != Pass {
		t.Errorf("outcomes %v", got)
	}
}

func TestFreshCasesGetNewSessions(t *testing.T) {
	ft := newFakeTarget(t)
	fresh := echoCase("f/fresh")
	fresh.Fresh = true
	res := runFake(t, ft, Options{}, echoCase("f/a"), echoCase("f/b"), fresh, echoCase("f/c"))
	if !res.OK() {
		t.Fatalf("not OK: %s", Summary(res))
	}
	if n := ft.opens.Load(); n != 2 {
		t.Errorf("opens = %d, want 2", n)
	}
}

func TestChannelIDsOddAndUnique(t *testing.T) {
	ft := newFakeTarget(t)
	var ids []int32
	c := rawCase("ids/x", func(t *T) {
		for range 5 {
			ids = append(ids, t.NewChannelID())
		}
	})
	d := c
	d.ID = "ids/y"
	runFake(t, ft, Options{}, c, d)
	seen := map[int32]bool{}
	for _, id := range ids {
		if id%2 != 1 || seen[id] {
			t.Errorf("channel ids %v: want odd, never reused", ids)
			break
		}
		seen[id] = true
	}
}

func TestStaleFramesOfEarlierCasesAreDropped(t *testing.T) {
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{},
		rawCase("s/leave", func(t *T) {
			// send data but never read the echo
			t.Send(frame.Frame{Code: spec.MsgChannelData, Channel: t.NewChannelID(), Payload: int32Payload(1)})
		}),
		rawCase("s/next", func(t *T) {
			ch := t.NewChannelID()
			t.Send(frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: int32Payload(2)})
			f, err := t.Recv()
			if err != nil {
				t.Fatalf("recv: %v", err)
			}
			if f.Channel != ch {
				t.Errorf("got a frame for channel %d of an earlier case, want %d", f.Channel, ch)
			}
		}),
	)
	if !res.OK() {
		t.Fatalf("%s: %+v", Summary(res), res.Cases)
	}
}

func TestKnownFailing(t *testing.T) {
	list := `# comment
k/xfail     DEV-1  /expected 1/  int is wrong
k/xpass     DEV-2  passes really
k/other     DEV-3  /expected 1/  fails differently
k/anyfail   DEV-4  any plain failure
k/crash     DEV-5  crash is not a plain failure
k/maypass   DEV-7  may-pass  /expected 1/  shows only sometimes, passed here
k/mayfail   DEV-7  may-pass  /expected 1/  shows only sometimes, failed here
gone/case   DEV-6  names no case
`
	kf, err := ParseKnownFailing(strings.NewReader(list), "list.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{KnownFailing: kf},
		rawCase("k/xfail", func(t *T) { t.Errorf("expected 1, got 2") }),
		echoCase("k/xpass"),
		rawCase("k/other", func(t *T) { t.Errorf("something else") }),
		rawCase("k/anyfail", func(t *T) { t.Errorf("whatever") }),
		rawCase("k/crash", func(t *T) { t.Send(frame.Frame{Code: 100}); t.Expect(spec.MsgChannelData, 1) }),
		echoCase("k/unlisted"),
		echoCase("k/maypass"),
		rawCase("k/mayfail", func(t *T) { t.Errorf("expected 1, got 2") }),
	)
	want := map[string]Outcome{"k/xfail": XFail, "k/xpass": XPass, "k/other": Fail, "k/anyfail": XFail, "k/crash": Crash, "k/unlisted": Pass,
		"k/maypass": Pass, "k/mayfail": XFail}
	got := outcomes(res)
	for id, o := range want {
		if got[id] != o {
			t.Errorf("%s: %s, want %s", id, got[id], o)
		}
	}
	if len(res.Stale) != 1 || res.Stale[0].CaseID != "gone/case" {
		t.Errorf("stale = %v", res.Stale)
	}
	if k := kf[5]; !k.MayPass || k.Match == nil || k.Reason != "shows only sometimes, passed here" || !strings.Contains(k.String(), "DEV-7  may-pass  /expected 1/") {
		t.Errorf("may-pass entry parsed as %+v (%s)", k, k)
	}
	if m := findCase(res, "k/maypass").Message; !strings.Contains(m, "may pass") {
		t.Errorf("k/maypass message %q: want it to say the listed case may pass", m)
	}
	if !strings.Contains(findCase(res, "k/other").Message, "failed differently") {
		t.Errorf("k/other message %q", findCase(res, "k/other").Message)
	}
	// Only stale entries: the run fails.
	res = runFake(t, newFakeTarget(t), Options{KnownFailing: kf[7:]}, echoCase("k/unlisted"))
	if res.OK() {
		t.Errorf("a stale entry must fail the run")
	}
}

func TestParseKnownFailingErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a/b\n", "no deviation id"},
		{"a/b DEV-x reason\n", "not a deviation id"},
		{"a/b DEV-9 reason\n", "not listed in SPEC.md"},
		{"a/b DEV-1\n", "no reason"},
		{"a/b DEV-1 /x( bad\n", "unterminated"},
		{"a/b DEV-1 /x(/ bad\n", "bad regexp"},
		{"a/b DEV-1 r\na/b DEV-2 r\n", "already listed on line 1"},
	} {
		_, err := ParseKnownFailing(strings.NewReader(tc.in), "f", []string{"DEV-1", "DEV-2"})
		var ke *KnownFailingError
		if !errors.As(err, &ke) || !errors.Is(err, ErrKnownFailing) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
	kf, err := ParseKnownFailing(strings.NewReader("a/b\tDEV-2\t/a\\/b/  slash in regexp\n"), "f", []string{"DEV-2"})
	if err != nil || len(kf) != 1 || kf[0].Match.String() != "a/b" || kf[0].Reason != "slash in regexp" {
		t.Errorf("got %+v, %v", kf, err)
	}
}

func TestSelector(t *testing.T) {
	for _, tc := range []struct {
		pat, id string
		want    bool
	}{
		{"serial", "serial/int/zero", true},
		{"serial/*", "serial/int/zero", true},
		{"*/int", "serial/int/zero", true},
		{"serial/int/z*", "serial/int/zero", true},
		{"serial/in", "serial/int/zero", false},
		{"serial/int/zero/x", "serial/int/zero", false},
		{"seri*", "serial/int/zero", true},
		{"framing", "serial/int/zero", false},
	} {
		if got := MatchPattern(tc.pat, tc.id); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tc.pat, tc.id, got)
		}
	}
	s := Selector{Run: SplitPatterns("serial,framing"), Skip: SplitPatterns("serial/float")}
	if !s.Match("serial/int/a") || s.Match("serial/float/a") || s.Match("channel/x") || !s.Match("framing/x") {
		t.Errorf("selector %+v misbehaves", s)
	}
	if err := (Selector{Run: []string{"a/[x"}}).Validate(); err == nil {
		t.Errorf("bad pattern accepted")
	}
}

func TestCheckCases(t *testing.T) {
	ok := echoCase("x/y")
	for name, cs := range map[string][]Case{
		"dup":     {ok, ok},
		"empty":   {{Level: MUST, Run: ok.Run}},
		"norun":   {{ID: "a/b", Level: MUST}},
		"level":   {{ID: "a/b", Level: "MUSTNT", Run: ok.Run}},
		"slashes": {{ID: "a//b", Level: MUST, Run: ok.Run}},
	} {
		if err := CheckCases(cs); !errors.Is(err, ErrBadCase) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestStartFailureIsAHarnessError(t *testing.T) {
	_, err := Run(context.Background(), Options{Target: "x", Open: func(ctx context.Context) (transport.Conn, error) {
		return nil, errors.New("no such interpreter")
	}}, []Case{echoCase("a/b")}, nil)
	var se *StartError
	if !errors.As(err, &se) || !errors.Is(err, ErrStart) {
		t.Fatalf("err = %v, want *StartError", err)
	}
}

func TestReports(t *testing.T) {
	ft := newFakeTarget(t)
	kf, _ := ParseKnownFailing(strings.NewReader("r/known DEV-1 /got/ listed\nr/gone DEV-1 stale\n"), "kf", nil)
	var trace bytes.Buffer
	res := runFake(t, ft, Options{KnownFailing: kf, Trace: &trace, Seed: 42},
		echoCase("r/pass"),
		rawCase("r/fail", func(t *T) {
			t.Send(frame.Frame{Code: spec.MsgChannelData, Channel: t.NewChannelID(), Payload: int32Payload(5)})
			t.Errorf("expected 6, got 5")
		}),
		rawCase("r/known", func(t *T) { t.Errorf("expected x, got y") }),
	)
	var js bytes.Buffer
	if err := WriteJSON(&js, res, true); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema string         `json:"schema"`
		Seed   int64          `json:"seed"`
		Counts map[string]int `json:"counts"`
		Cases  []struct {
			ID, Outcome, Message string
			Trace                []map[string]any
		} `json:"cases"`
		Stale []map[string]any `json:"stale"`
		OK    bool             `json:"ok"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if doc.Schema != Schema || doc.Seed != 42 || doc.OK || doc.Counts["pass"] != 1 || doc.Counts["fail"] != 1 ||
		doc.Counts["xfail"] != 1 || doc.Counts["stale"] != 1 || len(doc.Cases) != 3 || len(doc.Stale) != 1 {
		t.Errorf("JSON report: %s", js.String())
	}
	if len(doc.Cases[1].Trace) == 0 || len(doc.Cases[0].Trace) != 0 {
		t.Errorf("trace should be present for the failure only")
	}

	var ju bytes.Buffer
	if err := WriteJUnit(&ju, res); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(ju.Bytes(), &suites); err != nil {
		t.Fatalf("JUnit: %v", err)
	}
	if suites.Tests != 4 || suites.Failures != 2 || suites.Skipped != 1 || len(suites.Suites) != 2 ||
		suites.Suites[0].Cases[0].Classname != "r" {
		t.Errorf("JUnit: %s", ju.String())
	}

	var txt bytes.Buffer
	rep := NewTextReporter(&txt, TextOptions{})
	rep.Begin(len(res.Cases), res)
	for i, c := range res.Cases {
		rep.CaseDone(i+1, len(res.Cases), c)
	}
	rep.End(res)
	out := txt.String()
	for _, want := range []string{"FAIL    r/fail", "expected 6, got 5", `CHANNEL_DATA ch=\d+ len=6 \| 460000000551  = 5`,
		"STALE kf:2", "1 passed, 1 failed, 1 xfailed, 1 stale known-failing\nFAIL"} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour without Color option")
	}
	if !regexp.MustCompile(`(?m)^=== r/fail$`).Match(trace.Bytes()) || !regexp.MustCompile(`>> CHANNEL_DATA ch=\d+ len=6`).MatchString(trace.String()) {
		t.Errorf("trace file:\n%s", trace.String())
	}
}

func TestConcurrentReceivers(t *testing.T) {
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{Timeout: 2 * time.Second},
		rawCase("conc/many", func(t *T) {
			const n = 16
			ids := make([]int32, n)
			for i := range ids {
				ids[i] = t.NewChannelID()
			}
			errs := make(chan error, n)
			for i, ch := range ids {
				go func() {
					// Each goroutine waits for its own channel; the
					// frames arrive in reverse order of the waits.
					f, err := t.RecvOn(ch)
					if err == nil && !bytes.Equal(f.Payload, int32Payload(int32(i))) {
						err = errors.New("wrong payload on channel")
					}
					errs <- err
				}()
			}
			for i := n - 1; i >= 0; i-- {
				t.Send(frame.Frame{Code: spec.MsgChannelData, Channel: ids[i], Payload: int32Payload(int32(i))})
			}
			for range n {
				if err := <-errs; err != nil {
					t.Errorf("receiver: %v", err)
				}
			}
		}),
	)
	if !res.OK() {
		t.Fatalf("%s: %+v", Summary(res), res.Cases)
	}
}

func TestHugeDeclaredFrameEndsTheSession(t *testing.T) {
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{},
		rawCase("h/huge", func(t *T) {
			t.Send(frame.Frame{Code: 104})
			_, err := t.Recv()
			if !errors.Is(err, ErrDesync) || !errors.Is(err, finding.ErrFinding) {
				t.Errorf("Recv error %v, want a desynchronised stream for an oversized frame", err)
			}
		}),
		echoCase("h/next"),
	)
	got := outcomes(res)
	// The case saw the end it accepts, but the runner could not parse
	// the stream: that fails the case, and the next gets a new session.
	if got["h/huge"] != Fail || got["h/next"] != Pass {
		t.Errorf("outcomes %v: %s", got, findCase(res, "h/huge").Message)
	}
	if m := findCase(res, "h/huge").Message; !strings.Contains(m, "[SEC-RUN-1] declared payload length 1073741824 is over") ||
		!strings.Contains(m, "bytes 040000000140000000") {
		t.Errorf("message %q does not name the clause and the bytes of the oversized frame", m)
	}
}

func TestTextReporterTerminal(t *testing.T) {
	res := &Result{SuiteVersion: SuiteVersion, SpecVersion: "x", Target: "t", Cases: []CaseResult{
		{ID: "a/pass", Outcome: Pass}, {ID: "a/fail", Outcome: Fail, Message: "expected 1, got 2"}, {ID: "a/last", Outcome: Pass},
	}}
	var b bytes.Buffer
	rep := NewTextReporter(&b, TextOptions{Color: true, Progress: true})
	rep.Begin(3, res)
	for i, c := range res.Cases {
		rep.CaseDone(i+1, 3, c)
	}
	rep.End(res)
	out := b.String()
	for _, want := range []string{"[1/3] a/pass", "\r\x1b[K\x1b[1;31mFAIL\x1b[0m    a/fail", "expected 1, got 2", "2 passed, 1 failed\n\x1b[1;31mFAIL\x1b[0m"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal report lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "[3/3]") {
		t.Errorf("progress line left after the last case:\n%q", out)
	}
}

func TestInterruptedRunMarksTheRest(t *testing.T) {
	ft := newFakeTarget(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := Run(ctx, Options{Target: "fake", Open: ft.open, Timeout: 5 * time.Second}, []Case{
		echoCase("i/first"),
		rawCase("i/interrupted", func(t *T) {
			cancel()
			t.Expect(spec.MsgChannelData, t.NewChannelID()) // never answered
		}),
		echoCase("i/never-run"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(res)
	if got["i/first"] != Pass || got["i/interrupted"] != Interrupted || got["i/never-run"] != Interrupted {
		t.Errorf("outcomes %v", got)
	}
	if res.Interrupted == "" || res.OK() {
		t.Errorf("result Interrupted %q, OK %v: want the interruption marked and the run not OK", res.Interrupted, res.OK())
	}
}

func TestCaseOverrunningItsDeadlineTimesOut(t *testing.T) {
	ft := newFakeTarget(t)
	res := runFake(t, ft, Options{Timeout: 50 * time.Millisecond},
		rawCase("o/busy", func(t *T) {
			// Busy past the deadline without waiting on the target.
			for time.Now().Before(t.Deadline().Add(20 * time.Millisecond)) {
			}
		}),
		echoCase("o/next"),
	)
	if got := outcomes(res); got["o/busy"] != Timeout || got["o/next"] != Pass {
		t.Errorf("outcomes %v", got)
	}
}

func TestKnownFailingGlobs(t *testing.T) {
	list := `g/int/*      DEV-1  /expected/  every int case
g/int/exact  DEV-2  /exact/     the exact entry wins
g/*/x/*      DEV-3  no case has four segments here
`
	kf, err := ParseKnownFailing(strings.NewReader(list), "globs.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := runFake(t, newFakeTarget(t), Options{KnownFailing: kf},
		rawCase("g/int/a", func(t *T) { t.Errorf("expected 1, got 2") }),
		rawCase("g/int/b", func(t *T) { t.Errorf("expected 3, got 4") }),
		rawCase("g/int/exact", func(t *T) { t.Errorf("exact mismatch") }),
		rawCase("g/str/a", func(t *T) {}),
	)
	got := outcomes(res)
	want := map[string]Outcome{"g/int/a": XFail, "g/int/b": XFail, "g/int/exact": XFail, "g/str/a": Pass}
	for id, o := range want {
		if got[id] != o {
			t.Errorf("%s: %s, want %s", id, got[id], o)
		}
	}
	if c := findCase(res, "g/int/exact"); c.Known == nil || c.Known.Deviation != "DEV-2" {
		t.Errorf("g/int/exact matched %+v, want the exact DEV-2 entry", c.Known)
	}
	if len(res.Stale) != 1 || res.Stale[0].Deviation != "DEV-3" {
		t.Errorf("stale = %+v, want the DEV-3 glob", res.Stale)
	}
	if _, err := ParseKnownFailing(strings.NewReader("a/[x DEV-1 r\n"), "f", nil); err == nil {
		t.Errorf("bad glob accepted")
	}
}

func TestChannelIDsExhaustedNotWrapped(t *testing.T) {
	s := &session{nextID: math.MaxInt32 - 2, owner: map[int32]int{}}
	for _, want := range []int32{math.MaxInt32 - 2, math.MaxInt32} {
		if id, err := s.newChannelID(); err != nil || id != want {
			t.Fatalf("newChannelID = %d, %v; want %d", id, err, want)
		}
	}
	for range 2 {
		if id, err := s.newChannelID(); !errors.Is(err, ErrIDsExhausted) {
			t.Fatalf("after the last id: %d, %v; want ErrIDsExhausted", id, err)
		}
	}
}

// TestUnparseableStreamIsNotAnOrderlyEnd: a case that accepts the end of
// the connection (as termination/terminate/connection-ends does) fails
// when the target, instead of ending, writes what the runner cannot parse
// and hangs; the failure names the clause and shows the bytes, and the
// run goes on with a new session.
func TestUnparseableStreamIsNotAnOrderlyEnd(t *testing.T) {
	for _, tc := range []struct {
		code         spec.MsgCode
		clause, text string
	}{
		{104, "[SEC-RUN-1]", "040000000140000000"},
		{105, "[FRM-HDR-2]", "0400000001fffffffe"},
		{106, "[FRM-CODE-1]", "547261636562"},
	} {
		ft := newFakeTarget(t)
		res := runFake(t, ft, Options{Timeout: 2 * time.Second},
			rawCase("u/ends", func(t *T) {
				t.Send(frame.Frame{Code: tc.code})
				t.ExpectEnd()
			}),
			echoCase("u/next"),
		)
		c := findCase(res, "u/ends")
		if c.Outcome != Fail || !strings.Contains(c.Message, tc.clause) || !strings.Contains(c.Message, tc.text) {
			t.Errorf("code %d: %s %q, want a failure naming %s and the bytes %s", tc.code, c.Outcome, c.Message, tc.clause, tc.text)
		}
		if c.Duration > time.Second {
			t.Errorf("code %d: the case took %v, want the desync noticed at once", tc.code, c.Duration)
		}
		if o := findCase(res, "u/next").Outcome; o != Pass {
			t.Errorf("code %d: next case %s, want a new session", tc.code, o)
		}
	}
}

// TestTimedOutCaseIsRetriedOnce: a case that times out once and then
// passes is a pass, marked slow, with two attempts; one that times out
// twice is a timeout.
func TestTimedOutCaseIsRetriedOnce(t *testing.T) {
	ft := newFakeTarget(t)
	tries := 0
	res := runFake(t, ft, Options{Timeout: 200 * time.Millisecond},
		rawCase("r/flaky", func(t *T) {
			tries++
			if tries == 1 {
				t.Expect(spec.MsgChannelData, t.NewChannelID()) // never answered
			}
		}),
		rawCase("r/always", func(t *T) { t.Expect(spec.MsgChannelData, t.NewChannelID()) }),
	)
	if c := findCase(res, "r/flaky"); c.Outcome != Pass || !c.Slow || c.Attempts != 2 || len(c.Logs) == 0 {
		t.Errorf("r/flaky: %s slow=%v attempts=%d logs=%q: want a slow pass on the second attempt", c.Outcome, c.Slow, c.Attempts, c.Logs)
	}
	if c := findCase(res, "r/always"); c.Outcome != Timeout || c.Attempts != 2 {
		t.Errorf("r/always: %s attempts=%d: want a timeout after two attempts", c.Outcome, c.Attempts)
	}
	var txt bytes.Buffer
	rep := NewTextReporter(&txt, TextOptions{})
	rep.End(res)
	if !strings.Contains(txt.String(), "slow (over half the deadline, or passed when retried): r/flaky") {
		t.Errorf("text report does not list the slow case apart:\n%s", txt.String())
	}
}

// TestDeadlinesScaleWithRoundTripTime: without Options.Timeout, a target
// whose STATUS takes 30 ms gets deadlines about three times the default;
// with it, deadlines are used as given.
func TestDeadlinesScaleWithRoundTripTime(t *testing.T) {
	for _, tc := range []struct {
		timeout   time.Duration
		minScale  float64
		maxScale  float64
		wantBound time.Duration
	}{
		{0, 2.5, maxScale, time.Duration(2.5 * float64(DefaultTimeout))},
		{time.Second, 1, 1, time.Second},
	} {
		ft := newFakeTarget(t)
		ft.statusDelay = 30 * time.Millisecond
		var got time.Duration
		res, err := Run(context.Background(), Options{Target: "fake", Open: ft.open, Timeout: tc.timeout}, []Case{
			rawCase("d/deadline", func(t *T) { got = time.Until(t.Deadline()) }),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.RTT < 30*time.Millisecond || res.TimeoutScale < tc.minScale || res.TimeoutScale > tc.maxScale {
			t.Errorf("timeout %v: rtt %v, scale %.2f: want %.1f..%.1f", tc.timeout, res.RTT, res.TimeoutScale, tc.minScale, tc.maxScale)
		}
		if got < tc.wantBound-100*time.Millisecond || got > time.Duration(float64(tc.wantBound)*maxScale) {
			t.Errorf("timeout %v: case deadline %v from its start, want about %v or more", tc.timeout, got, tc.wantBound)
		}
	}
}
