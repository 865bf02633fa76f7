package normalize

import (
	"fmt"
	"testing"
)

func TestRules(t *testing.T) {
	cases := []struct{ rule, in, want string }{
		{"traceback-path", `  File "/usr/lib/python3/dist-packages/execnet/gateway_base.py", line 1452, in _save_integral`,
			`  File "…", line N, in _save_integral`},
		{"traceback-path", `failed with "...  File \"/work/peers/execnet/gateway_base.py\", line 1702, in save_int\n"`,
			`failed with "...  File "…", line N, in save_int\n"`},
		{"pid", "target started (pid 16758)", "target started (pid N)"},
		{"pid-prefix", `stderr tail: "[16758] Warning: unhandled RemoteError"`, `stderr tail: "[N] Warning: unhandled RemoteError"`},
		{"address", "<object at 0x7f3a2c1b9e80>", "<object at 0xADDR>"},
		{"duration", "did not finish within 1.5s after 250ms", "did not finish within DURATION after DURATION"},
		{"channel", "expected CHANNEL_DATA on channel 427, closed channel id 3", "expected CHANNEL_DATA on channel N, closed channel N"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.rule] = true
		if got := Text(c.in); got != c.want {
			t.Errorf("%s: Text(%q) = %q, want %q", c.rule, c.in, got, c.want)
		}
	}
	for _, r := range Rules() {
		if !seen[r.Name] {
			t.Errorf("rule %s has no test", r.Name)
		}
		if r.Why == "" {
			t.Errorf("rule %s does not say why", r.Name)
		}
	}
}

func TestTextKeepsBehaviour(t *testing.T) {
	// What differs in behaviour must stay different.
	for _, p := range [][2]string{
		{"struct.error: argument out of range", "struct.error: 'i' format requires"},
		{"got CHANNEL_CLOSE", "got CHANNEL_CLOSE_ERROR"},
		{"0x10", "0x11"}, // short hex numbers are values, not addresses
	} {
		if Text(p[0]) == Text(p[1]) {
			t.Errorf("%q and %q normalise to the same text", p[0], p[1])
		}
	}
}

func ExampleText() {
	fmt.Println(Text(`File "/usr/lib/python3/dist-packages/execnet/gateway_base.py", line 1452, in f`))
	// Output: File "…", line N, in f
}

func TestTraceback(t *testing.T) {
	tb := "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    raise ValueError('boom')\nValueError: boom\n"
	if got := Traceback(tb); got != "Traceback (…): ValueError: boom" {
		t.Errorf("Traceback() = %q", got)
	}
	if got := Traceback("not a traceback\nValueError: boom"); got != "not a traceback\nValueError: boom" {
		t.Errorf("Traceback(other) = %q", got)
	}
}
