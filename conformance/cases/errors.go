package cases

import (
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

func errorsCases() []conformance.Case {
	failWith := func(t *conformance.T, msg string) {
		ch := t.Exec(profile.Fail, item("message", codec.Str(msg)))
		text := t.ExpectCloseError(ch)
		if !strings.Contains(text, msg) {
			t.Fatalf("CHANNEL_CLOSE_ERROR text %q does not contain the message %q", lastLines(text, 6), msg)
		}
	}
	return []conformance.Case{
		{
			ID:          "errors/remote/fail-closes-with-error-text",
			Clauses:     []string{cErrRemote, cMsgCloseError, cProfFail},
			Level:       conformance.MUST,
			Description: "conform_fail ends its channel with CHANNEL_CLOSE_ERROR whose serialized text contains the message",
			Run:         func(t *conformance.T) { failWith(t, "conformance failure 7f3a") },
		},
		{
			ID:          "errors/remote/non-ascii-message",
			Clauses:     []string{cErrRemote, cMsgCloseError, cProfFail},
			Level:       conformance.MUST,
			Description: "a remote error text keeps non-ASCII characters",
			Run:         func(t *conformance.T) { failWith(t, "échec ☃ 😀") },
		},
		{
			ID:          "errors/remote/session-survives",
			Clauses:     []string{cErrRemote},
			Level:       conformance.MUST,
			Description: "after a failing execution the worker keeps serving other channels",
			Run: func(t *conformance.T) {
				failWith(t, "first")
				got, raw := echoRaw(t, mustDumps(t, codec.Str("after failure")))
				checkIdentical(t, "echo after a failed execution", codec.Str("after failure"), got, raw)
			},
		},
		{
			ID:          "errors/loads/non-bytes-item",
			Clauses:     []string{"CONF-LOADS-2"},
			Level:       conformance.MUST,
			Description: "conform_loads given an item that is not bytes ends with CHANNEL_CLOSE_ERROR",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Loads)
				t.SendData(ch, codec.Str("not bytes"))
				t.ExpectCloseError(ch)
			},
		},
		{
			ID:          "errors/decode/error-class-prefix",
			Clauses:     []string{cProfLoads, cDecErrors},
			Level:       conformance.MUST,
			Description: "conform_loads of an unknown opcode ends with CHANNEL_CLOSE_ERROR text starting with \"UnknownOpcode:\"",
			Run: func(t *conformance.T) {
				_, f := execLoads(t, []byte{0x00, 'Q'})
				text := closeErrorText(f)
				if !strings.HasPrefix(text, "UnknownOpcode:") {
					t.Fatalf("conform_loads of hex 0051 answered %s %q, want CHANNEL_CLOSE_ERROR starting with \"UnknownOpcode:\"", f.Code, text)
				}
			},
		},
	}
}
