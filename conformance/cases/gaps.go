package cases

// Cases for the classes of port mistakes that the first independent ports
// showed the suite did not catch (issue #15): channel ids at the edges of
// their range, in frame headers and inside data; the time a procedure
// takes; termination after executions that raised or were ended early;
// bad procedure arguments and CHANNEL_EXEC shapes; undecodable payloads
// on ids the worker does not hold; silence where nothing may be sent; and
// state that must not change retroactively.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Clauses added for these cases.
const (
	cChanRefLow   = "CHAN-ID-7"
	cChanRefBad   = "CHAN-ID-8"
	cArgsBool     = "CONF-ARGS-1"
	cArgsStream   = "CONF-ARGS-2"
	cArgsSleep    = "CONF-ARGS-3"
	cSleepAtLeast = "CONF-SLEEP-1"
)

// maxID is the largest channel id, odd and so of the master's sequence.
const maxID = math.MaxInt32

// procPayload builds a CHANNEL_EXEC payload for profile procedure name
// with arbitrary kwargs, bypassing the suite's own kwargs check.
func procPayload(t *conformance.T, name string, kwargs codec.Value) codec.Tuple {
	src, err := profile.Source(name)
	if err != nil {
		t.Fatalf("suite bug: %v", err)
	}
	return codec.Tuple{codec.Str(src), codec.Str(profile.FileName), codec.Str(name), kwargs}
}

func mustDict(t *conformance.T, items ...codec.Item) *codec.Dict {
	d, err := codec.NewDict(items...)
	if err != nil {
		t.Fatalf("suite bug: %v", err)
	}
	return d
}

// expectErrorNoData receives the frames of channel ch until its end: it
// must be CHANNEL_CLOSE_ERROR with no CHANNEL_DATA before it.
func expectErrorNoData(t *conformance.T, ch int32, what string) {
	f, err := t.RecvOn(ch)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	switch f.Code {
	case spec.MsgChannelCloseError:
		return
	case spec.MsgChannelData:
		t.Fatalf("%s: the worker sent CHANNEL_DATA %s on channel %d, want CHANNEL_CLOSE_ERROR and no data", what, hexOf(f.Payload), ch)
	default:
		t.Fatalf("%s: the worker ended channel %d with %s, want CHANNEL_CLOSE_ERROR", what, ch, f.Code)
	}
}

// numExecuting returns the numexecuting value of a STATUS reply.
func numExecuting(t *conformance.T) int64 {
	d, err := t.Status()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	v, _ := d.Get(codec.Str("numexecuting"))
	n, ok := v.(codec.Int)
	if !ok {
		t.Fatalf("STATUS reply %s: numexecuting is not an int", reprOf(d))
	}
	return int64(n)
}

