package cases

import (
	"fmt"
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// newChannelCloseErrorCases checks what the peer's CHANNEL_CLOSE_ERROR on
// the channel conform_newchannel opened does to the procedure: the error
// reaches it (MSG-CLOSEERR-3) and ends it with an error, which its own
// channel, still open, carries (MSG-EXEC-6).
func newChannelCloseErrorCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "channel/newchannel/close-error-reaches-procedure",
			Clauses:     []string{"MSG-CLOSEERR-3", cMsgExecError, cProfNewChannel},
			Level:       conformance.MUST,
			Description: "CHANNEL_CLOSE_ERROR from the runner on the channel conform_newchannel opened ends the procedure with that error: its own channel ends with CHANNEL_CLOSE_ERROR whose text holds the runner's text",
			Run: func(t *conformance.T) {
				ch, other := newWorkerChannel(t)
				t.SendData(other, codec.Int(5))
				v, raw := recvData(t, other, "5 on the new channel")
				checkIdentical(t, "echo on the new channel", codec.Int(5), v, raw)
				const text = "conform: the runner ends the new channel with this error"
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: other, Payload: mustDumps(t, codec.Str(text))})
				got := t.ExpectCloseError(ch)
				if !strings.Contains(got, text) {
					t.Fatalf("conform_newchannel ended with CHANNEL_CLOSE_ERROR %q, which does not hold the error text %q the runner sent on channel %d", got, text, other)
				}
				expectQuiet(t, "frame on the new channel after the runner's CHANNEL_CLOSE_ERROR", other)
			},
		},
		{
			ID:          "channel/newchannel/close-error-non-text-rendered",
			Clauses:     []string{"MSG-CLOSEERR-2", "MSG-CLOSEERR-3", cMsgExecError, cProfNewChannel},
			Level:       conformance.MUST,
			Description: "CHANNEL_CLOSE_ERROR from the runner whose payload is a list, not text, on the channel conform_newchannel opened: the procedure's CHANNEL_CLOSE_ERROR holds a rendering of that list: its text element, its integer and the digits of its float 1.2345e-20",
			Run: func(t *conformance.T) {
				ch, other := newWorkerChannel(t)
				// Each element's rendering must show: the text itself, the
				// integer's digits, and the float's five significant digits
				// (in whatever notation: without their decimal points,
				// 1.2345e-20, 1.2345E-20 and 0.000...012345 all hold
				// "12345").
				const word, num, fl, digits = "conform-abc", 42, 1.2345e-20, "12345"
				t.Send(frame.Frame{Code: spec.MsgChannelCloseError, Channel: other,
					Payload: mustDumps(t, codec.List{codec.Str(word), codec.Int(num), codec.Float(fl)})})
				got := t.ExpectCloseError(ch)
				undotted := strings.ReplaceAll(got, ".", "")
				for _, want := range []string{word, fmt.Sprint(num), digits} {
					if !strings.Contains(got, want) && !(want == digits && strings.Contains(undotted, digits)) {
						t.Fatalf("conform_newchannel ended with CHANNEL_CLOSE_ERROR %q, which holds no rendering of the runner's error value ['%s', %d, %g]: %q is missing (MSG-CLOSEERR-2: the error text is a textual rendering of that value)", got, word, num, fl, want)
					}
				}
			},
		},
	}
}
