// Package normalize removes from messages and decoded values what
// legitimately differs between two runs of the same behaviour: process
// ids, durations, object addresses, source paths and line numbers in
// Python tracebacks, channel numbers in runner messages. compare applies
// it to failure messages, replay to the worker's answers.
//
//	normalize.Text(`File "/usr/lib/python3/dist-packages/execnet/gateway_base.py", line 1452, in f`)
//	// File "…", line N, in f
//
// Each rule is a regular expression and its replacement, applied in the
// order of Rules; the rules are documented in their Why field and tested
// one by one.
package normalize

import (
	"regexp"
	"strings"
)

// Rule is one normalisation: every match of Pattern is replaced by
// Replace (regexp.ReplaceAllString syntax).
type Rule struct {
	Name    string
	Pattern *regexp.Regexp
	Replace string
	Why     string
}

var rules = []Rule{
	{"traceback-path", regexp.MustCompile(`File \\?"[^"\n]*?\\?", line \d+`), `File "…", line N`,
		"a Python traceback names the file and line of each frame: they move with the install path and the release, not with the behaviour (also inside a Go-quoted message, where the quotes are escaped)"},
	{"pid", regexp.MustCompile(`\bpid \d+\b`), "pid N",
		"process ids differ in every run"},
	{"pid-prefix", regexp.MustCompile(`\[\d+\] `), "[N] ",
		"execnet prefixes its stderr warnings with the process id in brackets"},
	{"address", regexp.MustCompile(`\b0x[0-9a-fA-F]{6,}\b`), "0xADDR",
		"object reprs carry memory addresses"},
	{"duration", regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s)\b`), "DURATION",
		"timings differ in every run"},
	{"channel", regexp.MustCompile(`\bchannel (id )?\d+\b`), "channel N",
		"channel numbers depend on how many channels the session opened before (restarts, the order of earlier cases)"},
}

// Rules returns the rules in the order Text applies them.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	copy(out, rules)
	return out
}

// Traceback shortens a Python traceback to its last line (the exception's
// type and message): the frames above it name source lines, which change
// from release to release without the behaviour changing. Text that is
// not a traceback is returned unchanged. Replay applies it to error texts
// before Text.
func Traceback(s string) string {
	if !strings.HasPrefix(strings.TrimLeft(s, " \n"), "Traceback (most recent call last):") {
		return s
	}
	lines := strings.Split(strings.TrimRight(s, " \n"), "\n")
	return "Traceback (…): " + strings.TrimSpace(lines[len(lines)-1])
}

// Text applies every rule to s.
func Text(s string) string {
	for _, r := range rules {
		s = r.Pattern.ReplaceAllString(s, r.Replace)
	}
	return s
}