// settleExecuting polls STATUS until numexecuting is want, for at most
// bound (an execution that just sent its last frame may still count for
// a moment); it fails the case with the last value otherwise.
func settleExecuting(t *conformance.T, want int64, bound time.Duration, why string) {
	deadline := time.Now().Add(bound)
	for {
		n := numExecuting(t)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: STATUS numexecuting is %d %v later, want %d", why, n, bound, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func gapCases() []conformance.Case {
	var cs []conformance.Case
	cs = append(cs, idCases()...)
	cs = append(cs, sleepCases()...)
	cs = append(cs, argCases()...)
	cs = append(cs, execShapeCases()...)
	cs = append(cs, unknownIDCases()...)
	cs = append(cs, silenceCases()...)
	cs = append(cs, retroCases()...)
	cs = append(cs, endAfterCases()...)
	cs = append(cs, boundaryCases()...)
	cs = append(cs, fdCases()...)
	return cs
}

func idCases() []conformance.Case {
	refBelowOne := func(name string, id int32) conformance.Case {
		return conformance.Case{
			ID:          "channel/ids/reference-" + name + "-not-echoed",
			Clauses:     []string{cChanRefLow, cChanRefBad},
			Level:       conformance.MUST,
			Description: "a CHANNEL reference with an id below 1 sent to conform_echo is not sent back: the payload is undecodable, so the worker ends the connection (or the channel with an error)",
			Fresh:       true,
			Timeout:     robustTimeout,
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.Send(dataFrame(ch, mustDumps(t, codec.Tuple{codec.Str("ref"), codec.ChannelRef(id)})))
				for {
					f, err := t.Recv()
					if err != nil {
						t.ExpectEnd()
						return
					}
					if f.Channel == ch && f.Code == spec.MsgChannelCloseError {
						return
					}
					if f.Code == spec.MsgChannelData {
						t.Fatalf("the worker sent CHANNEL_DATA on channel %d (hex %s) after receiving a reference to channel %d: a CHANNEL reference with an id below 1 must not be accepted or sent", f.Channel, hexOf(f.Payload), id)
					}
				}
			},
		}
	}
	return []conformance.Case{
		refBelowOne("zero", 0),
		refBelowOne("minus-one", -1),
		refBelowOne("min-int32", math.MinInt32),
		{
			ID:          "channel/ids/reference-max-id-creates-channel",
			Clauses:     []string{cChanLazy, cChanResolve, cFrmFatalWhat, cProfEcho},
			Level:       conformance.MUST,
			Description: "a reference to the unused master id 2^31-1 is echoed as the same reference, and creates that channel on receipt: undecodable CHANNEL_DATA on it is then fatal",
			Fresh:       true,
			Timeout:     robustTimeout,
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				sent := codec.Tuple{codec.Str("ref"), codec.ChannelRef(maxID)}
				t.SendData(ch, sent)
				v, raw := recvData(t, ch, "a reference to channel 2147483647")
				checkIdentical(t, "echo of a reference to channel 2147483647", sent, v, raw)
				// conform_echo still holds the reference while it waits for
				// the next item, so channel 2^31-1 is open on the worker:
				// undecodable data on it must end the connection.
				id := t.NewChannelID()
				// One write: the worker may end the connection at the first
				// frame, and a second write would then fail.
				b := frame.Append(nil, dataFrame(maxID, []byte{0xff}))
				if err := t.TrySendRaw(frame.Append(b, statusFrame(id))); err != nil {
					t.ExpectEnd()
					return
				}
				for {
					f, err := t.Recv()
					if err != nil {
						t.ExpectEnd()
						return
					}
					if f.Channel == id {
						t.Fatalf("the worker answered STATUS after undecodable CHANNEL_DATA on channel %d, which a reference had created (CHAN-ID-5): it treated the channel as unknown", int32(maxID))
					}
				}
			},
		},
		{
			ID:          "channel/ids/max-id-in-header",
			Clauses:     []string{cFrmHeader, cMsgExec, cMsgStatusReply, cProfEcho},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC on channel 2147483647 and STATUS on 2147483645 are answered on those ids",
			Run: func(t *conformance.T) {
				t.Send(execFrame(t, maxID, profile.Echo))
				t.SendData(maxID, codec.Str("top"))
				v, raw := recvData(t, maxID, "'top' on channel 2147483647")
				checkIdentical(t, "echo on channel 2147483647", codec.Str("top"), v, raw)
				closeChannel(t, maxID)
				t.Send(statusFrame(maxID - 2))
				t.Expect(spec.MsgChannelData, maxID-2)
				t.ExpectClose(maxID - 2)
				expectQuiet(t, "reply to CHANNEL_CLOSE on channel 2147483647", maxID)
			},
		},
		{
			ID:          "channel/ids/zero-and-negative-ids-in-header-ignored",
			Clauses:     []string{cMsgDataDropped, cMsgCloseUnknown, cMsgCloseErrorGone, cMsgLastMessage, "CHAN-ID-3", cChanLazy},
			Level:       conformance.MUST,
			Description: "CHANNEL_DATA (also undecodable), CHANNEL_CLOSE, CHANNEL_CLOSE_ERROR and CHANNEL_LAST_MESSAGE on ids 0, -1, -2 and -2^31 are ignored: no reply, no channel, the session goes on",
			Run: func(t *conformance.T) {
				before := numChannels(t)
				ids := []int32{0, -1, -2, math.MinInt32}
				var b []byte
				for _, id := range ids {
					b = frame.Append(b, dataFrame(id, mustDumps(t, codec.Str("nobody"))))
					if id != 0 {
						b = frame.Append(b, dataFrame(id, []byte{0xff, 0xfe}))
					}
					b = frame.Append(b, frame.Frame{Code: spec.MsgChannelCloseError, Channel: id, Payload: mustDumps(t, codec.Str("no such channel"))})
					b = frame.Append(b, frame.Frame{Code: spec.MsgChannelLastMessage, Channel: id})
					b = frame.Append(b, closeFrame(id))
				}
				t.SendRaw(b)
				if after := numChannels(t); after > before {
					t.Fatalf("numchannels grew from %d to %d after frames on ids 0 and below", before, after)
				}
				expectQuiet(t, "reply to a frame on channel id 0 or below", ids...)
			},
		},
	}
}

func sleepCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "exec/sleep/lasts-at-least-the-time-asked",
			Clauses:     []string{cSleepAtLeast},
			Level:       conformance.MUST,
			Description: "conform_sleep(0.6) and conform_sleep(1) (an int) end with CHANNEL_CLOSE no sooner than 0.6 s and 1 s after they were sent",
			Timeout:     10 * time.Second,
			Run: func(t *conformance.T) {
				for _, secs := range []codec.Value{codec.Float(0.6), codec.Int(1)} {
					want := 600 * time.Millisecond
					if secs == codec.Value(codec.Int(1)) {
						want = time.Second
					}
					start := time.Now()
					ch := t.Exec(profile.Sleep, item("seconds", secs))
					t.ExpectClose(ch)
					if got := time.Since(start); got < want {
						t.Fatalf("conform_sleep(%s) ended after %v, want at least %v", reprOf(secs), got.Round(time.Millisecond), want)
					}
				}
			},
		},
		{
			ID:          "exec/sleep/does-not-delay-other-channels",
			Clauses:     []string{cSleepAtLeast, cMsgExecConcurrent},
			Level:       conformance.MUST,
			Description: "while conform_sleep(2) runs, STATUS and three echoes on another channel are answered, each within 1.5 s, before the sleep ends",
			Timeout:     10 * time.Second,
			Run: func(t *conformance.T) {
				start := time.Now()
				sleeper := t.Exec(profile.Sleep, item("seconds", codec.Float(2)))
				time.Sleep(100 * time.Millisecond) // let the sleep begin
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS while conform_sleep runs: %v", err)
				}
				echo := t.Exec(profile.Echo)
				for i := 0; i < 3; i++ {
					sent := time.Now()
					t.SendData(echo, codec.Int(i))
					f, err := t.Recv()
					if err != nil {
						t.Fatalf("waiting for the echo while conform_sleep runs: %v", err)
					}
					if f.Channel != echo {
						t.Fatalf("got %s on channel %d while waiting for the echo on channel %d (conform_sleep(2) is on %d): the sleep delays other channels", f.Code, f.Channel, echo, sleeper)
					}
					if d := time.Since(sent); d > 1500*time.Millisecond {
						t.Fatalf("the echo took %v while conform_sleep ran", d.Round(time.Millisecond))
					}
				}
				closeChannel(t, echo)
				t.ExpectClose(sleeper)
				if got := time.Since(start); got < 2*time.Second {
					t.Fatalf("conform_sleep(2) ended after %v", got.Round(time.Millisecond))
				}
			},
		},
	}
}

func argCases() []conformance.Case {
	type bad struct {
		name   string
		proc   string
		kwargs []codec.Item
		clause string
	}
	bads := []bad{
		{"fail-missing-message", profile.Fail, nil, cProfKwargs},
		{"fail-message-not-text", profile.Fail, []codec.Item{item("message", codec.Int(5))}, cProfKwargs},
		{"fail-unknown-parameter", profile.Fail, []codec.Item{item("message", codec.Str("m")), item("extra", codec.Int(1))}, cProfKwargs},
		{"echo-unknown-parameter", profile.Echo, []codec.Item{item("x", codec.Int(1))}, cProfKwargs},
		{"stream-missing-size", profile.Stream, []codec.Item{item("count", codec.Int(1))}, cProfKwargs},
		{"stream-count-text", profile.Stream, []codec.Item{item("count", codec.Str("3")), item("size", codec.Int(1))}, cProfKwargs},
		{"stream-count-float", profile.Stream, []codec.Item{item("count", codec.Float(3)), item("size", codec.Int(1))}, cProfKwargs},
		{"stream-count-bool", profile.Stream, []codec.Item{item("count", codec.Bool(true)), item("size", codec.Int(1))}, cArgsBool},
		{"stream-size-bool", profile.Stream, []codec.Item{item("count", codec.Int(1)), item("size", codec.Bool(true))}, cArgsBool},
		{"stream-count-negative", profile.Stream, []codec.Item{item("count", codec.Int(-1)), item("size", codec.Int(1))}, cArgsStream},
		{"stream-size-negative", profile.Stream, []codec.Item{item("count", codec.Int(1)), item("size", codec.Int(-5))}, cArgsStream},
		{"stream-size-huge", profile.Stream, []codec.Item{item("count", codec.Int(1)), item("size", hugeInt())}, cArgsStream},
		{"sleep-missing-seconds", profile.Sleep, nil, cProfKwargs},
		{"sleep-seconds-text", profile.Sleep, []codec.Item{item("seconds", codec.Str("1"))}, cProfKwargs},
		{"sleep-seconds-bool", profile.Sleep, []codec.Item{item("seconds", codec.Bool(true))}, cArgsBool},
		{"sleep-seconds-negative", profile.Sleep, []codec.Item{item("seconds", codec.Int(-1))}, cArgsSleep},
		{"sleep-seconds-negative-float", profile.Sleep, []codec.Item{item("seconds", codec.Float(-0.5))}, cArgsSleep},
		{"sleep-seconds-nan", profile.Sleep, []codec.Item{item("seconds", codec.Float(math.NaN()))}, cArgsSleep},
		{"sleep-seconds-infinite", profile.Sleep, []codec.Item{item("seconds", codec.Float(math.Inf(1)))}, cArgsSleep},
	}
	var cs []conformance.Case
	for _, b := range bads {
		cs = append(cs, conformance.Case{
			ID:          "exec/args/" + b.name,
			Clauses:     []string{b.clause},
			Level:       conformance.MUST,
			Description: b.proc + " called with bad keyword arguments ends at once with CHANNEL_CLOSE_ERROR and sends no data",
			Run: func(t *conformance.T) {
				ch := t.ExecPayload(procPayload(t, b.proc, mustDict(t, b.kwargs...)))
				expectErrorNoData(t, ch, b.proc+" with kwargs "+reprOf(mustDict(t, b.kwargs...)))
			},
		})
	}
	cs = append(cs, conformance.Case{
		ID:          "exec/args/keyword-not-text",
		Clauses:     []string{cProfKwargs, cMsgExecShape},
		Level:       conformance.MUST,
		Description: "conform_echo called with kwargs whose key is an int ends with CHANNEL_CLOSE_ERROR; the worker goes on",
		Run: func(t *conformance.T) {
			ch := t.ExecPayload(procPayload(t, profile.Echo, mustDict(t, codec.Item{Key: codec.Int(1), Value: codec.Int(2)})))
			expectErrorNoData(t, ch, "conform_echo with kwargs {1: 2}")
			if _, err := t.Status(); err != nil {
				t.Fatalf("STATUS afterwards: %v", err)
			}
		},
	})
	return cs
}

