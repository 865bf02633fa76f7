package cases

// Procedure cases for what the mutation harness found unchecked
// (testdata/mutation/report.md): a stream count beyond 64 bits, and
// Python 2 strs inside dicts on a channel that keeps them as bytes.

import (
	"math/big"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

func procGapCases() []conformance.Case {
	py2 := func(s string) []byte { return opBlob(spec.OpPy2String, s) }
	inDict := func(name, desc string, payload []byte, want func() codec.Value) conformance.Case {
		return conformance.Case{
			ID:          "reconfigure/channel/py2str-in-dict-" + name,
			Clauses:     []string{cMsgReconfChannel, cStrPy2, cProfEcho, cSerDict},
			Level:       conformance.MUST,
			Description: "on a channel reconfigured to (False, False), conform_echo of " + desc + " gives back the dict with bytes for the PY2STRING",
			Run: func(t *conformance.T) {
				got, raw := echoRawWith(t, payload, codec.StrConfig{})
				checkIdentical(t, "conform_echo of "+desc+" on a channel reconfigured to (False, False)", want(), got, raw)
			},
		}
	}
	return []conformance.Case{
		inDict("value-int-key", "{1: PY2STRING 'x', 2: 'y'}",
			wire(spec.OpNewDict, opN(spec.OpInt, 1), py2("x"), spec.OpSetItem,
				opN(spec.OpInt, 2), opBlob(spec.OpPy3String, "y"), spec.OpSetItem, spec.OpStop),
			func() codec.Value { return mkDict(codec.Int(1), codec.Bytes("x"), codec.Int(2), codec.Str("y")) }),
		inDict("key", "{PY2STRING 'k': 1, 'j': 2}",
			wire(spec.OpNewDict, py2("k"), opN(spec.OpInt, 1), spec.OpSetItem,
				opBlob(spec.OpPy3String, "j"), opN(spec.OpInt, 2), spec.OpSetItem, spec.OpStop),
			func() codec.Value { return mkDict(codec.Bytes("k"), codec.Int(1), codec.Str("j"), codec.Int(2)) }),
		inDict("value-str-key", "{'k': PY2STRING 'x'}",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "k"), py2("x"), spec.OpSetItem, spec.OpStop),
			func() codec.Value { return mkDict(codec.Str("k"), codec.Bytes("x")) }),
		{
			ID:          "exec/args/stream-count-huge-negative",
			Clauses:     []string{cArgsStream},
			Level:       conformance.MUST,
			Description: "conform_stream with count -(2**70), beyond 64 bits, ends at once with CHANNEL_CLOSE_ERROR and sends no data",
			Run: func(t *conformance.T) {
				count := codec.BigInt{V: new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 70))}
				kw := mustDict(t, item("count", count), item("size", codec.Int(1)))
				ch := t.ExecPayload(procPayload(t, profile.Stream, kw))
				expectErrorNoData(t, ch, "conform_stream with kwargs "+reprOf(kw))
			},
		},
		{
			ID:          "exec/args/stream-count-huge",
			Clauses:     []string{"CONF-STREAM-1", cMsgCloseRecv},
			Level:       conformance.MUST,
			Description: "conform_stream with count 2**70, beyond 64 bits, streams: its first items arrive, and closing the channel ends it",
			Timeout:     15 * time.Second, // the items in flight are read first
			Run: func(t *conformance.T) {
				base := numExecuting(t)
				ch := t.Exec(profile.Stream, item("count", hugeInt()), item("size", codec.Int(1)))
				for i := 0; i < 3; i++ {
					v, raw := recvData(t, ch, "conform_stream(2**70, 1)")
					checkIdentical(t, "conform_stream(2**70, 1) item", codec.Bytes(streamItem(1)), v, raw)
				}
				closeChannel(t, ch)
				drainUntilExecuting(t, base, settleBound, "after the runner closed the channel of conform_stream(2**70, 1)")
			},
		},
	}
}
