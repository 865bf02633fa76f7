package cases

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

func concurrencyCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "concurrency/echo/32-channels-interleaved",
			Clauses:     []string{cChanIndependent, cFrmOrder, cProfEcho},
			Level:       conformance.MUST,
			Description: "32 conform_echo channels with 8 items each, sent interleaved in one write, each echo in order on its own channel",
			Run: func(t *conformance.T) {
				const nch, nitems = 32, 8
				chans := make([]int32, nch)
				for i := range chans {
					chans[i] = t.Exec(profile.Echo)
				}
				var b []byte
				for k := 0; k < nitems; k++ {
					for i, ch := range chans {
						b = appendFrame(b, dataFrame(ch, mustDumps(t, codec.Str(fmt.Sprintf("c%d-i%d", i, k)))))
					}
				}
				t.SendRaw(b)
				for i, ch := range chans {
					for k := 0; k < nitems; k++ {
						v, raw := recvData(t, ch, "interleaved items")
						checkIdentical(t, fmt.Sprintf("item %d on channel %d", k, ch), codec.Str(fmt.Sprintf("c%d-i%d", i, k)), v, raw)
					}
				}
				for _, ch := range chans {
					closeChannel(t, ch)
				}
			},
		},
		{
			ID:          "concurrency/stream/parallel-streams-and-status",
			Clauses:     []string{cChanIndependent, cProfStream, cMsgStatusReply},
			Level:       conformance.MUST,
			Description: "8 concurrent conform_stream executions each deliver all their items then CHANNEL_CLOSE; STATUS is answered meanwhile",
			Run: func(t *conformance.T) {
				const nch, count, size = 8, 20, 2000
				chans := make([]int32, nch)
				for i := range chans {
					chans[i] = t.Exec(profile.Stream, item("count", codec.Int(count)), item("size", codec.Int(size)))
				}
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS during streams: %v", err)
				}
				want := codec.Bytes(streamItem(size))
				for _, ch := range chans {
					for k := 0; k < count; k++ {
						v, raw := recvData(t, ch, "conform_stream")
						checkIdentical(t, fmt.Sprintf("stream item %d on channel %d", k, ch), want, v, raw)
					}
					t.Expect(spec.MsgChannelClose, ch)
				}
			},
		},
	}
}