// hugeInt is 2^70, beyond any int64.
func hugeInt() codec.Value { return codec.BigInt{V: new(big.Int).Lsh(big.NewInt(1), 70)} }

func execShapeCases() []conformance.Case {
	shape := func(name, desc string, payload func(t *conformance.T) codec.Value) conformance.Case {
		return conformance.Case{
			ID:          "exec/payload/" + name,
			Clauses:     []string{cMsgExecShape},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC whose payload is " + desc + " is answered with CHANNEL_CLOSE_ERROR and runs nothing; the worker goes on",
			Run: func(t *conformance.T) {
				ch := t.ExecPayload(payload(t))
				t.SendData(ch, codec.Str("echo me?"))
				expectErrorNoData(t, ch, "CHANNEL_EXEC with "+desc)
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after a malformed CHANNEL_EXEC: %v", err)
				}
			},
		}
	}
	return []conformance.Case{
		shape("list-not-tuple", "a list [source, file_name, call_name, kwargs] of conform_echo", func(t *conformance.T) codec.Value {
			return codec.List(procPayload(t, profile.Echo, &codec.Dict{}))
		}),
		shape("source-bytes-with-call-name", "conform_echo with its source as bytes", func(t *conformance.T) codec.Value {
			p := procPayload(t, profile.Echo, &codec.Dict{})
			p[0] = codec.Bytes(string(p[0].(codec.Str)))
			return p
		}),
		shape("source-none-with-call-name", "conform_echo with None as source", func(t *conformance.T) codec.Value {
			p := procPayload(t, profile.Echo, &codec.Dict{})
			p[0] = codec.None{}
			return p
		}),
		shape("call-name-not-text", "conform_echo's source with an int as call_name", func(t *conformance.T) codec.Value {
			p := procPayload(t, profile.Echo, &codec.Dict{})
			p[2] = codec.Int(7)
			return p
		}),
		shape("kwargs-not-dict", "conform_echo with a list as kwargs", func(t *conformance.T) codec.Value {
			p := procPayload(t, profile.Echo, &codec.Dict{})
			p[3] = codec.List{}
			return p
		}),
		shape("five-tuple", "conform_echo's 4-tuple with a fifth element", func(t *conformance.T) codec.Value {
			return append(procPayload(t, profile.Echo, &codec.Dict{}), codec.None{})
		}),
	}
}

func unknownIDCases() []conformance.Case {
	fatal := func(name string, code spec.MsgCode, clauses []string) conformance.Case {
		return withTimeout(robust("unknown-id/undecodable-"+name, clauses,
			"an undecodable "+code.String()+" payload on an id the worker does not hold is a fatal protocol error: the worker ends the connection and answers nothing after it",
			func(t *conformance.T) {
				id := t.NewChannelID()
				st := t.NewChannelID()
				var b []byte
				b = frame.Append(b, frame.Frame{Code: code, Channel: id, Payload: []byte{0xff, 0x00}})
				b = frame.Append(b, statusFrame(st))
				t.SendRaw(b)
				// The worker must not act on the frame (no data on its id)
				// nor read the STATUS after it. (execnet creates the channel
				// before it decodes, and closes it as the connection ends.)
				noReplyThenEnd(t, "frame after an undecodable "+code.String()+" payload", func(f frame.Frame) bool {
					return f.Channel == st || (f.Channel == id && f.Code == spec.MsgChannelData)
				})
			}), robustTimeout)
	}
	ignored := func(name string, code spec.MsgCode, clauses []string) conformance.Case {
		return conformance.Case{
			ID:          "robustness/unknown-id/undecodable-" + name,
			Clauses:     clauses,
			Level:       conformance.MUST,
			Description: "a " + code.String() + " frame with an undecodable payload on an id the worker does not hold is ignored: no reply, the session goes on",
			Run: func(t *conformance.T) {
				id := t.NewChannelID()
				t.Send(frame.Frame{Code: code, Channel: id, Payload: []byte{0xff, 0x00}})
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after %s with an undecodable payload on unknown id %d: %v", code, id, err)
				}
				expectQuiet(t, "reply to "+code.String()+" on an unknown id", id)
			},
		}
	}
	return []conformance.Case{
		fatal("close-error", spec.MsgChannelCloseError, []string{cFrmFatalWhat, cFrmFatal}),
		fatal("reconfigure", spec.MsgReconfigure, []string{cFrmFatalWhat, cFrmFatal}),
		fatal("exec", spec.MsgChannelExec, []string{cFrmFatalWhat, cFrmFatal}),
		ignored("data", spec.MsgChannelData, []string{cMsgDataDropped}),
		ignored("close", spec.MsgChannelClose, []string{cFrmEmpty, cMsgCloseUnknown}),
		ignored("last-message", spec.MsgChannelLastMessage, []string{cFrmEmpty}),
		{
			ID:          "termination/terminate/payload-ignored",
			Clauses:     []string{cFrmEmpty, cMsgTerminate, cTermExitZero},
			Level:       conformance.MUST,
			Description: "GATEWAY_TERMINATE carrying an undecodable payload still ends the worker, with exit status 0 and no reply",
			Fresh:       true,
			Run: func(t *conformance.T) {
				t.Send(frame.Frame{Code: spec.MsgGatewayTerminate, Channel: 0, Payload: []byte{0xff, 0x00}})
				noReplyThenEnd(t, "reply to GATEWAY_TERMINATE", func(frame.Frame) bool { return true })
				expectExitZero(t)
			},
		},
	}
}

func silenceCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "channel/close/silent-after-runner-close",
			Clauses:     []string{cMsgCloseRecv, cMsgExecEnd, "MSG-DATA-4"},
			Level:       conformance.MUST,
			Description: "a conform_stream of many items closed by the runner after the first item sends no CHANNEL_CLOSE or CHANNEL_CLOSE_ERROR, and no data after its end",
			Timeout:     15 * time.Second, // the items in flight are read first
			Run: func(t *conformance.T) {
				// A worker whose stream runs faster than the close travels
				// (through a via hop, or with large pipes) can send every
				// item and its own CHANNEL_CLOSE before the runner's close
				// reaches it: frames that cross are allowed, and nothing is
				// checked. The stream is then tried again ten times longer,
				// up to 10^7 items, which no close that takes effect lets
				// run to its end.
				for count := int64(100000); ; count *= 10 {
					ch := t.Exec(profile.Stream, item("count", codec.Int(count)), item("size", codec.Int(10)))
					recvData(t, ch, fmt.Sprintf("conform_stream(%d, 10)", count))
					closeChannel(t, ch)
					// Data already in flight may still arrive; no end marker may.
					s := t.NewChannelID()
					t.Send(statusFrame(s))
					got, crossed := int64(1), false
					for {
						f, err := t.Recv()
						if err != nil {
							t.Fatalf("waiting for STATUS after closing a busy conform_stream: %v", err)
						}
						if f.Channel == ch && f.Code == spec.MsgChannelData {
							got++
						} else if f.Channel == ch {
							if f.Code != spec.MsgChannelClose || got != count {
								t.Fatalf("the worker sent %s on channel %d after the runner closed it, %d of %d items in (MSG-EXEC-5: nothing)", f.Code, ch, got, count)
							}
							crossed = true // the stream ended before the close reached it
						}
						if f.Channel == s && f.Code == spec.MsgChannelClose {
							break
						}
					}
					if !crossed {
						expectQuietNoEnd(t, ch)
						return
					}
					if count >= 10000000 {
						// 250 MB of frames before a close sent after the
						// first item took effect: the execution did not end.
						t.Fatalf("conform_stream(%d, 10) sent every item and its CHANNEL_CLOSE after the runner closed the channel at the first item: the execution did not end on the close (MSG-EXEC-5)", count)
					}
					t.Logf("conform_stream(%d, 10) ended before the runner's CHANNEL_CLOSE reached it; trying a longer one", count)
				}
			},
		},
		{
			ID:          "channel/close-error/silent-after-runner-close-error",
			Clauses:     []string{cMsgExecEnd, "MSG-EXEC-6", cMsgDataDropped},
			Level:       conformance.MUST,
			Description: "after the runner sends CHANNEL_CLOSE_ERROR on a conform_echo channel, the worker sends nothing more on it, also not when data follows",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: ch, Payload: mustDumps(t, codec.Str("runner gave up"))})
				t.SendData(ch, codec.Int(2))
				expectQuiet(t, "frame after the runner's CHANNEL_CLOSE_ERROR", ch)
			},
		},
		{
			ID:          "channel/last-message/silent-after-data-on-sendonly",
			Clauses:     []string{cMsgLastMessage, cMsgExecEnd},
			Level:       conformance.MUST,
			Description: "after the runner's CHANNEL_LAST_MESSAGE ends a conform_echo, the worker sends nothing more on that channel",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				t.Send(frame.Frame{Code: spec.MsgChannelLastMessage, Channel: ch})
				expectQuiet(t, "frame after the runner's CHANNEL_LAST_MESSAGE", ch)
			},
		},
	}
}

