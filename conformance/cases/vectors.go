package cases

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	execnetconform "github.com/execnet-conform/execnet-conform"
	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// vector is one golden vector of testdata/vectors/vectors.json.
type vector struct {
	Name      string `json:"name"`
	Class     string `json:"class"` // roundtrip, decode-only, reject
	Hex       string `json:"hex"`
	Error     string `json:"error"` // reject: codec sentinel name, e.g. ErrTruncated
	Channels  bool   `json:"channels"`
	SetOrder  string `json:"set_order"`
	Strconfig *struct {
		Py2StrAsPy3Str bool `json:"py2str_as_py3str"`
		Py3StrAsPy2Str bool `json:"py3str_as_py2str"`
	} `json:"strconfig"`
}

type vectorFile struct {
	Vectors []vector `json:"vectors"`
}

func loadVectors() ([]vector, error) {
	var f vectorFile
	if err := json.Unmarshal(execnetconform.VectorsJSON, &f); err != nil {
		return nil, fmt.Errorf("testdata/vectors/vectors.json: %w", err)
	}
	if len(f.Vectors) == 0 {
		return nil, fmt.Errorf("testdata/vectors/vectors.json holds no vectors")
	}
	return f.Vectors, nil
}

// vectorCases replays the golden vectors against the target, one case per
// vector and direction:
//   - vectors/NAME/decode: conform_loads decodes the vector's bytes to the
//     vector's value (roundtrip and decode-only vectors). Vectors that hold
//     CHANNEL opcodes need a channel context and go through conform_echo.
//   - vectors/NAME/encode: conform_dumps writes exactly the vector's bytes
//     (roundtrip vectors; set elements may come in any order).
//   - vectors/reject/...: conform_loads must end with CHANNEL_CLOSE_ERROR
//     whose text starts with the vector's error class.
//
// The versioned/ vectors are the public form with a format byte, which
// never travels in a frame; the codec's own tests cover them.
func vectorCases() []conformance.Case {
	vs, err := loadVectors()
	if err != nil {
		return []conformance.Case{{
			ID:          "vectors/load",
			Clauses:     []string{cSerStop},
			Level:       conformance.MUST,
			Description: "the golden vectors load",
			Run:         func(t *conformance.T) { t.Fatalf("suite bug: %v", err) },
		}}
	}
	var cs []conformance.Case
	for _, v := range vs {
		v := v
		if skipVector(v) {
			continue
		}
		switch v.Class {
		case "roundtrip":
			cs = append(cs, vectorDecodeCase(v), vectorEncodeCase(v))
		case "decode-only":
			cs = append(cs, vectorDecodeCase(v))
		case "reject":
			if isDepthLimit(v) {
				cs = append(cs, depthLimitCase(v))
			} else {
				cs = append(cs, vectorRejectCase(v))
			}
		}
	}
	return cs
}

// skipVector reports whether a vector is left out of the suite:
//   - versioned/ vectors are the public form with a format byte, which
//     never travels in a frame (the codec's own tests cover them);
//   - value vectors that the reference codec cannot decode with its
//     default limits (e.g. integers past 4300 digits, beyond what
//     LIM-INT-1 requires a decoder to accept).
func skipVector(v vector) bool {
	if strings.HasPrefix(v.Name, "versioned/") {
		return true
	}
	if v.Class == "reject" {
		return false
	}
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		return false // reported by the case
	}
	d := codec.Decoder{StrConfig: codec.ChannelStrConfig}
	if sc := vectorStrConfig(v); sc != nil {
		d.StrConfig = *sc
	}
	_, _, err = d.Loads(b)
	return errors.Is(err, codec.ErrLimit)
}

// isDepthLimit reports a reject vector for the optional nesting limit
// (LIM-DEPTH-2 is a MAY: a decoder without a depth limit is conforming).
func isDepthLimit(v vector) bool {
	return v.Class == "reject" && v.Error == "ErrLimit" && strings.Contains(v.Name, "depth")
}

