package cases

// The via profile (SPEC.md 12.8, 12.9): the runner, as the master, asks
// the target to serve as the hop of a proxy gateway. It runs the io-proxy
// execution on the target, sends the spec dict and a control channel,
// bootstraps the sub-worker the target starts through the relayed byte
// stream, and speaks frames to that sub-worker inside bytes items of the
// proxy channel. These cases belong to the optional profile "via": the
// runner runs them only for a target that claims it (--profile via).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// profileVia is the Case.Profile of the io-proxy cases.
const profileVia = "via"

// viaTimeout bounds a via case: it starts a second worker (a Python
// interpreter against a Python target) through the target.
const viaTimeout = 15 * time.Second

// viaSubID is the gateway id the runner gives the sub-worker.
const viaSubID = "via-sub"

// viaStubSource is the io-proxy source the runner sends to a target it
// bootstrapped in the import style (SPEC.md 12.9): it defines
// serve_proxy_io as a call of the worker's own execnet.gateway_io, so a
// Python worker runs its own release's hop, and it has the shape that
// BOOT-VIA-8 lets a worker without Python recognise.
const viaStubSource = `# io-proxy of the execnet-conform runner (SPEC.md 12.9): the worker's own hop.
def serve_proxy_io(channel):
    from execnet.gateway_io import serve_proxy_io as serve
    serve(channel)


if __name__ == "__channelexec__":
    serve_proxy_io(channel)
`

