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
			Clauses:     []string{cChanWorkerEven, "CHAN-ID-3", "CHAN-ID-7", cProfNewChannel, cSerChannel, "SER-ENC-6"},
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
				if id2 < id1 {
					t.Fatalf("the worker opened channel %d after channel %d: ids must increase", id2, id1)
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
			Clauses:     []string{cChanEndClose, cProfStream, "MSG-EXEC-11", "CHAN-STATE-2", cChanNoAfter, "MSG-DATA-4", cProfEndNormal, "FRM-ORD-2"},
			Level:       conformance.MUST,
			Description: "conform_stream sends its items with the fixed pattern, then CHANNEL_CLOSE, then nothing more on that channel",
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
				expectQuiet(t, "frame after CHANNEL_CLOSE", ch)
			},
		},
		{
			ID:          "channel/close/runner-close-no-reply",
			Clauses:     []string{cMsgCloseRecv, "CHAN-STATE-4", cMsgExecEnd, cProfEcho},
			Level:       conformance.MUST,
			Description: "when the runner closes a conform_echo channel, the execution ends and the worker sends nothing on that channel",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				closeChannel(t, ch)
				expectQuiet(t, "reply to the runner's CHANNEL_CLOSE", ch)
			},
		},
		{
			ID:          "channel/close/data-after-close-dropped",
			Clauses:     []string{cMsgDataDropped, cChanClosed, cMsgCloseRecv},
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
			Clauses:     []string{cMsgDataDropped, cMsgCloseUnknown, cMsgCloseErrorGone, cChanLazy},
			Level:       conformance.MUST,
			Description: "CHANNEL_DATA (even undecodable), CHANNEL_CLOSE, CHANNEL_CLOSE_ERROR and CHANNEL_LAST_MESSAGE on never-used ids are ignored and create no channel",
			Run: func(t *conformance.T) {
				before := numChannels(t)
				ids := make([]int32, 5)
				for i := range ids {
					ids[i] = t.NewChannelID()
				}
				t.SendData(ids[0], codec.Str("nobody listens"))
				t.Send(dataFrame(ids[1], []byte{0xff, 0xfe}))
				t.Send(closeFrame(ids[2]))
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: ids[3], Payload: mustDumps(t, codec.Str("no such channel"))})
				t.Send(frame.Frame{Code: spec.MsgChannelLastMessage, Channel: ids[4]})
				after := numChannels(t)
				if after > before {
					t.Fatalf("numchannels grew from %d to %d after frames on unknown ids", before, after)
				}
				expectQuiet(t, "reply to a frame on an unknown channel id", ids...)
			},
		},
		{
			ID:          "channel/last-message/items-before-still-echoed",
			Clauses:     []string{cMsgLastMessage, cChanSendOnly, "CHAN-STATE-3", cMsgExecEnd},
			Level:       conformance.MUST,
			Description: "after CHANNEL_LAST_MESSAGE items sent before it are echoed, the execution ends, and the worker sends nothing more on the channel",
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
				expectQuiet(t, "frame after the execution ended on a sendonly channel", ch)
			},
		},
		{
			ID:          "channel/drop/python-dropped-channels",
			Clauses:     []string{"CHAN-STATE-7", "MSG-LAST-1"},
			Level:       conformance.MUST,
			Description: "Python workers: dropping an opened channel sends CHANNEL_CLOSE, or CHANNEL_LAST_MESSAGE when it has a callback",
			Run: func(t *conformance.T) {
				if !t.Target().IsPython() {
					t.Skipf("not a Python worker (language %q): no application drops channels", t.Target().Language())
				}
				ch := t.ExecSource("import gc\nc1 = channel.gateway.newchannel()\nc2 = channel.gateway.newchannel()\n" +
					"c2.setcallback(lambda item: None)\nchannel.send((c1.id, c2.id))\ndel c1, c2\ngc.collect()\n")
				v, raw := recvData(t, ch, "source dropping two channels")
				ids, ok := v.(codec.Tuple)
				if !ok || len(ids) != 2 {
					t.Fatalf("first item is %s (hex %s), want a pair of channel ids", reprOf(v), hexOf(raw))
				}
				plain, _ := ids[0].(codec.Int)
				withCB, _ := ids[1].(codec.Int)
				f := t.Expect(spec.MsgChannelClose, int32(plain))
				if len(f.Payload) != 0 {
					t.Errorf("CHANNEL_CLOSE for the dropped channel has payload %s", hexOf(f.Payload))
				}
				t.Expect(spec.MsgChannelLastMessage, int32(withCB))
				t.ExpectClose(ch)
			},
		},
		{
			ID:          "channel/close-error/non-text-payload-accepted",
			Clauses:     []string{"MSG-CLOSEERR-2"},
			Level:       conformance.MUST,
			Description: "CHANNEL_CLOSE_ERROR whose payload is not text (an int) is accepted: the worker keeps serving",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: ch, Payload: mustDumps(t, codec.Int(42))})
				got, raw := echoRaw(t, mustDumps(t, codec.Str("still alive")))
				checkIdentical(t, "echo after a non-text CHANNEL_CLOSE_ERROR", codec.Str("still alive"), got, raw)
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

// numChannels returns the numchannels value of a STATUS reply.
func numChannels(t *conformance.T) int64 {
	d, err := t.Status()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	v, _ := d.Get(codec.Str("numchannels"))
	n, ok := v.(codec.Int)
	if !ok {
		t.Fatalf("STATUS reply %s: numchannels is not an int", reprOf(d))
	}
	return int64(n)
}