// expectQuietNoEnd is expectQuiet that allows CHANNEL_DATA still in
// flight on ch but no end marker.
func expectQuietNoEnd(t *conformance.T, ch int32) {
	sleeper := t.Exec(profile.Sleep, item("seconds", codec.Float(0.3)))
	for {
		f, err := t.Recv()
		if err != nil {
			t.Fatalf("waiting for conform_sleep(0.3) to end: %v", err)
		}
		if f.Channel == ch && f.Code != spec.MsgChannelData {
			t.Fatalf("the worker sent %s on channel %d after the runner closed it", f.Code, ch)
		}
		if f.Channel == sleeper {
			return
		}
	}
}

func retroCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "reconfigure/gateway/existing-channel-unchanged",
			Clauses:     []string{cMsgReconfGateway},
			Level:       conformance.MUST,
			Description: "a gateway RECONFIGURE (False, False) after conform_echo started leaves that channel decoding PY2STRING as text; a channel opened after it decodes PY2STRING as bytes",
			Fresh:       true,
			Run: func(t *conformance.T) {
				t.Discard()
				old := t.Exec(profile.Echo)
				t.SendData(old, codec.Int(0))
				recvData(t, old, "0") // the channel surely exists now
				t.Send(reconfigureFrame(t, 0, codec.StrConfig{}))
				fresh := t.Exec(profile.Echo)
				p := mustHex(t, "4d000000016151") // PY2STRING 'a', STOP
				t.Send(dataFrame(old, p))
				v, raw := recvData(t, old, "PY2STRING 'a' on the channel opened before RECONFIGURE")
				checkIdentical(t, "PY2STRING on a channel that existed before the gateway RECONFIGURE", codec.Str("a"), v, raw)
				t.Send(dataFrame(fresh, p))
				v, raw = recvData(t, fresh, "PY2STRING 'a' on the channel opened after RECONFIGURE")
				checkIdentical(t, "PY2STRING on a channel opened after the gateway RECONFIGURE", codec.Bytes("a"), v, raw)
				closeChannel(t, old)
				closeChannel(t, fresh)
			},
		},
		{
			ID:          "channel/last-message/execution-ends",
			Clauses:     []string{cMsgLastMessage, cProfEcho, cMsgStatusKeys},
			Level:       conformance.MUST,
			Description: "CHANNEL_LAST_MESSAGE ends conform_echo's input: STATUS numexecuting drops back within 2 s",
			Run: func(t *conformance.T) {
				base := numExecuting(t)
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				if n := numExecuting(t); n != base+1 {
					t.Fatalf("STATUS numexecuting is %d while conform_echo runs, want %d", n, base+1)
				}
				t.Send(frame.Frame{Code: spec.MsgChannelLastMessage, Channel: ch})
				settleExecuting(t, base, 2*time.Second, "after CHANNEL_LAST_MESSAGE")
			},
		},
	}
}

// endAfter builds a termination case: setup runs executions that end in
// various ways, STATUS must then count none running, and EOF must end the
// worker with exit status 0 well within the grace period a running
// execution would get (TERM-EOF-2).
func endAfter(name, desc string, setup func(t *conformance.T)) conformance.Case {
	return conformance.Case{
		ID:          "termination/eof/after-" + name,
		Clauses:     []string{cTermEOF, cTermExitZero, cMsgStatusKeys},
		Level:       conformance.MUST,
		Description: "after " + desc + ", STATUS counts no running execution and EOF ends the worker with exit status 0 within 4 s (less than the grace period a running execution would get)",
		Fresh:       true,
		Timeout:     10 * time.Second,
		Run: func(t *conformance.T) {
			base := numExecuting(t)
			setup(t)
			settleExecuting(t, base, time.Second, "after "+desc)
			eof := time.Now()
			t.CloseWrite()
			t.ExpectEnd()
			expectExitZero(t)
			if d := time.Since(eof); d > 4*time.Second {
				t.Fatalf("the worker exited %v after EOF with no execution running (TERM-EOF-4): it waited as if one still ran", d.Round(time.Millisecond))
			}
		},
	}
}

func endAfterCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "termination/eof/running-execution-may-finish",
			Clauses:     []string{cTermGrace, cTermExitZero, cProfSleep},
			Level:       conformance.MUST,
			Description: "EOF while conform_sleep(0.8) runs: the worker lets it finish (it does not exit sooner than 0.8 s after the sleep began) and then exits with status 0",
			Fresh:       true,
			Timeout:     graceTimeout,
			Run: func(t *conformance.T) {
				start := time.Now()
				ch := t.Exec(profile.Sleep, item("seconds", codec.Float(0.8)))
				if n := numExecuting(t); n < 1 {
					t.Fatalf("STATUS numexecuting is %d while conform_sleep runs", n)
				}
				t.CloseWrite()
				// The sleep's CHANNEL_CLOSE may or may not reach the runner
				// once the worker's input has ended; nothing else may.
				noReplyThenEnd(t, "frame after EOF", func(f frame.Frame) bool {
					return !(f.Channel == ch && f.Code == spec.MsgChannelClose)
				})
				expectExitZero(t)
				if d := time.Since(start); d < 800*time.Millisecond {
					t.Fatalf("the worker ended %v after conform_sleep(0.8) began: it did not let the running execution finish (TERM-EOF-2)", d.Round(time.Millisecond))
				}
			},
		},
		endAfter("failed-executions", "three conform_fail executions and a conform_loads that failed", func(t *conformance.T) {
			for i := 0; i < 3; i++ {
				ch := t.Exec(profile.Fail, item("message", codec.Str("boom")))
				t.ExpectCloseError(ch)
			}
			ch := t.Exec(profile.Loads)
			t.SendData(ch, codec.Int(5))
			t.ExpectCloseError(ch)
		}),
		endAfter("bad-arguments", "executions refused for bad arguments", func(t *conformance.T) {
			ch := t.ExecPayload(procPayload(t, profile.Sleep, &codec.Dict{}))
			t.ExpectCloseError(ch)
			ch = t.ExecPayload(procPayload(t, profile.Stream, mustDict(t, item("count", codec.Str("x")), item("size", codec.Int(1)))))
			t.ExpectCloseError(ch)
		}),
		endAfter("closed-executions", "conform_echo executions ended by the runner's CHANNEL_CLOSE, CHANNEL_CLOSE_ERROR and CHANNEL_LAST_MESSAGE", func(t *conformance.T) {
			for _, end := range []spec.MsgCode{spec.MsgChannelClose, spec.MsgChannelCloseError, spec.MsgChannelLastMessage} {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				f := frame.Frame{Code: end, Channel: ch}
				if end == spec.MsgChannelCloseError {
					f.Payload = mustDumps(t, codec.Str("stop"))
				}
				t.Send(f)
			}
		}),
		endAfter("finished-executions", "conform_stream, conform_info and a short conform_sleep that ended normally", func(t *conformance.T) {
			ch := t.Exec(profile.Stream, item("count", codec.Int(3)), item("size", codec.Int(5)))
			for i := 0; i < 3; i++ {
				recvData(t, ch, "conform_stream(3, 5)")
			}
			t.ExpectClose(ch)
			ch = t.Exec(profile.Info)
			recvData(t, ch, "conform_info")
			t.ExpectClose(ch)
			ch = t.Exec(profile.Sleep, item("seconds", codec.Float(0.05)))
			t.ExpectClose(ch)
		}),
	}
}

// loadsExpectClass runs conform_loads on b and checks that it ends with
// CHANNEL_CLOSE_ERROR whose text starts with class and ": ".
func loadsExpectClass(t *conformance.T, b []byte, class, what string) {
	ch, f := execLoads(t, b)
	if f.Code != spec.MsgChannelCloseError {
		v, _ := codec.Loads(f.Payload)
		t.Fatalf("conform_loads of %s answered %s %s, want CHANNEL_CLOSE_ERROR starting with %q", what, f.Code, reprOf(v), class+":")
	}
	if text := closeErrorText(f); !strings.HasPrefix(text, class+": ") {
		t.Fatalf("conform_loads of %s on channel %d: error text %q, want it to start with %q", what, ch, text, class+": ")
	}
}

// longIntOperand builds the wire form of LONGINT with the given operand.
func longIntOperand(operand string) []byte {
	b := []byte{byte(spec.OpLongInt)}
	b = binary.BigEndian.AppendUint32(b, uint32(len(operand)))
	b = append(b, operand...)
	return append(b, byte(spec.OpStop))
}

