package cases

import (
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

func execCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "exec/call-name/kwargs-passed",
			Clauses:     []string{cMsgExec, cProfStream},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC with call_name and kwargs calls the procedure with those keyword arguments",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Stream, item("count", codec.Int(2)), item("size", codec.Int(300)))
				for i := 0; i < 2; i++ {
					v, raw := recvData(t, ch, "conform_stream(count=2, size=300)")
					checkIdentical(t, "conform_stream item", codec.Bytes(streamItem(300)), v, raw)
				}
				t.ExpectClose(ch)
			},
		},
		{
			ID:          "exec/source-only/runs-or-refused",
			Clauses:     []string{cMsgExec, cMsgExecNonPython},
			Level:       conformance.MUST,
			Description: "a source-only CHANNEL_EXEC runs on a Python worker; any other worker answers CHANNEL_CLOSE_ERROR (never hangs)",
			Run: func(t *conformance.T) {
				ch := t.ExecSource("channel.send(channel.receive() + 1)\n")
				t.SendData(ch, codec.Int(41))
				f, err := t.RecvOn(ch)
				if err != nil {
					t.Fatalf("source-only CHANNEL_EXEC: %v", err)
				}
				if t.Target().IsPython() {
					v := decodeReply(t, f, "source `channel.send(channel.receive() + 1)` given 41")
					checkIdentical(t, "source-only exec", codec.Int(42), v, f.Payload)
					t.ExpectClose(ch)
					return
				}
				if t.Target().Language() == "" {
					t.Fatalf("the target's language is unknown (conform_info gave nothing), and it answered a source-only CHANNEL_EXEC with %s", f.Code)
				}
				if f.Code != spec.MsgChannelCloseError {
					t.Fatalf("worker in language %q answered a source-only CHANNEL_EXEC with %s (payload hex %s), want CHANNEL_CLOSE_ERROR",
						t.Target().Language(), f.Code, hexOf(f.Payload))
				}
				if text := closeErrorText(f); text == "" {
					t.Fatalf("CHANNEL_CLOSE_ERROR for source-only exec has an empty text")
				}
			},
		},
		{
			ID:          "exec/python/globals-and-file-name",
			Clauses:     []string{cMsgExecPython, cMsgExecError},
			Level:       conformance.MUST,
			Description: "Python workers: source runs with __name__ == \"__channelexec__\" and channel in its globals; file_name appears in the error traceback",
			Run: func(t *conformance.T) {
				if !t.Target().IsPython() {
					t.Skipf("not a Python worker (language %q)", t.Target().Language())
				}
				ch := t.ExecSource("channel.send((__name__, sorted(k for k in globals() if not k.startswith('__'))))\n")
				v, raw := recvData(t, ch, "source sending __name__ and its globals")
				want := codec.Tuple{codec.Str("__channelexec__"), codec.List{codec.Str("channel")}}
				checkIdentical(t, "__name__ and globals of executed source", want, v, raw)
				t.ExpectClose(ch)
				ch = t.ExecPayload(codec.Tuple{codec.Str("x = 1\nraise ValueError('marker 5c1d')\n"),
					codec.Str("conformance-file-name.py"), codec.None{}, &codec.Dict{}})
				text := t.ExpectCloseError(ch)
				if !strings.Contains(text, "conformance-file-name.py") || !strings.Contains(text, "marker 5c1d") {
					t.Fatalf("error text %q does not name file_name conformance-file-name.py and the error", lastLines(text, 6))
				}
			},
		},
		{
			ID:          "exec/python/unencodable-values-refused",
			Clauses:     []string{"SER-ENC-9", "DM-TEXT-1"},
			Level:       conformance.MUST,
			Description: "Python workers: sending an object outside the data model or text with a lone surrogate fails in the sender and writes no frame",
			Run: func(t *conformance.T) {
				if !t.Target().IsPython() {
					t.Skipf("not a Python worker (language %q)", t.Target().Language())
				}
				ch := t.ExecSource("results = []\nfor v in (object(), '\\ud800'):\n" +
					"    try:\n        channel.send(v)\n        results.append('sent')\n" +
					"    except Exception as e:\n        results.append(type(e).__name__)\n" +
					"channel.send(results)\n")
				v, raw := recvData(t, ch, "source sending unencodable values")
				l, ok := v.(codec.List)
				if !ok || len(l) != 2 {
					t.Fatalf("first item is %s (hex %s), want the list of two error names (no frame for the refused values)", reprOf(v), hexOf(raw))
				}
				for i, what := range []string{"object()", "'\\ud800'"} {
					if s, _ := l[i].(codec.Str); s == "sent" || s == "" {
						t.Fatalf("sending %s: %s, want an error", what, reprOf(l[i]))
					}
				}
				t.ExpectClose(ch)
			},
		},
		{
			ID:          "exec/call-name/source-ignored-by-non-python-worker",
			Clauses:     []string{"CONF-CALL-2", cProfEcho},
			Level:       conformance.MUST,
			Description: "a worker that cannot run Python selects the procedure by call_name alone: conform_echo with unrelated source still echoes",
			Run: func(t *conformance.T) {
				if t.Target().IsPython() {
					t.Skipf("Python worker: it runs the source")
				}
				ch := t.ExecPayload(codec.Tuple{codec.Str("this is not the source of conform_echo"),
					codec.Str("elsewhere.py"), codec.Str(profile.Echo), &codec.Dict{}})
				t.SendData(ch, codec.Str("ping"))
				v, raw := recvData(t, ch, "ping")
				checkIdentical(t, "echo selected by call_name", codec.Str("ping"), v, raw)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "exec/source/syntax-error-reported",
			Clauses:     []string{cMsgExec, cErrRemote},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC of source that cannot be compiled ends with CHANNEL_CLOSE_ERROR",
			Run: func(t *conformance.T) {
				ch := t.ExecSource("def (:\n")
				t.ExpectCloseError(ch)
			},
		},
		{
			ID:          "exec/call-name/unknown-procedure-reported",
			Clauses:     []string{cMsgExec, cErrRemote, cProfUnknown},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC naming a call_name that does not exist ends with CHANNEL_CLOSE_ERROR",
			Run: func(t *conformance.T) {
				ch := t.ExecPayload(codec.Tuple{codec.Str("x = 1\n"), codec.Str("conformance.py"),
					codec.Str("conform_no_such_procedure"), &codec.Dict{}})
				t.ExpectCloseError(ch)
			},
		},
		{
			ID:          "exec/payload/not-a-4-tuple",
			Clauses:     []string{cMsgExecShape},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC whose payload is a value but not (source, file_name, call_name, kwargs) is answered with CHANNEL_CLOSE_ERROR; the worker goes on",
			Run: func(t *conformance.T) {
				ch := t.ExecPayload(codec.Int(5))
				t.ExpectCloseError(ch)
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after a malformed CHANNEL_EXEC: %v", err)
				}
			},
		},
		{
			ID:          "exec/call-name/wrong-kwargs-reported",
			Clauses:     []string{cProfKwargs},
			Level:       conformance.MUST,
			Description: "a profile procedure called with a missing keyword argument ends with CHANNEL_CLOSE_ERROR",
			Run: func(t *conformance.T) {
				p, err := profile.Payload(profile.Stream, &codec.Dict{})
				if err == nil {
					p[3] = &codec.Dict{}
				} else {
					src, serr := profile.Source(profile.Stream)
					if serr != nil {
						t.Fatalf("suite bug: %v", serr)
					}
					p = codec.Tuple{codec.Str(src), codec.Str(profile.FileName), codec.Str(profile.Stream), &codec.Dict{}}
				}
				ch := t.ExecPayload(p)
				t.ExpectCloseError(ch)
			},
		},
		{
			ID:          "exec/concurrency/busy-execution-does-not-block-others",
			Clauses:     []string{cMsgExecConcurrent, cProfSleep},
			Level:       conformance.MUST,
			Description: "while conform_sleep(1.0) runs, another execution on a new channel answers first",
			Run: func(t *conformance.T) {
				sleeper := t.Exec(profile.Sleep, item("seconds", codec.Float(1.0)))
				echo := t.Exec(profile.Echo)
				t.SendData(echo, codec.Str("quick"))
				for {
					f, err := t.Recv()
					if err != nil {
						t.Fatalf("waiting for the echo while conform_sleep runs: %v", err)
					}
					if f.Channel == sleeper {
						t.Fatalf("conform_sleep(1.0) on channel %d ended (%s) before the echo on channel %d answered: executions do not run concurrently", sleeper, f.Code, echo)
					}
					if f.Channel == echo {
						v := decodeReply(t, f, "echo while sleeping")
						checkIdentical(t, "echo while sleeping", codec.Str("quick"), v, f.Payload)
						break
					}
				}
				closeChannel(t, echo)
				t.ExpectClose(sleeper)
			},
		},
	}
}
