package cases

import (
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// hexShown is how many bytes of a byte string messages show in full.
const hexShown = 512

// hexOf renders b as hex for failure messages, abbreviated past hexShown
// bytes (the length is then given).
func hexOf(b []byte) string {
	if len(b) <= hexShown {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", hex.EncodeToString(b[:hexShown]), len(b))
}

// reprOf renders v as a Python literal for failure messages, abbreviated;
// its cost is bounded by what it shows (conformance.Describe), so that a
// 60 MiB value does not cost gigabytes to describe.
func reprOf(v codec.Value) string {
	return conformance.Describe(v, 400)
}

// mustDumps encodes v with the reference codec; a failure is a bug in
// the suite, reported as such.
func mustDumps(t *conformance.T, v codec.Value) []byte {
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatalf("suite bug: the reference codec cannot encode %s: %v", reprOf(v), err)
	}
	return b
}

// mustHex decodes a hex constant of the suite.
func mustHex(t *conformance.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("suite bug: bad hex %q: %v", s, err)
	}
	return b
}

func dataFrame(ch int32, payload []byte) frame.Frame {
	return frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: payload}
}

func closeFrame(ch int32) frame.Frame {
	return frame.Frame{Code: spec.MsgChannelClose, Channel: ch}
}

// closeChannel ends a channel from the runner's side with CHANNEL_CLOSE.
// Frames the target may still send on it are dropped by the runner at the
// next case.
func closeChannel(t *conformance.T, ch int32) { t.Send(closeFrame(ch)) }

// recvData receives the next CHANNEL_DATA on ch; anything else is fatal
// and described with what was sent.
func recvData(t *conformance.T, ch int32, sent string) (codec.Value, []byte) {
	f, err := t.RecvOn(ch)
	if err != nil {
		t.Fatalf("after sending %s on channel %d: %v", sent, ch, err)
	}
	v := decodeReply(t, f, "after sending "+sent)
	return v, f.Payload
}

// echoRaw starts conform_echo, sends payload as one CHANNEL_DATA, and
// returns the echoed value and its wire bytes. The channel is closed
// afterwards.
func echoRaw(t *conformance.T, payload []byte) (codec.Value, []byte) {
	ch := t.Exec(profile.Echo)
	t.Send(dataFrame(ch, payload))
	v, raw := recvData(t, ch, "payload "+hexOf(payload)+" to conform_echo")
	closeChannel(t, ch)
	return v, raw
}

// execLoads starts conform_loads and sends b as one bytes item. It
// returns the channel and the first frame the target sends back on it.
func execLoads(t *conformance.T, b []byte) (int32, frame.Frame) {
	ch := t.Exec(profile.Loads)
	t.SendData(ch, codec.Bytes(b))
	f, err := t.RecvOn(ch)
	if err != nil {
		t.Fatalf("conform_loads on channel %d, sent bytes %s: %v", ch, hexOf(b), err)
	}
	return ch, f
}

// reconfigureFrame builds RECONFIGURE for channel ch with strconfig sc.
func reconfigureFrame(t *conformance.T, ch int32, sc codec.StrConfig) frame.Frame {
	return frame.Frame{Code: spec.MsgReconfigure, Channel: ch,
		Payload: mustDumps(t, codec.Tuple{codec.Bool(sc.Py2StrAsPy3Str), codec.Bool(sc.Py3StrAsPy2Str)})}
}

// execThenReconfigure starts proc, then sends RECONFIGURE with strconfig
// sc for its channel: the channel exists by then, and every CHANNEL_DATA
// sent afterwards is decoded with sc.
func execThenReconfigure(t *conformance.T, proc string, sc codec.StrConfig) int32 {
	ch := t.Exec(proc)
	t.Send(reconfigureFrame(t, ch, sc))
	return ch
}

// echoRawWith is echoRaw on a channel reconfigured to sc first.
func echoRawWith(t *conformance.T, payload []byte, sc codec.StrConfig) (codec.Value, []byte) {
	ch := execThenReconfigure(t, profile.Echo, sc)
	t.Send(dataFrame(ch, payload))
	v, raw := recvData(t, ch, "payload "+hexOf(payload)+" to conform_echo")
	closeChannel(t, ch)
	return v, raw
}