func boundaryCases() []conformance.Case {
	zeroKeys := func(name string, first, second codec.Value) conformance.Case {
		return conformance.Case{
			ID:          "serial/boundary/dict-" + name,
			Clauses:     []string{cSerEq, cSerDictDup},
			Level:       conformance.MUST,
			Description: "a dict whose wire form stores " + reprOf(first) + " then " + reprOf(second) + " as keys holds one item: the first key with the second value",
			Run: func(t *conformance.T) {
				var b []byte
				b = append(b, byte(spec.OpNewDict))
				b = append(b, mustDumps(t, first)[:len(mustDumps(t, first))-1]...)
				b = append(b, mustDumps(t, codec.Str("a"))[:len(mustDumps(t, codec.Str("a")))-1]...)
				b = append(b, byte(spec.OpSetItem))
				b = append(b, mustDumps(t, second)[:len(mustDumps(t, second))-1]...)
				b = append(b, mustDumps(t, codec.Str("b"))[:len(mustDumps(t, codec.Str("b")))-1]...)
				b = append(b, byte(spec.OpSetItem), byte(spec.OpStop))
				got, raw := echoRaw(t, b)
				want := mustDict(t, codec.Item{Key: first, Value: codec.Str("b")})
				checkIdentical(t, "echo of a dict with keys "+reprOf(first)+" and "+reprOf(second), want, got, raw)
				// The runner's decoder would merge two items too: the
				// bytes must hold one.
				checkEncoding(t, "echo of a dict with keys "+reprOf(first)+" and "+reprOf(second), want, raw)
			},
		}
	}
	zeroSet := func(name string, first, second codec.Value) conformance.Case {
		return conformance.Case{
			ID:          "serial/boundary/set-" + name,
			Clauses:     []string{cSerEq, "DM-SET-1"},
			Level:       conformance.MUST,
			Description: "a set whose wire form holds " + reprOf(first) + " then " + reprOf(second) + " holds only " + reprOf(first),
			Run: func(t *conformance.T) {
				var b []byte
				b = append(b, mustDumps(t, first)[:len(mustDumps(t, first))-1]...)
				b = append(b, mustDumps(t, second)[:len(mustDumps(t, second))-1]...)
				b = append(b, byte(spec.OpSet))
				b = binary.BigEndian.AppendUint32(b, 2)
				b = append(b, byte(spec.OpStop))
				got, raw := echoRaw(t, b)
				checkIdentical(t, "echo of a set of "+reprOf(first)+" and "+reprOf(second), codec.Set{first}, got, raw)
				checkEncoding(t, "echo of a set of "+reprOf(first)+" and "+reprOf(second), codec.Set{first}, raw)
			},
		}
	}
	negZero := codec.Float(math.Copysign(0, -1))
	return []conformance.Case{
		zeroKeys("int-zero-then-negative-zero", codec.Int(0), negZero),
		zeroKeys("negative-zero-then-int-zero", negZero, codec.Int(0)),
		zeroKeys("false-then-negative-zero", codec.Bool(false), negZero),
		zeroSet("int-zero-then-negative-zero", codec.Int(0), negZero),
		zeroSet("negative-zero-then-int-zero", negZero, codec.Int(0)),
		{
			ID:          "serial/boundary/longint-negative-4300-digits",
			Clauses:     []string{"LIM-INT-1", cSerLongInt},
			Level:       conformance.MUST,
			Description: "a LONGINT of '-' and 4300 digits (4301 bytes) decodes: the digit limit does not count the sign",
			Run: func(t *conformance.T) {
				digits := strings.Repeat("7", 4300)
				b := longIntOperand("-" + digits)
				n, ok := new(big.Int).SetString("-"+digits, 10)
				if !ok {
					t.Fatalf("suite bug")
				}
				_, f := execLoads(t, b)
				v := decodeReply(t, f, "conform_loads of a negative 4300-digit LONGINT")
				checkIdentical(t, "conform_loads of a negative 4300-digit LONGINT", codec.BigInt{V: n}, v, f.Payload)
			},
		},
		{
			ID:          "serial/boundary/longint-over-limit-then-non-digit",
			Clauses:     []string{"LIM-INT-2", "ERR-GEN-5", cProfLoads},
			Level:       conformance.MUST,
			Description: "a LONGINT of 4301 digits followed by 'x' is refused as Limit (the digit limit is checked before the digits are examined)",
			Run: func(t *conformance.T) {
				loadsExpectClass(t, longIntOperand(strings.Repeat("1", 4301)+"x"), spec.ClassLimit, "4301 digits then 'x'")
			},
		},
	}
}

// fdTarget returns where file descriptor fd of the worker process leads,
// read from /proc (Linux); the case is skipped where that cannot be
// known.
func fdTarget(t *conformance.T, fd int) string {
	info := t.Target()
	if info.Kind != "popen" || info.Pid == 0 {
		t.Skipf("the worker is not a local popen process (kind %q, pid %d)", info.Kind, info.Pid)
	}
	where, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", info.Pid, fd))
	if err != nil {
		t.Skipf("cannot read the worker's file descriptors: %v", err)
	}
	return where
}

func fdCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "bootstrap/stdio/fds-0-and-1-null-device",
			Clauses:     []string{cBootStdio},
			Level:       conformance.MUST,
			Description: "popen workers in any language, on Linux: once serving, the worker process has file descriptors 0 and 1 on the null device (/proc/PID/fd)",
			Run: func(t *conformance.T) {
				// A round trip first: the worker is surely serving.
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS: %v", err)
				}
				for _, fd := range []int{0, 1} {
					if where := fdTarget(t, fd); where != os.DevNull {
						t.Errorf("the worker's file descriptor %d leads to %q, want %s: code that reads stdin or writes stdout would touch the protocol stream", fd, where, os.DevNull)
					}
				}
			},
		},
		{
			ID:          "bootstrap/stdio/fd-2-not-null-device",
			Clauses:     []string{"BOOT-FD-2"},
			Level:       conformance.MUST,
			Description: "popen workers in any language, on Linux: file descriptor 2 of the worker process is not the null device (/proc/PID/fd)",
			Run: func(t *conformance.T) {
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS: %v", err)
				}
				if where := fdTarget(t, 2); where == os.DevNull {
					t.Fatalf("the worker pointed file descriptor 2 at %s", os.DevNull)
				}
			},
		},
	}
}
