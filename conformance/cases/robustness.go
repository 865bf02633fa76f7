package cases

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// robustTimeout bounds the robustness cases. Python execnet may wait up to
// 5 s for running executions before it exits after a protocol error.
const robustTimeout = 10 * time.Second

// header builds a raw frame header with an arbitrary (possibly invalid)
// code and length.
func header(code int8, ch int32, length int32) []byte {
	b := make([]byte, spec.HeaderSize)
	b[0] = byte(code)
	binary.BigEndian.PutUint32(b[1:], uint32(ch))
	binary.BigEndian.PutUint32(b[5:], uint32(length))
	return b
}

// robust builds a robustness case: the target must end the connection or
// report an error (CHANNEL_CLOSE_ERROR) within the case bound.
func robust(id string, clauses []string, desc string, run func(t *conformance.T)) conformance.Case {
	return conformance.Case{
		ID:          "robustness/" + id,
		Clauses:     clauses,
		Level:       conformance.MUST,
		Description: desc,
		Timeout:     robustTimeout,
		Run:         run,
	}
}

// hugeTimeout bounds the case with a huge declared length: a receiver
// that allocates the declared length up front (execnet, DEV-23) needs
// time to do so; PyPy has been seen to take 20 s.
const hugeTimeout = 30 * time.Second

// codeTimeout bounds the message-code cases; a conforming worker ends the
// connection at once.
const codeTimeout = 2 * time.Second

// endsWithout waits for the end of the connection; a CHANNEL_DATA frame on
// channel forbidden (0: none) before the end fails the case with why.
func endsWithout(t *conformance.T, forbidden int32, why string) {
	for {
		f, err := t.Recv()
		if err != nil {
			t.ExpectEnd() // reports the end, or the timeout
			return
		}
		if forbidden != 0 && f.Channel == forbidden && f.Code == spec.MsgChannelData {
			t.Fatalf("%s: got CHANNEL_DATA on channel %d (payload hex %s)", why, f.Channel, hexOf(f.Payload))
		}
	}
}

// unknownCode sends a frame with message code code on channel ch
// (0: the gateway; -1: a live conform_echo channel, followed by a data
// item). The worker must treat the code as a fatal protocol error: it must
// not act on the frame or on the frames after it, and must end the
// connection.
func unknownCode(code int8, onEcho bool) func(t *conformance.T) {
	return func(t *conformance.T) {
		if !onEcho {
			id := t.NewChannelID()
			t.SendRaw(header(code, id, 0))
			endsWithout(t, id, "the frame with the unknown message code was answered")
			return
		}
		ch := t.Exec(profile.Echo)
		b := append(header(code, ch, 0), frame.Append(nil, dataFrame(ch, mustDumps(t, codec.Int(1))))...)
		t.SendRaw(b)
		endsWithout(t, ch, "a frame after the unknown message code was processed")
	}
}