// decodeReply decodes a CHANNEL_DATA frame's payload or fails the case.
func decodeReply(t *conformance.T, f frame.Frame, what string) codec.Value {
	if f.Code == spec.MsgChannelCloseError {
		t.Fatalf("%s: the target closed channel %d with an error: %s", what, f.Channel, closeErrorText(f))
	}
	if f.Code != spec.MsgChannelData {
		t.Fatalf("%s: expected CHANNEL_DATA on channel %d, got %s (payload hex %s)", what, f.Channel, f.Code, hexOf(f.Payload))
	}
	v, err := codec.Loads(f.Payload)
	if err != nil {
		t.Fatalf("%s: the reply does not decode: %v (hex %s)", what, err, hexOf(f.Payload))
	}
	return v
}

// closeErrorText renders a CHANNEL_CLOSE_ERROR payload as text.
func closeErrorText(f frame.Frame) string {
	v, err := codec.Loads(f.Payload)
	if err != nil {
		return fmt.Sprintf("(undecodable payload %s: %v)", hexOf(f.Payload), err)
	}
	if s, ok := v.(codec.Str); ok {
		return lastLines(string(s), 6)
	}
	return "(not text: " + reprOf(v) + ")"
}

// lastLines keeps the last n lines of a traceback-like text.
func lastLines(s string, n int) string {
	end := len(s)
	for end > 0 && s[end-1] == '\n' {
		end--
	}
	i := end
	for k := 0; k < n && i > 0; k++ {
		j := i - 1
		for j > 0 && s[j-1] != '\n' {
			j--
		}
		i = j
	}
	if i > 0 {
		return "..." + s[i:end]
	}
	return s[:end]
}

// hasMultiSet reports whether v contains a set or frozenset of more than
// one element, whose encoded element order the spec leaves open.
func hasMultiSet(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Set:
		return len(x) > 1 || anyMultiSet(x)
	case codec.FrozenSet:
		return len(x) > 1 || anyMultiSet(x)
	case codec.Tuple:
		return anyMultiSet(x)
	case codec.List:
		return anyMultiSet(x)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasMultiSet(it.Key) || hasMultiSet(it.Value) {
				return true
			}
		}
	}
	return false
}

func anyMultiSet(xs []codec.Value) bool {
	for _, x := range xs {
		if hasMultiSet(x) {
			return true
		}
	}
	return false
}

// checkIdentical fails the case unless got, decoded by the runner from
// the target's reply gotRaw, is Identical to want, and unless gotRaw is
// itself the canonical encoding of want (see checkReplyBytes).
func checkIdentical(t *conformance.T, what string, want, got codec.Value, gotRaw []byte) {
	if codec.Identical(want, got) {
		checkReplyBytes(t, what, want, gotRaw)
		return
	}
	wantRaw, _ := codec.Dumps(want)
	t.Fatalf("%s: got %s (hex %s), want %s (hex %s)", what, reprOf(got), hexOf(gotRaw), reprOf(want), hexOf(wantRaw))
}

// checkReplyBytes fails the case unless raw, the payload the target sent,
// is the canonical encoding of want (SER-ENC-4, SER-ENC-8). The runner's
// own decoder merges equal dict keys (DM-DICT-2), so a value decoded from
// the reply cannot show that the target held, and sent, a dict with two
// equal keys: a dict {'a': 1, 'a': 2} on the wire decodes to {'a': 2}
// all the same. The bytes show it. Values holding a set of more than one
// element are left to the value comparison (their element order is open,
// SER-ENC-5), as are replies the caller did not keep (raw nil).
func checkReplyBytes(t *conformance.T, what string, want codec.Value, raw []byte) {
	if raw == nil || hasMultiSet(want) {
		return
	}
	wantRaw, err := codec.Dumps(want)
	if err != nil || string(wantRaw) == string(raw) {
		return
	}
	t.Fatalf("%s: the reply decodes to the expected value %s, but its bytes are not that value's canonical encoding (SER-ENC-4, SER-ENC-8; a dict sent with a repeated key, DM-DICT-2, looks like this): got hex %s, want hex %s\n%s",
		what, reprOf(want), hexOf(raw), hexOf(wantRaw), conformance.DescribeEncodingMismatch(raw, wantRaw))
}

