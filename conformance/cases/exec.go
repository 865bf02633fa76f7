package cases

import (
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
			Clauses:     []string{cMsgExec, cErrRemote},
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
			Level:       conformance.SHOULD,
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
