package cases

import (
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

func statusCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "status/reply/data-then-close",
			Clauses:     []string{cMsgStatusReply, cMsgStatusClose},
			Level:       conformance.MUST,
			Description: "STATUS is answered with CHANNEL_DATA then CHANNEL_CLOSE on the requested channel id",
			Run: func(t *conformance.T) {
				id := t.NewChannelID()
				t.Send(statusFrame(id))
				t.Expect(spec.MsgChannelData, id)
				f := t.Expect(spec.MsgChannelClose, id)
				if len(f.Payload) != 0 {
					t.Fatalf("CHANNEL_CLOSE after STATUS has payload %s, want none", hexOf(f.Payload))
				}
			},
		},
		{
			ID:          "status/reply/keys",
			Clauses:     []string{cMsgStatusReply, cMsgStatusKeys, cMsgStatusModel},
			Level:       conformance.MUST,
			Description: "the STATUS reply is a dict with exactly the keys numchannels (int >= 0), numexecuting (int >= 0), execmodel (text), in that order",
			Run: func(t *conformance.T) {
				d, err := t.Status()
				if err != nil {
					t.Fatalf("STATUS: %v", err)
				}
				var keys []string
				for _, it := range d.Items() {
					keys = append(keys, codec.Repr(it.Key))
				}
				if got := strings.Join(keys, ", "); got != "'numchannels', 'numexecuting', 'execmodel'" {
					t.Fatalf("STATUS reply %s has keys %s, want 'numchannels', 'numexecuting', 'execmodel' in that order", reprOf(d), got)
				}
				for _, k := range []string{"numchannels", "numexecuting"} {
					v, ok := d.Get(codec.Str(k))
					if !ok {
						t.Fatalf("STATUS reply %s lacks key %q", reprOf(d), k)
					}
					if n, ok := v.(codec.Int); !ok || n < 0 {
						t.Fatalf("STATUS reply %s: %q is %s, want an int >= 0", reprOf(d), k, reprOf(v))
					}
				}
				v, ok := d.Get(codec.Str("execmodel"))
				if !ok {
					t.Fatalf("STATUS reply %s lacks key \"execmodel\"", reprOf(d))
				}
				if _, ok := v.(codec.Str); !ok {
					t.Fatalf("STATUS reply %s: execmodel is %s, want text", reprOf(d), v.Kind())
				}
			},
		},
		{
			ID:          "status/reply/counts-running-execution",
			Clauses:     []string{cMsgStatusKeys},
			Level:       conformance.SHOULD,
			Description: "while conform_sleep runs, STATUS reports numexecuting >= 1",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Sleep, item("seconds", codec.Float(0.5)))
				d, err := t.Status()
				if err != nil {
					t.Fatalf("STATUS: %v", err)
				}
				v, _ := d.Get(codec.Str("numexecuting"))
				if n, ok := v.(codec.Int); !ok || n < 1 {
					t.Fatalf("STATUS reply %s during conform_sleep: want numexecuting >= 1", reprOf(d))
				}
				t.ExpectClose(ch)
			},
		},
		{
			ID:          "status/request/repeated",
			Clauses:     []string{cMsgStatusReply, "MSG-STATUS-5"},
			Level:       conformance.MUST,
			Description: "ten STATUS requests in one write get ten replies, each on its own id, and create no channel",
			Run: func(t *conformance.T) {
				before := numChannels(t)
				var ids []int32
				var b []byte
				for i := 0; i < 10; i++ {
					id := t.NewChannelID()
					ids = append(ids, id)
					b = appendFrame(b, statusFrame(id))
				}
				t.SendRaw(b)
				for _, id := range ids {
					t.Expect(spec.MsgChannelData, id)
					t.ExpectClose(id)
				}
				if after := numChannels(t); after > before {
					t.Fatalf("numchannels grew from %d to %d after ten STATUS requests", before, after)
				}
			},
		},
	}
}