func vectorStrConfig(v vector) *codec.StrConfig {
	if v.Strconfig == nil {
		return nil
	}
	sc := codec.StrConfig{Py2StrAsPy3Str: v.Strconfig.Py2StrAsPy3Str, Py3StrAsPy2Str: v.Strconfig.Py3StrAsPy2Str}
	if sc == codec.ChannelStrConfig {
		return nil // the default of every channel
	}
	return &sc
}

// vectorValue decodes the vector with the reference codec, under the
// vector's strconfig.
func vectorValue(t *conformance.T, v vector) (codec.Value, []byte) {
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		t.Fatalf("suite bug: vector %s: bad hex: %v", v.Name, err)
	}
	d := codec.Decoder{StrConfig: codec.ChannelStrConfig}
	if sc := vectorStrConfig(v); sc != nil {
		d.StrConfig = *sc
	}
	val, _, err := d.Loads(b)
	if err != nil {
		t.Fatalf("suite bug: vector %s: the reference codec rejects it: %v", v.Name, err)
	}
	return val, b
}

func vectorDecodeCase(v vector) conformance.Case {
	desc := "the target decodes golden vector " + v.Name
	switch {
	case vectorStrConfig(v) != nil:
		desc += " (strconfig: through conform_echo on a reconfigured channel)"
	case v.Channels:
		desc += " (CHANNEL opcodes: through conform_echo on a live channel)"
	}
	var timeout time.Duration
	if vectorStrConfig(v) != nil || v.Channels {
		// Through conform_echo: a worker that cannot decode the value must
		// end the connection (FRM-FATAL-2), after its grace period for the
		// running echo (TERM-EOF-2).
		timeout = robustTimeout
	}
	return conformance.Case{
		ID:          "vectors/" + v.Name + "/decode",
		Timeout:     timeout,
		Clauses:     vectorClauses(v, cProfLoads),
		Level:       conformance.MUST,
		Description: desc,
		Run: func(t *conformance.T) {
			want, b := vectorValue(t, v)
			if sc := vectorStrConfig(v); sc != nil {
				got, raw := echoRawWith(t, b, *sc)
				// Echoed py2str comes back as bytes (SER-STR-3: py2str or bytes).
				if !codec.Identical(py2strAsBytes(want), py2strAsBytes(got)) {
					t.Fatalf("vector %s (hex %s) through conform_echo with strconfig %v: got %s (hex %s), want %s",
						v.Name, v.Hex, *sc, reprOf(got), hexOf(raw), reprOf(want))
				}
				return
			}
			if v.Channels {
				got, raw := echoRaw(t, b)
				checkIdentical(t, fmt.Sprintf("vector %s (hex %s) through conform_echo", v.Name, v.Hex), want, got, raw)
				return
			}
			ch, f := execLoads(t, b)
			what := fmt.Sprintf("vector %s: conform_loads of hex %s", v.Name, v.Hex)
			got := decodeReply(t, f, what)
			checkIdentical(t, what, want, got, f.Payload)
			closeChannel(t, ch)
		},
	}
}

func vectorEncodeCase(v vector) conformance.Case {
	return conformance.Case{
		ID:          "vectors/" + v.Name + "/encode",
		Clauses:     vectorClauses(v, cProfDumps),
		Level:       conformance.MUST,
		Description: "the target encodes golden vector " + v.Name + " to its exact bytes",
		Run: func(t *conformance.T) {
			want, b := vectorValue(t, v)
			got := dumpsOnTarget(t, want)
			if string(got) == string(b) {
				return
			}
			if hasMultiSet(want) && len(got) == len(b) {
				if g, err := codec.Loads(got); err == nil && codec.Identical(g, want) {
					return // only the order of set elements differs
				}
			}
			t.Fatalf("vector %s: conform_dumps: expected hex %s, got hex %s\n%s", v.Name, v.Hex, hexOf(got),
				conformance.DescribeEncodingMismatch(got, b))
		},
	}
}

// decodeTimeout bounds the cases that give conform_loads a small malformed
// input: a conforming decoder answers at once, and one that allocates what
// a count operand declares should not hold up the run.
const decodeTimeout = 3 * time.Second

// errorClass turns a codec sentinel name (ErrTruncated) into the spec's
// error class name (Truncated).
func errorClass(name string) string { return strings.TrimPrefix(name, "Err") }