// viaProxySource returns the io-proxy source for the target: in the exec
// style the text of the gateway_io.py beside the gateway_base.py the
// runner sent (the same release, as a Python master sends its own
// module), else viaStubSource.
func viaProxySource(t *conformance.T) string {
	if t.Target().Style != transport.StyleExec {
		return viaStubSource
	}
	p, err := transport.LocateGatewayBase(t.Context())
	if err != nil {
		t.Fatalf("the exec style needs execnet's gateway_io.py: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "gateway_io.py"))
	if err != nil {
		t.Fatalf("the exec style needs execnet's gateway_io.py beside %s: %v", p, err)
	}
	return string(b)
}

// viaSpec returns the xspec of the sub-worker: a popen worker through the
// target, with the target's own python= when its xspec has one (so the
// sub is the same implementation: the Go worker's command, or the same
// interpreter), else none (the hop uses its own interpreter, BOOT-VIA-2).
func viaSpec(t *conformance.T) *xspec.Spec {
	text := "popen"
	hop := "gw0"
	if ts, err := xspec.Parse(t.Target().Spec); err == nil && t.Target().Spec != "" {
		hop = ts.WorkerID("gw0")
		if ts.Python != "" {
			text += "//python=" + ts.Python
		}
	}
	s, err := xspec.Parse(text + "//via=" + hop)
	if err != nil {
		t.Fatalf("the sub-worker's xspec %q: %v", text, err)
	}
	return s
}

// viaSubLine returns the bootstrap line for the sub-worker, in the style
// the runner used for the target.
func viaSubLine(t *conformance.T) []byte {
	if t.Target().Style == transport.StyleExec {
		gb, err := transport.ReadGatewayBase(t.Context())
		if err != nil {
			t.Fatalf("the exec style needs execnet's gateway_base.py: %v", err)
		}
		return []byte(transport.BootstrapLine(transport.ExecSource(gb, viaSubID, "thread")))
	}
	return []byte(transport.BootstrapLine(transport.ImportSource(viaSubID, "thread")))
}

// viaHop is one io-proxy execution on the target and the sub-worker it
// relays. Its methods are fatal on any deviation and must be called from
// the case's goroutine.
type viaHop struct {
	t     *conformance.T
	proxy int32 // the proxy channel (the io-proxy execution's channel)
	ctl   int32 // the control channel
	buf   []byte
	ended bool // the proxy channel ended with CHANNEL_CLOSE
	items int  // bytes items received
	fr    *frame.Reader
	next  int32 // the next channel id for the sub-worker (odd)
}

// startViaExec sends the io-proxy CHANNEL_EXEC and returns the proxy
// channel, with a control channel id allocated but not yet sent.
func startViaExec(t *conformance.T) *viaHop {
	t.Discard() // the target now has a child process; no later case uses it
	h := &viaHop{t: t, next: 1}
	h.proxy = t.ExecSource(viaProxySource(t))
	h.ctl = t.NewChannelID()
	h.fr = frame.NewReader(h)
	return h
}

// startVia runs the io-proxy with the spec dict and the control channel
// (BOOT-VIA-1) and bootstraps the sub-worker through the relay, writing
// its bootstrap line in pieces of the given sizes (the rest in one
// piece), and checks that the first relayed byte is the ready byte.
func startVia(t *conformance.T, lineCuts ...int) *viaHop {
	h := startViaExec(t)
	t.SendData(h.proxy, gateway.ViaSpecDict(viaSpec(t), viaSubID))
	t.SendData(h.proxy, codec.ChannelRef(h.ctl))
	line := viaSubLine(t)
	for _, n := range lineCuts {
		n = min(n, len(line))
		h.write(line[:n])
		line = line[n:]
	}
	h.write(line)
	var b [1]byte
	if _, err := io.ReadFull(h, b[:]); err != nil {
		t.Fatalf("waiting for the sub-worker's ready byte through the hop: %v", err)
	}
	if b[0] != spec.ReadyByte {
		t.Fatalf("the first relayed byte is %q, want the ready byte %q (BOOT-VIA-3)", b[0], spec.ReadyByte)
	}
	return h
}

// write sends b to the sub-worker as one bytes item.
func (h *viaHop) write(b []byte) {
	h.t.SendData(h.proxy, codec.Bytes(b))
}

// Read returns relayed bytes of the sub-worker's output: the bytes items
// of the proxy channel, in items of any length. The end of the proxy
// channel is io.EOF; anything but a bytes item or the end is fatal.
func (h *viaHop) Read(p []byte) (int, error) {
	for len(h.buf) == 0 {
		if h.ended {
			return 0, io.EOF
		}
		f, err := h.t.RecvOn(h.proxy)
		if err != nil {
			h.t.Fatalf("waiting for relayed bytes on the proxy channel %d: %v", h.proxy, err)
		}
		switch f.Code {
		case spec.MsgChannelData:
			v := decodeReply(h.t, f, "a relayed item")
			b, ok := v.(codec.Bytes)
			if !ok {
				h.t.Fatalf("the proxy channel carried %s, not bytes (BOOT-VIA-3): %s", v.Kind(), reprOf(v))
			}
			h.items++
			h.buf = b
		case spec.MsgChannelClose:
			h.ended = true
			return 0, io.EOF
		case spec.MsgChannelCloseError:
			h.t.Fatalf("the io-proxy execution failed: %s", closeErrorText(f))
		default:
			h.t.Fatalf("unexpected %s on the proxy channel %d", f.Code, h.proxy)
		}
	}
	n := copy(p, h.buf)
	h.buf = h.buf[n:]
	return n, nil
}

// send writes one frame to the sub-worker.
func (h *viaHop) send(f frame.Frame) { h.write(frame.Append(nil, f)) }

// recv reads the sub-worker's next frame from the relay.
func (h *viaHop) recv(what string) frame.Frame {
	f, err := h.fr.ReadFrame()
	if err != nil {
		h.t.Fatalf("waiting for %s from the sub-worker through the hop: %v", what, err)
	}
	return f
}

// expect reads the sub-worker's next frame, which must have the code and
// channel given.
func (h *viaHop) expect(code spec.MsgCode, ch int32, what string) frame.Frame {
	f := h.recv(what)
	if f.Code != code || f.Channel != ch {
		detail := ""
		if f.Code == spec.MsgChannelCloseError {
			detail = ": " + closeErrorText(f)
		}
		h.t.Fatalf("waiting for %s from the sub-worker: got %s on channel %d%s, want %s on channel %d", what, f.Code, f.Channel, detail, code, ch)
	}
	return f
}

// newChannel returns a fresh channel id of the sub-worker's gateway.
func (h *viaHop) newChannel() int32 {
	id := h.next
	h.next += 2
	return id
}

// status checks a STATUS round trip with the sub-worker.
func (h *viaHop) status() *codec.Dict {
	id := h.newChannel()
	h.send(frame.Frame{Code: spec.MsgStatus, Channel: id})
	f := h.expect(spec.MsgChannelData, id, "the STATUS reply")
	v := decodeReply(h.t, f, "the sub-worker's STATUS reply")
	d, ok := v.(*codec.Dict)
	if !ok {
		h.t.Fatalf("the sub-worker's STATUS reply is %s, want dict", v.Kind())
	}
	h.expect(spec.MsgChannelClose, id, "CHANNEL_CLOSE after the STATUS reply")
	return d
}

// execEcho starts conform_echo on the sub-worker and returns its channel.
func (h *viaHop) execEcho() int32 {
	payload, err := profile.Payload(profile.Echo, nil)
	if err != nil {
		h.t.Fatalf("conform_echo payload: %v", err)
	}
	id := h.newChannel()
	h.send(frame.Frame{Code: spec.MsgChannelExec, Channel: id, Payload: mustDumps(h.t, payload)})
	return id
}

// echoOnce checks that the sub-worker's conform_echo on ch echoes v.
func (h *viaHop) echoOnce(ch int32, v codec.Value) {
	h.send(frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: mustDumps(h.t, v)})
	f := h.expect(spec.MsgChannelData, ch, "the echo")
	got := decodeReply(h.t, f, "the sub-worker's echo")
	if !codec.PyEqual(got, v) {
		h.t.Fatalf("the sub-worker echoed %.80s, want %.80s", reprOf(got), reprOf(v))
	}
}

// request sends control requests without waiting for the answers.
func (h *viaHop) request(reqs ...int) {
	for _, r := range reqs {
		h.t.SendData(h.ctl, codec.Int(r))
	}
}

// answer reads the next answer on the control channel.
func (h *viaHop) answer(what string) codec.Value {
	f, err := h.t.RecvOn(h.ctl)
	if err != nil {
		h.t.Fatalf("waiting for the hop's answer to %s on the control channel %d: %v", what, h.ctl, err)
	}
	return decodeReply(h.t, f, "the answer to "+what)
}

// expectEnd reads the rest of the relayed stream (the sub-worker's last
// frames, if any) until the proxy channel ends with CHANNEL_CLOSE: the
// io-proxy execution ended normally (BOOT-VIA-3).
func (h *viaHop) expectEnd(after string) {
	for !h.ended {
		h.buf = nil
		if _, err := h.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
			h.t.Fatalf("after %s: %v", after, err)
		}
	}
}