func robustnessCases() []conformance.Case {
	code := func(name string, c int8, onEcho bool, desc string) conformance.Case {
		cs := robust("msgcode/"+name, []string{cFrmUnknown, cFrmFatal},
			fmt.Sprintf("a frame with message code %d %sis a fatal protocol error: the worker ends the connection", c, desc), unknownCode(c, onEcho))
		cs.Timeout = codeTimeout
		return cs
	}
	return []conformance.Case{
		code("unknown-8", 8, false, ""),
		code("unknown-127", 127, false, ""),
		code("negative-8", -8, false, "(not an alias of STATUS) "),
		code("negative-1-on-live-channel", -1, true, "(not an alias of CHANNEL_LAST_MESSAGE) "),
		code("negative-3-on-live-channel", -3, true, "(not an alias of CHANNEL_CLOSE) "),
		withTimeout(robust("length/negative", []string{cFrmLength, cFrmFatalWhat, cFrmFatal}, "a STATUS header with payload length -5 is a fatal protocol error: the worker ends the connection without answering", func(t *conformance.T) {
			id := t.NewChannelID()
			t.SendRaw(header(int8(spec.MsgStatus), id, -5))
			endsWithout(t, id, "the frame with a negative length was processed")
		}), codeTimeout),
		withTimeout(robust("length/huge-declared-then-eof", []string{cFrmEOFPart, cTermEOF, "LIM-FRM-2"}, "a header declaring 2^31-1 payload bytes, 16 bytes and EOF: the worker ends without hanging", func(t *conformance.T) {
			ch := t.NewChannelID()
			t.SendRaw(append(header(int8(spec.MsgChannelData), ch, 1<<31-1), make([]byte, 16)...))
			t.CloseWrite()
			endsWithout(t, ch, "the partial frame was delivered")
		}), hugeTimeout),
		robust("frame/truncated-header-then-eof", []string{cFrmEOFPart, cFrmOrder}, "complete frames before a truncated header are processed; then the worker ends", func(t *conformance.T) {
			ch := t.Exec(profile.Echo)
			b := frame.Append(nil, dataFrame(ch, mustDumps(t, codec.Int(7))))
			b = append(b, 0x04, 0x00, 0x00)
			t.SendRaw(b)
			v, raw := recvData(t, ch, "7 followed by a truncated header")
			checkIdentical(t, "echo before the truncated header", codec.Int(7), v, raw)
			t.CloseWrite()
			t.ExpectEnd()
		}),
		robust("frame/truncated-exec-not-run", []string{cFrmEOFPart}, "a CHANNEL_EXEC frame cut short by EOF is not executed", func(t *conformance.T) {
			p, err := profile.Payload(profile.Info, &codec.Dict{})
			if err != nil {
				t.Fatalf("suite bug: %v", err)
			}
			ch := t.NewChannelID()
			b := frame.Append(nil, frame.Frame{Code: spec.MsgChannelExec, Channel: ch, Payload: mustDumps(t, p)})
			t.SendRaw(b[:len(b)-3])
			t.CloseWrite()
			endsWithout(t, ch, "the truncated CHANNEL_EXEC of conform_info ran")
		}),
		robust("payload/undecodable-data-on-live-channel", []string{cRobBadPayload, cFrmFatal}, "CHANNEL_DATA whose payload does not decode (unknown opcode) on a live channel is fatal: the worker ends the connection", func(t *conformance.T) {
			ch := t.Exec(profile.Echo)
			t.Send(dataFrame(ch, []byte{0xff}))
			t.ExpectEnd()
		}),
		robust("payload/truncated-data-on-live-channel", []string{cRobBadPayload, cFrmFatal}, "CHANNEL_DATA with a truncated value on a live channel is fatal: the worker ends the connection", func(t *conformance.T) {
			ch := t.Exec(profile.Echo)
			t.Send(dataFrame(ch, []byte{'F', 0x00}))
			t.ExpectEnd()
		}),
		robust("payload/empty-data-on-live-channel", []string{cRobBadPayload, cFrmFatal}, "CHANNEL_DATA with an empty payload on a live channel is fatal: the worker ends the connection", func(t *conformance.T) {
			ch := t.Exec(profile.Echo)
			t.Send(dataFrame(ch, nil))
			t.ExpectEnd()
		}),
		robust("payload/undecodable-exec-not-run", []string{cRobBadPayload, cFrmFatal}, "CHANNEL_EXEC with an undecodable payload runs nothing and is fatal: the worker ends the connection", func(t *conformance.T) {
			ch := t.NewChannelID()
			t.Send(frame.Frame{Code: spec.MsgChannelExec, Channel: ch, Payload: []byte{0xff, 0xff}})
			endsWithout(t, ch, "the undecodable CHANNEL_EXEC produced data")
		}),
		robust("payload/undecodable-close-error", []string{cRobBadPayload, cFrmFatal}, "CHANNEL_CLOSE_ERROR with an undecodable payload is fatal: the worker ends the connection", func(t *conformance.T) {
			ch := t.Exec(profile.Echo)
			t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: ch, Payload: []byte{0xff}})
			t.ExpectEnd()
		}),
		withTimeout(robust("payload/reconfigure-not-two-bools", []string{cMsgReconfBad, cFrmFatal}, "RECONFIGURE of the gateway with a payload that is not a tuple of two bools is fatal: the worker ends the connection", func(t *conformance.T) {
			t.Send(frame.Frame{Code: spec.MsgReconfigure, Channel: 0, Payload: mustDumps(t, codec.Int(5))})
			t.ExpectEnd()
		}), codeTimeout),
	}
}

func withTimeout(c conformance.Case, d time.Duration) conformance.Case {
	c.Timeout = d
	return c
}
