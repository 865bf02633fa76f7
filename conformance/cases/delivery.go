package cases

import (
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Clauses of the delivery cases.
const (
	cBootLine  = "BOOT-LINE-1"
	cFrmPieces = "FRM-SPLIT-1"
)

// deliveryTimeout bounds a delivery case: one byte per write with a pause
// between writes makes a CHANNEL_EXEC of a profile procedure (its Python
// source included) take about a second to write.
const deliveryTimeout = 20 * time.Second

// execFrame builds the CHANNEL_EXEC frame starting procedure proc on ch.
func execFrame(t *conformance.T, ch int32, proc string, kwargs ...codec.Item) frame.Frame {
	d, err := codec.NewDict(kwargs...)
	if err != nil {
		t.Fatalf("suite bug: %v", err)
	}
	p, err := profile.Payload(proc, d)
	if err != nil {
		t.Fatalf("suite bug: %v", err)
	}
	return frame.Frame{Code: spec.MsgChannelExec, Channel: ch, Payload: mustDumps(t, p)}
}

// splitRoundTrip runs, with every frame delivered as d cuts it: a STATUS
// request, then two conform_echo executions started in one step and fed
// interleaved items of several sizes, each checked in order, then
// CHANNEL_CLOSE of both.
func splitRoundTrip(t *conformance.T, d conformance.Delivery) {
	id := t.NewChannelID()
	t.SendSplit(d, statusFrame(id))
	t.Expect(spec.MsgChannelData, id)
	t.ExpectClose(id)

	a, b := t.NewChannelID(), t.NewChannelID()
	big := make([]byte, 300)
	for i := range big {
		big[i] = byte(i)
	}
	items := []codec.Value{codec.Int(1), codec.Str("two"), codec.Bytes(big), codec.Tuple{codec.None{}, codec.Float(4.5)}}
	frames := []frame.Frame{execFrame(t, a, profile.Echo), execFrame(t, b, profile.Echo)}
	for _, v := range items {
		frames = append(frames, dataFrame(a, mustDumps(t, v)), dataFrame(b, mustDumps(t, v)))
	}
	t.SendSplit(d, frames...)
	for _, ch := range []int32{a, b} {
		for _, want := range items {
			v, raw := recvData(t, ch, "items delivered in pieces ("+d.Name+")")
			checkIdentical(t, "echo of an item delivered in pieces", want, v, raw)
		}
	}
	t.SendSplit(d, closeFrame(a), closeFrame(b))
	expectQuiet(t, "reply to CHANNEL_CLOSE delivered in pieces", a, b)
}

func deliveryCases() []conformance.Case {
	var cs []conformance.Case
	for _, d := range conformance.Deliveries() {
		cs = append(cs,
			conformance.Case{
				ID:          "delivery/" + d.Name + "/bootstrap-line",
				Clauses:     []string{cBootLine, cBootReady, cFrmPieces, cTermExitZero},
				Level:       conformance.MUST,
				Description: "a worker whose bootstrap line arrives " + d.Description + " writes the ready byte, serves frames delivered the same way, and exits 0 at EOF",
				Timeout:     deliveryTimeout,
				Run: func(t *conformance.T) {
					t.WithSplitBootstrap(d, func() {
						splitRoundTrip(t, d)
						t.CloseWrite()
						t.ExpectEnd()
						expectExitZero(t)
					})
				},
			},
			conformance.Case{
				ID:          "delivery/" + d.Name + "/channels",
				Clauses:     []string{cFrmPieces, cFrmHeader, cFrmOrder, cProfEcho},
				Level:       conformance.MUST,
				Description: "STATUS, two executions and their interleaved items, delivered " + d.Description + ", are answered as if each frame came whole",
				Timeout:     deliveryTimeout,
				Run: func(t *conformance.T) {
					splitRoundTrip(t, d)
				},
			},
			conformance.Case{
				ID:          "delivery/" + d.Name + "/terminate",
				Clauses:     []string{cFrmPieces, cMsgTerminate, cTermExitZero},
				Level:       conformance.MUST,
				Description: "GATEWAY_TERMINATE following an execution and its data, delivered " + d.Description + ": the worker sends nothing in reply to it and exits 0",
				Fresh:       true,
				Timeout:     deliveryTimeout,
				Run: func(t *conformance.T) {
					ch := t.NewChannelID()
					t.SendSplit(d, execFrame(t, ch, profile.Echo), dataFrame(ch, mustDumps(t, codec.Int(7))))
					v, raw := recvData(t, ch, "7")
					checkIdentical(t, "echo before GATEWAY_TERMINATE", codec.Int(7), v, raw)
					t.SendSplit(d, frame.Frame{Code: spec.MsgGatewayTerminate, Channel: 0})
					noReplyThenEnd(t, "frame after GATEWAY_TERMINATE", func(f frame.Frame) bool {
						// The echo's channel may be closed as the
						// execution ends (MSG-EXEC-5); nothing else.
						return !(f.Channel == ch && f.Code == spec.MsgChannelClose)
					})
					expectExitZero(t)
				},
			},
			conformance.Case{
				ID:          "delivery/" + d.Name + "/eof-inside-header",
				Clauses:     []string{cFrmEOFPart, cFrmPieces, cTermExitZero},
				Level:       conformance.MUST,
				Description: "a STATUS request cut short inside its header by EOF, delivered " + d.Description + ", is not answered; the worker exits 0",
				Fresh:       true,
				Timeout:     deliveryTimeout,
				Run: func(t *conformance.T) {
					id := t.NewChannelID()
					b := frame.Append(nil, statusFrame(id))
					t.SendRawSplit(d, b[:spec.HeaderSize-1])
					t.CloseWrite()
					noReplyThenEnd(t, "reply to a STATUS header cut short by EOF", func(frame.Frame) bool { return true })
					expectExitZero(t)
				},
			},
			conformance.Case{
				ID:          "delivery/" + d.Name + "/eof-inside-payload",
				Clauses:     []string{cFrmEOFPart, cFrmPieces, cTermExitZero, cProfEcho},
				Level:       conformance.MUST,
				Description: "a CHANNEL_DATA for a running conform_echo cut short inside its payload by EOF, delivered " + d.Description + ", is not echoed; the echo ends and the worker exits 0",
				Fresh:       true,
				Timeout:     deliveryTimeout,
				Run: func(t *conformance.T) {
					ch := t.NewChannelID()
					t.SendSplit(d, execFrame(t, ch, profile.Echo), dataFrame(ch, mustDumps(t, codec.Int(1))))
					recvData(t, ch, "1")
					// The payload declares one byte more than is sent; what
					// is sent is the whole encoding of 2.
					p := mustDumps(t, codec.Int(2))
					b := frame.AppendHeader(nil, spec.MsgChannelData, ch, len(p)+1)
					t.SendRawSplit(d, append(b, p...))
					t.CloseWrite()
					noReplyThenEnd(t, "echo of a CHANNEL_DATA cut short by EOF", func(f frame.Frame) bool {
						return f.Code == spec.MsgChannelData
					})
					expectExitZero(t)
				},
			},
		)
	}
	return cs
}

// noReplyThenEnd waits for the end of the connection; a frame for which
// forbidden returns true fails the case with why.
func noReplyThenEnd(t *conformance.T, why string, forbidden func(frame.Frame) bool) {
	for {
		f, err := t.Recv()
		if err != nil {
			t.ExpectEnd() // reports the end, or the timeout
			return
		}
		if forbidden(f) {
			t.Fatalf("%s: got %s on channel %d (payload hex %s)", why, f.Code, f.Channel, hexOf(f.Payload))
		}
	}
}