// expectWait sends wait and checks the sub-worker's exit status.
func (h *viaHop) expectWait(ok func(int64) bool, want string) int64 {
	h.request(gateway.ViaWait)
	v := h.answer("wait")
	n, isInt := v.(codec.Int)
	if !isInt || !ok(int64(n)) {
		h.t.Fatalf("the hop answered wait with %s, want %s (BOOT-VIA-6)", reprOf(v), want)
	}
	return int64(n)
}

// cleanup ends a sub-worker that a failed case left running, so the
// target's teardown does not wait for it: a kill request, not awaited.
func (h *viaHop) cleanup() {
	if h.ended {
		return
	}
	b, err := codec.Dumps(codec.Int(gateway.ViaKill))
	if err == nil {
		_ = h.t.TrySendRaw(frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: h.ctl, Payload: b}))
	}
}

// expectProxyError waits for the io-proxy execution to end with
// CHANNEL_CLOSE_ERROR, with no item before it.
func expectProxyError(t *conformance.T, proxy int32, what string) {
	f, err := t.RecvOn(proxy)
	if err != nil {
		t.Fatalf("%s: waiting for the io-proxy execution to fail: %v", what, err)
	}
	switch f.Code {
	case spec.MsgChannelCloseError:
		t.Logf("the hop's error: %s", closeErrorText(f))
	case spec.MsgChannelData:
		t.Fatalf("%s: the hop sent an item on the proxy channel (%s), want CHANNEL_CLOSE_ERROR and nothing before it", what, describeData(f))
	default:
		t.Fatalf("%s: the io-proxy execution ended with %s, want CHANNEL_CLOSE_ERROR", what, f.Code)
	}
}

