package cases

import (
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

const msgExec = spec.MsgChannelExec

func statusFrame(id int32) frame.Frame { return frame.Frame{Code: spec.MsgStatus, Channel: id} }

func framingCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "framing/header/data-frame",
			Clauses:     []string{cFrmHeader, cFrmData, cFrmLenExact, "MSG-DATA-1", cSerWire, "SER-WIRE-2"},
			Level:       conformance.MUST,
			Description: "the worker's CHANNEL_DATA frame carries code 4, the channel id and exactly one encoded value, nothing after STOP",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				want := mustDumps(t, codec.Str("abc"))
				t.Send(dataFrame(ch, want))
				f := t.Expect(spec.MsgChannelData, ch)
				if string(f.Payload) != string(want) {
					t.Fatalf("payload hex %s, want %s", hexOf(f.Payload), hexOf(want))
				}
				var d codec.Decoder
				if _, n, err := d.Loads(f.Payload); err != nil || n != len(f.Payload) {
					t.Fatalf("payload hex %s is not exactly one value (%d of %d bytes used, err %v)", hexOf(f.Payload), n, len(f.Payload), err)
				}
				closeChannel(t, ch)
			},
		},
		{
			ID:          "framing/header/close-frame-empty",
			Clauses:     []string{cFrmHeader, cMsgClose, cFrmEmpty},
			Level:       conformance.MUST,
			Description: "CHANNEL_CLOSE from the worker has an empty payload",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Stream, item("count", codec.Int(0)), item("size", codec.Int(0)))
				f := t.Expect(spec.MsgChannelClose, ch)
				if len(f.Payload) != 0 {
					t.Fatalf("CHANNEL_CLOSE payload has %d bytes (hex %s), want none", len(f.Payload), hexOf(f.Payload))
				}
			},
		},
		{
			ID:          "framing/order/processed-in-order",
			Clauses:     []string{cFrmOrder},
			Level:       conformance.MUST,
			Description: "200 CHANNEL_DATA frames written in one burst are echoed in order",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				var burst []byte
				for i := 0; i < 200; i++ {
					burst = frame.Append(burst, dataFrame(ch, mustDumps(t, codec.Int(i))))
				}
				t.SendRaw(burst)
				for i := 0; i < 200; i++ {
					v, raw := recvData(t, ch, "200 ints")
					checkIdentical(t, "echo in order", codec.Int(i), v, raw)
				}
				closeChannel(t, ch)
			},
		},
		{
			ID:          "framing/stream/exec-and-data-in-one-write",
			Clauses:     []string{cFrmOrder, cFrmStream},
			Level:       conformance.MUST,
			Description: "CHANNEL_EXEC and the data for it in one write: the data reaches the new execution",
			Run: func(t *conformance.T) {
				ch := t.NewChannelID()
				p, err := profile.Payload(profile.Echo, &codec.Dict{})
				if err != nil {
					t.Fatalf("suite bug: %v", err)
				}
				b := frame.Append(nil, frame.Frame{Code: spec.MsgChannelExec, Channel: ch, Payload: mustDumps(t, p)})
				b = frame.Append(b, dataFrame(ch, mustDumps(t, codec.Str("first"))))
				t.SendRaw(b)
				v, raw := recvData(t, ch, "exec and data in one write")
				checkIdentical(t, "echo", codec.Str("first"), v, raw)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "framing/stream/frame-split-in-single-bytes",
			Clauses:     []string{cFrmStream},
			Level:       conformance.MUST,
			Description: "a frame written one byte at a time is read as one frame",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				b := frame.Append(nil, dataFrame(ch, mustDumps(t, codec.Tuple{codec.Str("split"), codec.Int(1)})))
				for i := range b {
					t.SendRaw(b[i : i+1])
				}
				v, raw := recvData(t, ch, "a frame split into single bytes")
				checkIdentical(t, "echo", codec.Tuple{codec.Str("split"), codec.Int(1)}, v, raw)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "framing/payload/ignored-on-empty-payload-codes",
			Clauses:     []string{cFrmEmpty},
			Level:       conformance.MUST,
			Description: "a payload on STATUS or CHANNEL_CLOSE is ignored: STATUS is answered, CHANNEL_CLOSE ends the channel",
			Run: func(t *conformance.T) {
				junk := mustDumps(t, codec.Str("ignore me"))
				id := t.NewChannelID()
				t.Send(frame.Frame{Code: spec.MsgStatus, Channel: id, Payload: junk})
				t.Expect(spec.MsgChannelData, id)
				t.ExpectClose(id)
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				t.Send(frame.Frame{Code: spec.MsgChannelClose, Channel: ch, Payload: junk})
				expectQuiet(t, "reply to CHANNEL_CLOSE with a payload", ch)
			},
		},
		{
			ID:          "framing/payload/sixteen-mebibytes",
			Clauses:     []string{cFrmMaxLen, cFrmHeader, "LIM-STR-1"},
			Level:       conformance.MUST,
			Description: "a CHANNEL_DATA frame with a payload of exactly 16 MiB (the size every receiver must accept) is echoed intact",
			Timeout:     20 * time.Second,
			Run: func(t *conformance.T) {
				const payload = 16 << 20
				b := make([]byte, payload-6) // BYTES opcode, int32 length, STOP
				for i := range b {
					b[i] = byte(i ^ i>>9)
				}
				enc := mustDumps(t, codec.Bytes(b))
				if len(enc) != payload {
					t.Fatalf("suite bug: payload is %d bytes", len(enc))
				}
				got, raw := echoRaw(t, enc)
				if len(raw) != payload || !codec.Identical(codec.Bytes(b), got) {
					t.Fatalf("16 MiB bytes came back different (%d payload bytes)", len(raw))
				}
			},
		},
		{
			ID:          "framing/payload/one-mebibyte",
			Clauses:     []string{cFrmHeader, cSerBytes},
			Level:       conformance.MUST,
			Description: "a 1 MiB bytes item is echoed intact",
			Run: func(t *conformance.T) {
				b := make([]byte, 1<<20)
				for i := range b {
					b[i] = byte(i*31 + i>>8)
				}
				got, raw := echoRaw(t, mustDumps(t, codec.Bytes(b)))
				if !codec.Identical(codec.Bytes(b), got) {
					t.Fatalf("1 MiB bytes came back different (%d payload bytes)", len(raw))
				}
			},
		},
	}
}