func vectorRejectCase(v vector) conformance.Case {
	class := errorClass(v.Error)
	if v.Channels {
		return conformance.Case{
			ID:          "vectors/" + v.Name,
			Clauses:     vectorClauses(v, cRobBadPayload),
			Level:       conformance.MUST,
			Description: "malformed golden vector " + v.Name + " as data on a live channel: the target ends the connection or reports an error",
			Timeout:     robustTimeout,
			Run: func(t *conformance.T) {
				b := mustHex(t, v.Hex)
				ch := t.Exec(profile.Echo)
				t.Send(dataFrame(ch, b))
				t.ExpectEndOrError()
			},
		}
	}
	return conformance.Case{
		ID:          "vectors/" + v.Name,
		Clauses:     vectorClauses(v, cProfLoads),
		Level:       conformance.MUST,
		Description: "conform_loads rejects golden vector " + v.Name + " with error class " + class,
		Timeout:     decodeTimeout,
		Run: func(t *conformance.T) {
			checkRejected(t, "vector "+v.Name, mustHex(t, v.Hex), class)
		},
	}
}

// depthLimitCase checks a vector deeper than the reference codec's nesting
// limit: a decoder MAY reject it with Limit (LIM-DEPTH-2), or decode it
// correctly, but MUST NOT crash.
func depthLimitCase(v vector) conformance.Case {
	return conformance.Case{
		ID:          "vectors/" + v.Name,
		Clauses:     []string{"LIM-DEPTH-2", "LIM-DEPTH-1", "ERR-GEN-3", cProfLoads},
		Level:       conformance.MUST,
		Description: "conform_loads of deep golden vector " + v.Name + ": either the right value or a Limit error, no crash",
		Run: func(t *conformance.T) {
			b := mustHex(t, v.Hex)
			d := codec.Decoder{StrConfig: codec.ChannelStrConfig, Limits: codec.Limits{MaxDepth: 1 << 20}}
			want, _, err := d.Loads(b)
			if err != nil {
				t.Fatalf("suite bug: vector %s does not decode without a depth limit: %v", v.Name, err)
			}
			ch, f := execLoads(t, b)
			switch f.Code {
			case spec.MsgChannelCloseError:
				if text := closeErrorText(f); !strings.HasPrefix(text, "Limit:") {
					t.Fatalf("vector %s: conform_loads failed with %q, want the value or a text starting with \"Limit:\"", v.Name, text)
				}
			case spec.MsgChannelData:
				got, _, err := d.Loads(f.Payload)
				if err != nil || !codec.Identical(want, got) {
					t.Fatalf("vector %s: conform_loads answered hex %s, which is not the vector's value", v.Name, hexOf(f.Payload))
				}
				closeChannel(t, ch)
			default:
				t.Fatalf("vector %s: conform_loads answered %s", v.Name, f.Code)
			}
		},
	}
}

// vectorClauses picks the clauses a vector exercises from its name.
func vectorClauses(v vector, proc string) []string {
	cl := []string{proc}
	for kw, c := range nameClause {
		if strings.Contains(v.Name, kw) {
			cl = append(cl, c...)
		}
	}
	group, rest, _ := strings.Cut(v.Name, "/")
	if group == "reject" {
		cl = append(cl, cDecErrors, "ERR-GEN-2", "ERR-GEN-3", "SEC-CODEC-1", "SEC-CODEC-2")
		sub, _, _ := strings.Cut(rest, "/")
		if c, ok := rejectClause[sub]; ok {
			cl = append(cl, c)
		}
		if c, ok := errorClassClause[errorClass(v.Error)]; ok {
			cl = append(cl, c)
		}
		return sortedClauses(dedupe(cl))
	}
	if c, ok := groupClause[group]; ok {
		cl = append(cl, c)
	}
	if proc == cProfDumps {
		cl = append(cl, cSerUnique, cSerStop, "SER-REG-1", "SER-INT-5", "SER-STR-4")
	} else {
		// The reply's bytes are compared too (checkReplyBytes).
		cl = append(cl, "SER-SM-1", "SER-REG-1", cSerUnique)
	}
	return sortedClauses(dedupe(cl))
}

func dedupe(xs []string) []string {
	out := xs[:0]
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
