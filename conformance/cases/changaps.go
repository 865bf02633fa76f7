package cases

// Channel cases for what the mutation harness found unchecked
// (testdata/mutation/report.md): that the end the runner puts to a
// channel reaches the procedure using it. conform_echo blocked in a
// receive must see the runner's CHANNEL_CLOSE_ERROR and end
// (MSG-CLOSEERR-3), and conform_stream must see its sends fail once the
// runner has closed the channel (CHAN-STATE-8); either way the execution
// ends, which STATUS shows as numexecuting falling back.

import (
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// settleBound is how long an execution may take to end after the runner
// ended its channel: the procedure only has to return from one receive or
// one send.
const settleBound = 3 * time.Second

// drainUntilExecuting is settleExecuting for a channel that may still
// carry data in flight: it polls STATUS, dropping CHANNEL_DATA on ch,
// until numexecuting is want or bound has passed. Any other frame on ch
// than CHANNEL_DATA is left to the caller's checks (it is ignored here).
func drainUntilExecuting(t *conformance.T, want int64, bound time.Duration, why string) {
	// The bound starts at the first reply, not at the first request: the
	// reply queues behind the items already in flight, and how long those
	// take to drain depends on the transport (a via hop adds pipes), not on
	// whether the execution ended.
	var deadline time.Time
	for {
		s := t.NewChannelID()
		t.Send(statusFrame(s))
		var n int64 = -1
		for n < 0 {
			f, err := t.Recv()
			if err != nil {
				t.Fatalf("%s: waiting for the STATUS reply: %v", why, err)
			}
			if f.Channel != s {
				continue
			}
			if f.Code == spec.MsgChannelData {
				v := decodeReply(t, f, "STATUS")
				d, ok := v.(*codec.Dict)
				if !ok {
					t.Fatalf("%s: STATUS reply %s is not a dict", why, reprOf(v))
				}
				x, _ := d.Get(codec.Str("numexecuting"))
				k, ok := x.(codec.Int)
				if !ok {
					t.Fatalf("%s: STATUS reply %s: numexecuting is not an int", why, reprOf(d))
				}
				n = int64(k)
			}
		}
		if n == want {
			return
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(bound)
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: STATUS numexecuting is still %d %v after the first STATUS reply, want %d", why, n, bound, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func channelGapCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "channel/close-error/ends-procedure-receive",
			Clauses:     []string{"MSG-CLOSEERR-3", cProfEcho, cMsgStatusReply},
			Level:       conformance.MUST,
			Description: "CHANNEL_CLOSE_ERROR from the runner on the channel conform_echo is receiving on ends that receive, so the execution ends: STATUS numexecuting falls back",
			Run: func(t *conformance.T) {
				base := numExecuting(t)
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				if n := numExecuting(t); n != base+1 {
					t.Fatalf("STATUS numexecuting is %d while conform_echo waits for its next item, want %d", n, base+1)
				}
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: ch, Payload: mustDumps(t, codec.Str("runner gave up"))})
				settleExecuting(t, base, settleBound, "after CHANNEL_CLOSE_ERROR on the channel conform_echo receives on")
			},
		},
		{
			ID:          "channel/close/ends-procedure-send",
			Clauses:     []string{"CHAN-STATE-8", cMsgCloseRecv, "CONF-STREAM-1", cMsgStatusReply},
			Level:       conformance.MUST,
			Description: "a conform_stream of 10^9 items whose channel the runner closes after the first item fails its next sends and ends: STATUS numexecuting falls back",
			Timeout:     15 * time.Second, // the items in flight are read first
			Run: func(t *conformance.T) {
				base := numExecuting(t)
				ch := t.Exec(profile.Stream, item("count", codec.Int(1_000_000_000)), item("size", codec.Int(1)))
				recvData(t, ch, "conform_stream(10**9, 1)")
				closeChannel(t, ch)
				drainUntilExecuting(t, base, settleBound, "after the runner closed the channel of conform_stream(10**9, 1)")
			},
		},
	}
}