// checkEncoding fails the case unless got is the canonical encoding of
// want: byte for byte, except that elements of sets may come in any
// order (then the bytes must decode to an identical value and have the
// same length).
func checkEncoding(t *conformance.T, what string, want codec.Value, got []byte) {
	wantRaw := mustDumps(t, want)
	if string(wantRaw) == string(got) {
		return
	}
	if hasMultiSet(want) && len(got) == len(wantRaw) {
		if v, err := codec.Loads(got); err == nil && codec.Identical(v, want) {
			return
		}
	}
	t.Fatalf("%s: value %s: got hex %s, want hex %s\n%s", what, reprOf(want), hexOf(got), hexOf(wantRaw),
		conformance.DescribeEncodingMismatch(got, wantRaw))
}

// dumpsOnTarget sends v to a fresh conform_dumps and returns the bytes the
// target answered with. The channel is closed afterwards.
func dumpsOnTarget(t *conformance.T, v codec.Value) []byte {
	ch := t.Exec(profile.Dumps)
	t.SendData(ch, v)
	r, raw := recvData(t, ch, reprOf(v)+" to conform_dumps")
	b, ok := r.(codec.Bytes)
	if !ok {
		t.Fatalf("conform_dumps answered %s (hex %s), want bytes", reprOf(r), hexOf(raw))
	}
	closeChannel(t, ch)
	return b
}

// item builds a keyword argument for Exec.
func item(k string, v codec.Value) codec.Item { return codec.Item{Key: codec.Str(k), Value: v} }

// py2strAsBytes replaces every py2str in v by bytes with the same octets:
// a worker may hand a decoded py2str to its application as bytes, and
// then echoes it as bytes (SER-STR-3).
func py2strAsBytes(v codec.Value) codec.Value {
	switch x := v.(type) {
	case codec.Py2Str:
		return codec.Bytes(x)
	case codec.Tuple:
		return codec.Tuple(mapValues(x))
	case codec.List:
		return codec.List(mapValues(x))
	case codec.Set:
		return codec.Set(mapValues(x))
	case codec.FrozenSet:
		return codec.FrozenSet(mapValues(x))
	case *codec.Dict:
		items := make([]codec.Item, 0, x.Len())
		for _, it := range x.Items() {
			items = append(items, codec.Item{Key: py2strAsBytes(it.Key), Value: py2strAsBytes(it.Value)})
		}
		if d, err := codec.NewDict(items...); err == nil {
			return d
		}
	}
	return v
}

func mapValues(xs []codec.Value) []codec.Value {
	out := make([]codec.Value, len(xs))
	for i, x := range xs {
		out[i] = py2strAsBytes(x)
	}
	return out
}

// sortedClauses sorts clause anchors for a stable, readable order.
func sortedClauses(cl []string) []string {
	sort.Strings(cl)
	return cl
}

// expectQuiet checks that the target sends nothing more on channels chs: it
// runs conform_sleep(0.2) on a new channel and waits for that execution's
// CHANNEL_CLOSE; any frame on one of chs before it fails the case with why. (A
// frame sent later than that is not detected.)
func expectQuiet(t *conformance.T, why string, chs ...int32) {
	sleeper := t.Exec(profile.Sleep, item("seconds", codec.Float(0.2)))
	for {
		f, err := t.Recv()
		if err != nil {
			t.Fatalf("waiting for conform_sleep(0.2) to end: %v", err)
		}
		for _, ch := range chs {
			if f.Channel == ch {
				t.Fatalf("%s: got %s on channel %d (payload hex %s)", why, f.Code, ch, hexOf(f.Payload))
			}
		}
		if f.Channel == sleeper {
			if f.Code != spec.MsgChannelClose {
				t.Fatalf("conform_sleep(0.2) ended with %s, want CHANNEL_CLOSE", f.Code)
			}
			return
		}
	}
}
