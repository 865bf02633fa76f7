package conformance

import (
	"fmt"
	"strings"
	"time"
)

// health is the result of the STATUS round trip the runner makes after a
// case whose session is still in use.
type health int

const (
	healthNotRun   health = iota // the session ended or was given up: no check
	healthOK                     // STATUS answered as required
	healthEnded                  // the connection ended instead
	healthNoAnswer               // no answer within the health-check bound
	healthWrong                  // an answer other than CHANNEL_DATA then CHANNEL_CLOSE
)

// observations is everything the runner saw of one case, gathered by
// runCase and turned into an outcome by verdict. Strings are empty when
// the thing did not happen.
type observations struct {
	// Interrupted: the run ended (interrupt, whole-run deadline) while the
	// case ran or before it started; the text says why.
	Interrupted string
	// Blocked: the case was not run because the target failed the same
	// way in the cases before it; the text says how.
	Blocked string
	// StartFailed: the target could not be (re)started for the case.
	StartFailed string

	// Failed and Messages: the case called Errorf/Fatalf (or panicked).
	Failed   bool
	Messages []string
	// Skipped and SkipMessage: the case called Skipf.
	Skipped     bool
	SkipMessage string

	// Late: the case returned after its deadline. Hung: it did not return
	// at all until the runner killed the session.
	Late, Hung bool
	// Deadline is the case's deadline, for the timeout message.
	Deadline time.Duration
	// WaitTimedOut: a wait of the case hit the deadline.
	WaitTimedOut bool
	// WaitSawEnd: a wait of the case saw the connection end.
	WaitSawEnd bool
	// EndExpected: ExpectEnd saw the end it was waiting for.
	EndExpected bool
	// Deliberate: the case ended the session on purpose (GATEWAY_TERMINATE,
	// CloseWrite, ExpectEnd).
	Deliberate bool
	// SessionEnded: the target's stream ended during the case (the error
	// text), as opposed to the runner closing it.
	SessionEnded string

	// Desync: the runner could not parse what the target sent (the
	// finding's text, naming the clause and the bytes). It always fails
	// the case.
	Desync string
	// Findings: frames of the case that were framed well but broke a
	// clause (a payload that does not decode).
	Findings []string

	// Health and HealthMessage: the STATUS round trip after the case.
	Health        health
	HealthMessage string
}

// verdict decides a case's outcome from what was observed. It is the only
// place an outcome is decided (known-failing entries are applied after
// it). PASS is the last branch and needs every observation clean: not
// interrupted, blocked or unstarted; no desync, finding, failure, skip or
// lateness; the connection open or ended on purpose; a health check that
// passed or was not due.
func verdict(o observations) (Outcome, string) {
	out, msg := caseVerdict(o)
	// Findings on well-framed frames fail a case that would pass.
	if len(o.Findings) > 0 && out != Interrupted && out != Blocked {
		if out == Pass || out == Skip {
			out, msg = Fail, ""
		}
		msg = joinMsgs(append([]string{msg}, o.Findings...), "")
	}
	// The health check can only make a verdict worse, and only by what it
	// saw: a case that already failed stays a failure. After a desync the
	// health check only sees the end the desync caused.
	if out == Interrupted || out == Blocked || o.Desync != "" {
		return out, msg
	}
	switch o.Health {
	case healthEnded:
		if out == Pass || out == Fail || out == Skip {
			out = Crash
		}
		msg += sep(msg) + "after the case (health check): " + o.HealthMessage
	case healthNoAnswer:
		if out == Pass || out == Skip {
			out = Timeout
		}
		msg += sep(msg) + "after the case the target did not answer STATUS: " + o.HealthMessage
	case healthWrong:
		if out == Pass || out == Skip {
			out = Fail
		}
		msg += sep(msg) + "after the case the target answered STATUS wrongly: " + o.HealthMessage
	}
	return out, msg
}

// caseVerdict is verdict before findings and the health check.
func caseVerdict(o observations) (Outcome, string) {
	ended := o.SessionEnded != "" && !o.Deliberate && !o.EndExpected
	late := o.Late || o.Hung
	switch {
	case o.Interrupted != "":
		return Interrupted, joinMsgs(append([]string{"interrupted: " + o.Interrupted}, o.Messages...), "")
	case o.Blocked != "":
		return Blocked, "not run: " + o.Blocked
	case o.StartFailed != "":
		return Crash, o.StartFailed
	case o.Desync != "":
		// Never an orderly end, whatever the case expected. The case's
		// own messages quote the finding again: shown once.
		msgs := []string{"the runner cannot parse what the target sent: " + o.Desync}
		for _, m := range o.Messages {
			msgs = append(msgs, strings.ReplaceAll(m, o.Desync, "(the finding above)"))
		}
		return Fail, joinMsgs(msgs, "")
	case late && (o.Hung || o.WaitTimedOut || (!o.Failed && !o.Skipped)):
		return Timeout, joinMsgs(o.Messages, fmt.Sprintf("the case did not finish within %v", o.Deadline))
	case o.Failed && !o.Deliberate && (o.WaitSawEnd || ended):
		msg := joinMsgs(o.Messages, "")
		if !o.WaitSawEnd {
			msg += sep(msg) + o.SessionEnded
		}
		return Crash, msg
	case o.Failed:
		return Fail, joinMsgs(o.Messages, "")
	case !o.Skipped && ended:
		// The case did not fail, but the connection ended without the
		// case expecting it: the target crashed.
		return Crash, "during the case the " + o.SessionEnded
	case o.Skipped:
		return Skip, o.SkipMessage
	}
	return Pass, ""
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return "; "
}

func joinMsgs(msgs []string, fallback string) string {
	var nonEmpty []string
	for _, m := range msgs {
		if m != "" {
			nonEmpty = append(nonEmpty, m)
		}
	}
	if len(nonEmpty) == 0 {
		return fallback
	}
	return strings.Join(nonEmpty, "; ")
}
