package cases

import (
	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
)

// py2strCafe is PY2STRING "caf\xe9".
const py2strCafe = "4d00000004636166e951"

func appendFrame(b []byte, f frame.Frame) []byte { return frame.Append(b, f) }

func reconfigureCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "reconfigure/channel/py2str-as-bytes",
			Clauses:     []string{cMsgReconfChannel, cStrPy2, cStrDefault, cMsgDataDeliver, "SER-STRC-3"},
			Level:       conformance.MUST,
			Description: "after RECONFIGURE (False, False) of a running channel, a PY2STRING item on it decodes as bytes",
			Run: func(t *conformance.T) {
				got, raw := echoRawWith(t, mustHex(t, py2strCafe), codec.StrConfig{})
				checkIdentical(t, "echo of PY2STRING after RECONFIGURE (False, False)", codec.Bytes("caf\xe9"), got, raw)
			},
		},
		{
			ID:          "reconfigure/channel/py3str-as-py2str",
			Clauses:     []string{cMsgReconfChannel, cStrPy3},
			Level:       conformance.MUST,
			Description: "after RECONFIGURE (False, True) of a running channel, a PY3STRING item on it decodes as bytes",
			Run: func(t *conformance.T) {
				got, raw := echoRawWith(t, mustDumps(t, codec.Str("hé")), codec.StrConfig{Py3StrAsPy2Str: true})
				checkIdentical(t, "echo of PY3STRING 'hé' after RECONFIGURE (False, True)", codec.Bytes("h\xc3\xa9"), got, raw)
			},
		},
		{
			ID:          "reconfigure/channel/back-to-default",
			Clauses:     []string{cMsgReconfChannel, cStrPy2},
			Level:       conformance.MUST,
			Description: "a second RECONFIGURE (True, False) of a channel restores text decoding of PY2STRING",
			Run: func(t *conformance.T) {
				ch := execThenReconfigure(t, profile.Echo, codec.StrConfig{})
				t.Send(dataFrame(ch, mustHex(t, py2strCafe)))
				v, raw := recvData(t, ch, "PY2STRING after RECONFIGURE (False, False)")
				checkIdentical(t, "echo of PY2STRING as bytes", codec.Bytes("caf\xe9"), v, raw)
				t.Send(reconfigureFrame(t, ch, codec.ChannelStrConfig))
				t.Send(dataFrame(ch, mustHex(t, py2strCafe)))
				v, raw = recvData(t, ch, "PY2STRING after RECONFIGURE (True, False)")
				checkIdentical(t, "echo of PY2STRING as text", codec.Str("café"), v, raw)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "reconfigure/channel/only-that-channel",
			Clauses:     []string{cMsgReconfChannel, cStrDefault, "SER-STRC-4"},
			Level:       conformance.MUST,
			Description: "RECONFIGURE of one channel leaves other channels at the default strconfig",
			Run: func(t *conformance.T) {
				other := execThenReconfigure(t, profile.Echo, codec.StrConfig{})
				got, raw := echoRaw(t, mustHex(t, py2strCafe))
				checkIdentical(t, "echo of PY2STRING on a default channel", codec.Str("café"), got, raw)
				closeChannel(t, other)
			},
		},
		{
			ID:          "reconfigure/channel/before-exec-creates-channel",
			Clauses:     []string{cMsgReconfChannel, cChanLazy},
			Level:       conformance.MUST,
			Description: "RECONFIGURE for an id the worker does not hold yet creates the channel with that strconfig, kept by a later CHANNEL_EXEC",
			Run: func(t *conformance.T) {
				ch := t.NewChannelID()
				t.Send(reconfigureFrame(t, ch, codec.StrConfig{}))
				payload, err := profile.Payload(profile.Echo, &codec.Dict{})
				if err != nil {
					t.Fatalf("suite bug: %v", err)
				}
				t.Send(frame.Frame{Code: msgExec, Channel: ch, Payload: mustDumps(t, payload)})
				t.Send(dataFrame(ch, mustHex(t, py2strCafe)))
				v, raw := recvData(t, ch, "RECONFIGURE (False, False), CHANNEL_EXEC, PY2STRING")
				checkIdentical(t, "echo of PY2STRING on a channel configured before its exec", codec.Bytes("caf\xe9"), v, raw)
				closeChannel(t, ch)
			},
		},
		{
			ID:          "reconfigure/channel/py2str-key-equals-bytes-key",
			Clauses:     []string{"DM-EQ-3", cSerDictDup, cStrPy2},
			Level:       conformance.MUST,
			Description: "with PY2STRING decoding to bytes, a dict with keys b'k' (BYTES) and PY2STRING 'k' has one key, holding the later value",
			Run: func(t *conformance.T) {
				// {b'k': 1, M'k': 2}: NEWDICT, BYTES k, INT 1, SETITEM, PY2STRING k, INT 2, SETITEM, STOP
				payload := mustHex(t, "4a"+"41000000016b"+"4600000001"+"50"+"4d000000016b"+"4600000002"+"50"+"51")
				got, raw := echoRawWith(t, payload, codec.StrConfig{})
				want := mkDict(codec.Bytes("k"), codec.Int(2))
				if !codec.Identical(py2strAsBytes(want), py2strAsBytes(got)) {
					t.Fatalf("dict {b'k': 1, py2str 'k': 2} echoed as %s (hex %s), want {b'k': 2}", reprOf(got), hexOf(raw))
				}
			},
		},
		{
			ID:          "reconfigure/gateway/default-for-new-channels",
			Clauses:     []string{cMsgReconfGateway, cStrPy2},
			Level:       conformance.MUST,
			Description: "RECONFIGURE (False, False) on channel 0 makes PY2STRING decode as bytes on channels created afterwards",
			Run: func(t *conformance.T) {
				t.Discard() // gateway-wide state changes
				t.Send(reconfigureFrame(t, 0, codec.StrConfig{}))
				got, raw := echoRaw(t, mustHex(t, py2strCafe))
				checkIdentical(t, "echo of PY2STRING after gateway RECONFIGURE", codec.Bytes("caf\xe9"), got, raw)
			},
		},
	}
}
