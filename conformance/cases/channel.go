package cases

import (
	"bytes"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// newWorkerChannel runs conform_newchannel and returns the exec channel
// and the id of the channel the worker opened and sent as its first item.
func newWorkerChannel(t *conformance.T) (int32, int32) {
	ch := t.Exec(profile.NewChannel)
	v, raw := recvData(t, ch, "conform_newchannel")
	ref, ok := v.(codec.ChannelValue)
	if !ok {
		t.Fatalf("conform_newchannel sent %s (hex %s), want a channel reference", reprOf(v), hexOf(raw))
	}
	return ch, ref.ChannelID()
}

func streamItem(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i % profile.StreamModulus)
	}
	return b
}

func channelCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "channel/ids/worker-channel-even",
			Clauses:     []string{cChanWorkerEven, cProfNewChannel, cSerChannel},
			Level:       conformance.MUST,
			Description: "a channel the worker opens has an even id > 0",
			Run: func(t *conformance.T) {
				ch, id := newWorkerChannel(t)
				if id <= 0 || id%2 != 0 {
					t.Fatalf("conform_newchannel opened channel %d, want an even id > 0", id)
				}
				closeChannel(t, id)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "channel/ids/worker-ids-not-reused",
			Clauses:     []string{cChanWorkerEven, cChanNoReuse},
			Level:       conformance.MUST,
			Description: "two channels the worker opens get distinct even ids",
			Run: func(t *conformance.T) {
				ch1, id1 := newWorkerChannel(t)
				ch2, id2 := newWorkerChannel(t)
				if id1 == id2 {
					t.Fatalf("both conform_newchannel executions opened channel %d", id1)
				}
				for _, id := range []int32{id1, id2} {
					if id <= 0 || id%2 != 0 {
						t.Fatalf("conform_newchannel opened channel %d, want an even id > 0", id)
					}
				}
				closeChannel(t, id1)
				closeChannel(t, id2)
				closeChannel(t, ch1)
				closeChannel(t, ch2)
			},
		},
		{
			ID:          "channel/passed-in-data/worker-channel-usable",
			Clauses:     []string{cChanPassed, cProfNewChannel},
			Level:       conformance.MUST,
			Description: "a channel the worker sent inside data carries data both ways",
			Run: func(t *conformance.T) {
				ch, id := newWorkerChannel(t)
				for i := 0; i < 3; i++ {
					t.SendData(id, codec.Int(i))
					v, raw := recvData(t, id, "data on the worker's channel")
					checkIdentical(t, "echo on the worker's channel", codec.Int(i), v, raw)
				}
				closeChannel(t, id)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "channel/close/normal-end-sends-close",
			Clauses:     []string{cChanEndClose, cProfStream},
			Level:       conformance.MUST,
			Description: "conform_stream sends its items with the fixed pattern, then CHANNEL_CLOSE",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Stream, item("count", codec.Int(5)), item("size", codec.Int(1000)))
				want := streamItem(1000)
				for i := 0; i < 5; i++ {
					v, raw := recvData(t, ch, "conform_stream(5, 1000)")
					b, ok := v.(codec.Bytes)
					if !ok || !bytes.Equal(b, want) {
						t.Fatalf("conform_stream item %d: got %s (hex %s), want 1000 bytes of the i%%251 pattern", i, reprOf(v), hexOf(raw))
					}
				}
				t.ExpectClose(ch)
			},
		},
		{
			ID:          "channel/close/data-after-close-dropped",
			Clauses:     []string{cMsgDataDropped, cChanClosed},
			Level:       conformance.MUST,
			Description: "CHANNEL_DATA on a channel the runner has closed is dropped; the session goes on",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				closeChannel(t, ch)
				t.SendData(ch, codec.Int(2))
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after data on a closed channel: %v", err)
				}
				// Nothing may come back on ch but a CHANNEL_CLOSE.
				echo := t.Exec(profile.Echo)
				t.SendData(echo, codec.Str("ping"))
				for {
					f, err := t.Recv()
					if err != nil {
						t.Fatalf("waiting for the ping echo: %v", err)
					}
					if f.Channel == ch && f.Code == spec.MsgChannelData {
						t.Fatalf("the target answered data sent after CHANNEL_CLOSE on channel %d: %s", ch, hexOf(f.Payload))
					}
					if f.Channel == echo {
						break
					}
				}
				closeChannel(t, echo)
			},
		},
		{
			ID:          "channel/data/unknown-channel-dropped",
			Clauses:     []string{cMsgDataDropped},
			Level:       conformance.MUST,
			Description: "CHANNEL_DATA on a channel id never used is dropped silently, even when it does not decode",
			Run: func(t *conformance.T) {
				t.SendData(t.NewChannelID(), codec.Str("nobody listens"))
				t.Send(dataFrame(t.NewChannelID(), []byte{0xff, 0xfe}))
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after data on unknown channels: %v", err)
				}
			},
		},
		{
			ID:          "channel/last-message/items-before-still-echoed",
			Clauses:     []string{cMsgLastMessage, cChanSendOnly},
			Level:       conformance.MUST,
			Description: "after CHANNEL_LAST_MESSAGE the worker still sends: items sent before it are echoed, and no CHANNEL_DATA follows",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				var b []byte
				b = frame.Append(b, dataFrame(ch, mustDumps(t, codec.Int(1))))
				b = frame.Append(b, dataFrame(ch, mustDumps(t, codec.Int(2))))
				b = frame.Append(b, frame.Frame{Code: spec.MsgChannelLastMessage, Channel: ch})
				t.SendRaw(b)
				for i := 1; i <= 2; i++ {
					v, raw := recvData(t, ch, "1, 2, LAST_MESSAGE")
					checkIdentical(t, "echo before LAST_MESSAGE", codec.Int(i), v, raw)
				}
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after LAST_MESSAGE: %v", err)
				}
				closeChannel(t, ch)
			},
		},
		{
			ID:          "channel/close-error/from-runner-accepted",
			Clauses:     []string{cMsgCloseError, cChanClosed},
			Level:       conformance.MUST,
			Description: "CHANNEL_CLOSE_ERROR from the runner ends the channel; the worker keeps serving",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: ch, Payload: mustDumps(t, codec.Str("runner-side error"))})
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after CHANNEL_CLOSE_ERROR: %v", err)
				}
				got, raw := echoRaw(t, mustDumps(t, codec.Str("still alive")))
				checkIdentical(t, "echo after CHANNEL_CLOSE_ERROR", codec.Str("still alive"), got, raw)
			},
		},
	}
}