func describeData(f frame.Frame) string {
	v, err := codec.Loads(f.Payload)
	if err != nil {
		return "undecodable " + hexOf(f.Payload)
	}
	return fmt.Sprintf("%.60s", reprOf(v))
}

func viaCases() []conformance.Case {
	const (
		cStart   = "BOOT-VIA-2"
		cRelay   = "BOOT-VIA-3"
		cControl = "BOOT-VIA-6"
		cRecog   = "BOOT-VIA-8"
		cBad     = "BOOT-VIA-9"
	)
	return []conformance.Case{
		{
			ID:      "via/hop/setup",
			Clauses: []string{cStart, cRelay, cRecog},
			Level:   conformance.MUST,
			Description: "the io-proxy execution, given the spec dict and a control channel, starts the sub-worker, relays the runner's bootstrap line " +
				"and the ready byte, and a STATUS and a conform_echo round trip with the sub-worker through the hop; the hop still answers STATUS meanwhile",
			Profile: profileVia,
			Fresh:   true,
			Timeout: viaTimeout,
			Run: func(t *conformance.T) {
				h := startVia(t)
				defer h.cleanup()
				h.status()
				ch := h.execEcho()
				h.echoOnce(ch, codec.Tuple{codec.Int(42), codec.Str("through the hop")})
				if _, err := t.Status(); err != nil {
					t.Fatalf("the hop's own STATUS while it relays: %v", err)
				}
				h.echoOnce(ch, codec.Bytes("again"))
			},
		},
		{
			ID:      "via/hop/large-items",
			Clauses: []string{cStart, cRelay},
			Level:   conformance.MUST,
			Description: "the hop writes bytes items to the sub-worker in order whatever their grouping (the bootstrap line in three items, a frame header split " +
				"across items, two frames in one item) and relays a 2 MiB echo back, which arrives whole",
			Profile: profileVia,
			Fresh:   true,
			Timeout: viaTimeout,
			Run: func(t *conformance.T) {
				h := startVia(t, 7, 100)
				defer h.cleanup()
				ch := h.execEcho()
				small := frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: mustDumps(t, codec.Int(7))})
				big := bytes.Repeat([]byte("via-relay/"), 2<<20/10)
				bigFrame := frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: mustDumps(t, codec.Bytes(big))})
				// small and the first 5 bytes of the big frame's header in
				// one item, the header's rest with part of the payload in
				// a second, the payload in uneven items after that.
				h.write(append(append([]byte(nil), small...), bigFrame[:5]...))
				rest := bigFrame[5:]
				for _, n := range []int{4 + 1000, 65536 + 3, 300001} {
					h.write(rest[:n])
					rest = rest[n:]
				}
				h.write(rest)
				f := h.expect(spec.MsgChannelData, ch, "the echo of the small item")
				if v := decodeReply(t, f, "the small echo"); !codec.PyEqual(v, codec.Int(7)) {
					t.Fatalf("the first echo is %s, want 7", reprOf(v))
				}
				f = h.expect(spec.MsgChannelData, ch, "the echo of the 2 MiB item")
				v := decodeReply(t, f, "the 2 MiB echo")
				if b, ok := v.(codec.Bytes); !ok || !bytes.Equal(b, big) {
					t.Fatalf("the 2 MiB item came back changed (%s of %d bytes)", v.Kind(), len(f.Payload))
				}
				t.Logf("the sub-worker's output came in %d bytes items", h.items)
			},
		},
		{
			ID:      "via/hop/terminate-ends-sub",
			Clauses: []string{cRelay, cControl, cMsgTerminate},
			Level:   conformance.MUST,
			Description: "GATEWAY_TERMINATE sent to the sub-worker through the hop ends it: its output ends, the io-proxy execution ends normally " +
				"(CHANNEL_CLOSE on the proxy channel), and the hop still answers wait, with exit status 0",
			Profile: profileVia,
			Fresh:   true,
			Timeout: viaTimeout,
			Run: func(t *conformance.T) {
				h := startVia(t)
				defer h.cleanup()
				h.status()
				h.send(frame.Frame{Code: spec.MsgGatewayTerminate})
				h.expectEnd("GATEWAY_TERMINATE to the sub-worker")
				h.expectWait(func(n int64) bool { return n == 0 }, "0 (the sub-worker exits with status 0 after GATEWAY_TERMINATE)")
			},
		},
		{
			ID:      "via/hop/close-write-ends-sub",
			Clauses: []string{cRelay, cControl, cTermEOF},
			Level:   conformance.MUST,
			Description: "close_write (control request 4) is answered with None and closes the sub-worker's input, so it ends: the io-proxy execution " +
				"ends normally and wait answers 0",
			Profile: profileVia,
			Fresh:   true,
			Timeout: viaTimeout,
			Run: func(t *conformance.T) {
				h := startVia(t)
				defer h.cleanup()
				h.status()
				h.request(gateway.ViaCloseWrite)
				if v := h.answer("close_write"); !codec.PyEqual(v, codec.None{}) {
					t.Fatalf("the hop answered close_write with %s, want None (BOOT-VIA-6)", reprOf(v))
				}
				h.expectEnd("close_write")
				h.expectWait(func(n int64) bool { return n == 0 }, "0 (the sub-worker exits with status 0 at the end of its input)")
			},
		},
		{
			ID:      "via/hop/kill-ends-sub",
			Clauses: []string{cRelay, cControl},
			Level:   conformance.MUST,
			Description: "kill, wait, wait sent at once on the control channel are answered in order: None, then twice the status of a process " +
				"ended by a signal (a negative number); the sub-worker's output ends and the io-proxy execution ends normally",
			Profile: profileVia,
			Fresh:   true,
			Timeout: viaTimeout,
			Run: func(t *conformance.T) {
				h := startVia(t)
				defer h.cleanup()
				h.status()
				h.request(gateway.ViaKill, gateway.ViaWait, gateway.ViaWait)
				if v := h.answer("kill"); !codec.PyEqual(v, codec.None{}) {
					t.Fatalf("the hop answered kill with %s, want None (BOOT-VIA-6)", reprOf(v))
				}
				var codes []codec.Value
				for range 2 {
					v := h.answer("wait after kill")
					n, ok := v.(codec.Int)
					if !ok || n >= 0 {
						t.Fatalf("the hop answered wait after kill with %s, want a negative number (minus the signal that ended the sub-worker)", reprOf(v))
					}
					codes = append(codes, v)
				}
				if !codec.PyEqual(codes[0], codes[1]) {
					t.Fatalf("two waits answered %s and %s, want the same status", reprOf(codes[0]), reprOf(codes[1]))
				}
				h.expectEnd("kill")
				t.Logf("the sub-worker's status after kill: %s", reprOf(codes[0]))
			},
		},
		{
			ID:          "via/hop/bad-control-item",
			Clauses:     []string{cBad},
			Level:       conformance.MUST,
			Description: "a second item on the proxy channel that is not a channel (the integer 5) ends the io-proxy execution with CHANNEL_CLOSE_ERROR and no relayed item",
			Profile:     profileVia,
			Fresh:       true,
			Timeout:     viaTimeout,
			Run: func(t *conformance.T) {
				h := startViaExec(t)
				t.SendData(h.proxy, gateway.ViaSpecDict(viaSpec(t), viaSubID))
				t.SendData(h.proxy, codec.Int(5))
				expectProxyError(t, h.proxy, "the integer 5 as the control channel")
			},
		},
		{
			ID:          "via/hop/bad-spec-item",
			Clauses:     []string{cBad},
			Level:       conformance.MUST,
			Description: "a first item on the proxy channel that is not a dict (the integer 5) ends the io-proxy execution with CHANNEL_CLOSE_ERROR and no relayed item",
			Profile:     profileVia,
			Fresh:       true,
			Timeout:     viaTimeout,
			Run: func(t *conformance.T) {
				h := startViaExec(t)
				t.SendData(h.proxy, codec.Int(5))
				t.SendData(h.proxy, codec.ChannelRef(h.ctl))
				expectProxyError(t, h.proxy, "the integer 5 as the spec dict")
			},
		},
	}
}
