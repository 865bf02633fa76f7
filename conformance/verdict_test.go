package conformance

import (
	"fmt"
	"strings"
	"testing"
)

// TestVerdictEveryCombination feeds verdict every combination of
// observations and checks that PASS comes out exactly when everything
// observed was clean, and the rules that hold across all combinations.
func TestVerdictEveryCombination(t *testing.T) {
	const flags = 14
	healths := []health{healthNotRun, healthOK, healthEnded, healthNoAnswer, healthWrong}
	n := 0
	for bits := 0; bits < 1<<flags; bits++ {
		on := func(i int) bool { return bits&(1<<i) != 0 }
		text := func(i int, s string) string {
			if on(i) {
				return s
			}
			return ""
		}
		for _, h := range healths {
			o := observations{
				Interrupted: text(0, "signal"), Blocked: text(1, "no STATUS"), StartFailed: text(2, "cannot start"),
				Failed: on(3), Skipped: on(4), Late: on(5), Hung: on(6), WaitTimedOut: on(7), WaitSawEnd: on(8),
				EndExpected: on(9), Deliberate: on(10), SessionEnded: text(11, "target ended the connection: EOF"),
				Desync: text(12, "[FRM-CODE-1] junk"), Health: h, HealthMessage: "h", Deadline: 1,
			}
			if on(13) {
				o.Findings = []string{"[FRM-FATAL-2] undecodable"}
			}
			if o.Failed {
				o.Messages = []string{"expected 1, got 2"}
			}
			out, msg := verdict(o)
			n++
			where := fmt.Sprintf("%+v -> %s %q", o, out, msg)

			clean := o.Interrupted == "" && o.Blocked == "" && o.StartFailed == "" && !o.Failed && !o.Skipped &&
				!o.Late && !o.Hung && o.Desync == "" && len(o.Findings) == 0 &&
				(o.SessionEnded == "" || o.Deliberate || o.EndExpected) &&
				(h == healthNotRun || h == healthOK)
			if (out == Pass) != clean {
				t.Fatalf("PASS must come out exactly for clean observations: %s", where)
			}
			switch {
			case o.Interrupted != "":
				if out != Interrupted {
					t.Fatalf("an interrupted case must be INTERRUPTED (never skipped): %s", where)
				}
			case o.Blocked != "":
				if out != Blocked {
					t.Fatalf("a blocked case must be BLOCKED: %s", where)
				}
			case o.StartFailed != "":
				if out != Crash {
					t.Fatalf("a case whose target did not start must be CRASH: %s", where)
				}
			case o.Desync != "":
				if out != Fail || !strings.Contains(msg, o.Desync) {
					t.Fatalf("a desynchronised stream must fail the case and be named: %s", where)
				}
			}
			if out == Pass && msg != "" {
				t.Fatalf("PASS with a message: %s", where)
			}
			if out != Pass && out != Skip && msg == "" {
				t.Fatalf("%s without a message: %s", out, where)
			}
			if len(o.Findings) > 0 && out != Interrupted && out != Blocked && !strings.Contains(msg, o.Findings[0]) {
				t.Fatalf("a finding must be shown: %s", where)
			}
			if before, _ := caseVerdict(o); before == Fail && out == Timeout {
				t.Fatalf("the health check must not turn a failure into a timeout: %s", where)
			}
		}
	}
	if n != 5<<flags {
		t.Fatalf("tried %d combinations", n)
	}
}

// TestVerdictTable names the combinations the issues describe.
func TestVerdictTable(t *testing.T) {
	ended := "target ended the connection: EOF"
	for _, tc := range []struct {
		name string
		o    observations
		want Outcome
		msg  string
	}{
		{"clean", observations{}, Pass, ""},
		{"clean, health ok", observations{Health: healthOK}, Pass, ""},
		{"expected end", observations{Deliberate: true, EndExpected: true, SessionEnded: ended}, Pass, ""},
		{"failed", observations{Failed: true, Messages: []string{"expected 1, got 2"}}, Fail, "expected 1, got 2"},
		{"skipped", observations{Skipped: true, SkipMessage: "not python"}, Skip, "not python"},
		{"desync where an end was expected", observations{Deliberate: true, EndExpected: true, SessionEnded: ended,
			Desync: "the runner cannot parse what the target sent: [FRM-HDR-2] negative payload length -1"}, Fail, "[FRM-HDR-2]"},
		{"desync in a skipped case", observations{Skipped: true, Desync: "[FRM-CODE-1] junk"}, Fail, "[FRM-CODE-1]"},
		{"desync seen by the health check", observations{Desync: "[FRM-CODE-1] junk", Health: healthEnded, HealthMessage: "desynchronised"}, Fail, "[FRM-CODE-1]"},
		{"finding in a passing case", observations{Findings: []string{"[FRM-FATAL-2] does not decode"}}, Fail, "[FRM-FATAL-2]"},
		{"late without a failure", observations{Late: true, Deadline: 5e9}, Timeout, "within 5s"},
		{"hung", observations{Hung: true, Failed: true, Messages: []string{"x"}}, Timeout, "x"},
		{"late with a plain failure", observations{Late: true, Failed: true, Messages: []string{"wrong"}}, Fail, "wrong"},
		{"failure that saw the end", observations{Failed: true, WaitSawEnd: true, Messages: []string{"recv: " + ended}}, Crash, "recv"},
		{"silent crash", observations{SessionEnded: ended}, Crash, "during the case the target ended"},
		{"failed, then STATUS unanswered", observations{Failed: true, Messages: []string{"wrong"}, Health: healthNoAnswer, HealthMessage: "deadline"},
			Fail, "did not answer STATUS"},
		{"passed, then STATUS unanswered", observations{Health: healthNoAnswer, HealthMessage: "deadline"}, Timeout, "did not answer STATUS"},
		{"passed, then connection gone", observations{Health: healthEnded, HealthMessage: ended}, Crash, "health check"},
		{"passed, then STATUS wrong", observations{Health: healthWrong, HealthMessage: "CHANNEL_CLOSE first"}, Fail, "wrongly"},
		{"interrupted", observations{Interrupted: "the run was interrupted", Failed: true}, Interrupted, "interrupted"},
		{"blocked", observations{Blocked: "STATUS never answered"}, Blocked, "not run: STATUS never answered"},
		{"start failed", observations{StartFailed: "bad ready byte"}, Crash, "bad ready byte"},
	} {
		out, msg := verdict(tc.o)
		if out != tc.want || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %s %q, want %s with %q", tc.name, out, msg, tc.want, tc.msg)
		}
	}
}
