package codec_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/codec/codectest"
)

// vectorsPath is the golden vector file written by testdata/gen/gen_vectors.py.
const vectorsPath = "../../testdata/vectors/vectors.json"

// vector is one entry of vectors.json; see testdata/gen/README.md.
type vector struct {
	Name          string          `json:"name"`
	Class         string          `json:"class"`
	Hex           string          `json:"hex"`
	Literal       *string         `json:"literal"`
	Error         string          `json:"error"`
	PythonError   *string         `json:"python_error"`
	PythonAccepts *string         `json:"python_accepts"`
	Deviation     *deviation      `json:"deviation"`
	Version       json.RawMessage `json:"version"`
	StrConfig     *strConfig      `json:"strconfig"`
	Channels      bool            `json:"channels"`
	Limits        *limits         `json:"limits"`
	SetOrder      string          `json:"set_order"`
	Clauses       []string        `json:"clauses"`
	Note          string          `json:"note"`

	raw []byte
}

type deviation struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	// Interpreters, when set, limits the deviation to these peers
	// ("cpython", "pypy"); the others follow the spec.
	Interpreters []string `json:"interpreters"`
}

// appliesTo reports whether the deviation is recorded for interpreter name.
func (d *deviation) appliesTo(name string) bool {
	return len(d.Interpreters) == 0 || slices.Contains(d.Interpreters, name)
}

type strConfig struct {
	Py2StrAsPy3Str bool `json:"py2str_as_py3str"`
	Py3StrAsPy2Str bool `json:"py3str_as_py2str"`
}

type limits struct {
	MaxIntDigits int `json:"max_int_digits"`
}

type vectorFile struct {
	ExecnetVersion string   `json:"execnet_version"`
	Vectors        []vector `json:"vectors"`
}

// version returns 1 or 2 for a versioned roundtrip vector, -1 for a
// versioned reject ("any"), 0 for an unversioned vector.
func (v *vector) version() int {
	switch strings.TrimSpace(string(v.Version)) {
	case "", "null":
		return 0
	case "1":
		return 1
	case "2":
		return 2
	}
	return -1
}

func (v *vector) literal() string {
	if v.Literal == nil {
		return ""
	}
	return *v.Literal
}

// decoder returns the decoder a vector asks for: strconfig (default: the
// channel strconfig, as execnet's loads_internal), limits, and channel
// resolution only when the vector is in a channel context.
func (v *vector) decoder() *codec.Decoder {
	d := &codec.Decoder{StrConfig: codec.ChannelStrConfig}
	if v.StrConfig != nil {
		d.StrConfig = codec.StrConfig{Py2StrAsPy3Str: v.StrConfig.Py2StrAsPy3Str, Py3StrAsPy2Str: v.StrConfig.Py3StrAsPy2Str}
	}
	if v.Limits != nil {
		d.Limits.MaxIntDigits = v.Limits.MaxIntDigits
	}
	if !v.Channels {
		d.Channel = func(int32) (codec.Value, error) { return nil, codec.ErrChannelNotAllowed }
	}
	return d
}

func (v *vector) encoder() *codec.Encoder {
	e := &codec.Encoder{}
	if v.Limits != nil {
		e.Limits.MaxIntDigits = v.Limits.MaxIntDigits
	}
	return e
}

// errorClasses maps the error names used in vectors.json to sentinels.
var errorClasses = map[string]error{
	"ErrTruncated":         codec.ErrTruncated,
	"ErrUnknownOpcode":     codec.ErrUnknownOpcode,
	"ErrStackUnderflow":    codec.ErrStackUnderflow,
	"ErrStopStack":         codec.ErrStopStack,
	"ErrUnhashable":        codec.ErrUnhashable,
	"ErrBadInteger":        codec.ErrBadInteger,
	"ErrBadUTF8":           codec.ErrBadUTF8,
	"ErrNegativeLength":    codec.ErrNegativeLength,
	"ErrIndexRange":        codec.ErrIndexRange,
	"ErrNotContainer":      codec.ErrNotContainer,
	"ErrLimit":             codec.ErrLimit,
	"ErrVersion":           codec.ErrVersion,
	"ErrChannelNotAllowed": codec.ErrChannelNotAllowed,
	"ErrUnsupported":       codec.ErrUnsupported,
	"ErrTooLong":           codec.ErrTooLong,
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		tb.Fatalf("read golden vectors: %v (regenerate with /usr/bin/python3 testdata/gen/gen_vectors.py)", err)
	}
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		tb.Fatalf("parse %s: %v", vectorsPath, err)
	}
	for i := range f.Vectors {
		v := &f.Vectors[i]
		if v.raw, err = hex.DecodeString(v.Hex); err != nil {
			tb.Fatalf("vector %s: bad hex: %v", v.Name, err)
		}
	}
	return f.Vectors
}

// TestVectorFile checks the golden file itself, so that a truncated or
// hand-edited file cannot silently weaken the other tests.
func TestVectorFile(t *testing.T) {
	vs := loadVectors(t)
	counts := map[string]int{}
	names := map[string]bool{}
	for _, v := range vs {
		counts[v.Class]++
		if names[v.Name] {
			t.Errorf("duplicate vector name %q", v.Name)
		}
		names[v.Name] = true
		switch v.Class {
		case "roundtrip", "decode-only":
			if v.Literal == nil {
				t.Errorf("%s: %s vector without literal", v.Name, v.Class)
			}
		case "reject":
			if _, ok := errorClasses[v.Error]; !ok {
				t.Errorf("%s: unknown error class %q", v.Name, v.Error)
			}
			if v.PythonError == nil && v.PythonAccepts == nil {
				t.Errorf("%s: reject records neither what execnet raised nor what it accepted", v.Name)
			}
			if v.PythonAccepts != nil && v.Deviation == nil {
				t.Errorf("%s: execnet accepts a reject vector but no deviation is recorded", v.Name)
			}
		default:
			t.Errorf("%s: unknown class %q", v.Name, v.Class)
		}
	}
	if len(vs) < 250 || counts["reject"] < 60 {
		t.Errorf("want >= 250 vectors and >= 60 rejects, got %d (%v)", len(vs), counts)
	}
	// Every opcode byte must start some accepted vector's operation: look
	// for each opcode in the hex of roundtrip/decode-only vectors whose
	// name says they exercise it.
	for _, op := range []byte("@ABCDEFGHIJKLMNOPQRST") {
		found := false
		for _, v := range vs {
			if v.Class != "reject" && v.version() == 0 && bytes.IndexByte(v.raw, op) >= 0 && firstOps(v.raw)[op] {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no accepted vector uses opcode %q", op)
		}
	}
}

// firstOps returns the opcodes a well-formed value uses, by decoding the
// opcode stream without building values.
func firstOps(b []byte) map[byte]bool {
	ops := map[byte]bool{}
	for i := 0; i < len(b); {
		op := b[i]
		ops[op] = true
		i++
		switch op {
		case '@', 'B', 'E', 'F', 'G', 'K', 'O':
			i += 4
		case 'D':
			i += 8
		case 'T':
			i += 16
		case 'A', 'H', 'I', 'M', 'N', 'S':
			if i+4 > len(b) {
				return ops
			}
			n := int(int32(uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])))
			i += 4 + max(n, 0)
		case 'Q':
			return ops
		}
	}
	return ops
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			switch v.Class {
			case "roundtrip":
				checkRoundtrip(t, &v)
			case "decode-only":
				checkDecodeOnly(t, &v)
			case "reject":
				checkReject(t, &v)
			}
		})
	}
}

// decodeVector decodes v.raw the way the vector asks and returns the
// value and the number of bytes consumed (including any version byte).
func decodeVector(v *vector) (codec.Value, int, error) {
	if v.version() != 0 {
		val, ver, err := codec.LoadsVersioned(v.raw)
		if err == nil && v.version() > 0 && int(ver) != v.version() {
			return nil, 0, fmt.Errorf("LoadsVersioned reported format %d, vector has %d", ver, v.version())
		}
		return val, len(v.raw), err
	}
	return v.decoder().Loads(v.raw)
}

func encodeVector(v *vector, val codec.Value) ([]byte, error) {
	if ver := v.version(); ver > 0 {
		return codec.DumpsVersioned(val, byte(ver))
	}
	return v.encoder().Dumps(val)
}

func checkRoundtrip(t *testing.T, v *vector) {
	lit := v.literal()
	got, n, err := decodeVector(v)
	if err != nil {
		t.Fatalf("decode %s: %v", v.Hex, err)
	}
	if n != len(v.raw) {
		t.Errorf("decode consumed %d of %d bytes", n, len(v.raw))
	}
	want, err := codec.ParseLiteral(lit)
	if err != nil {
		t.Fatalf("ParseLiteral(%s): %v", short(lit), err)
	}
	if c, ok := got.(codec.Complex); ok && !codectest.ComplexReadsBack(complex128(c)) {
		// repr's text, which Python's arithmetic (and ParseLiteral) reads
		// with other zero signs: the decoded value stands for the literal.
		want = got
	}
	if !codec.Identical(got, want) {
		t.Errorf("decoded %s, literal parses to %s", short(codec.Repr(got)), short(codec.Repr(want)))
	}
	if r := codec.Repr(got); r != lit {
		t.Errorf("Repr(decoded) = %s, want %s", short(r), short(lit))
	}
	enc, err := encodeVector(v, want)
	if err != nil {
		t.Fatalf("encode literal: %v", err)
	}
	if !bytes.Equal(enc, v.raw) {
		t.Errorf("encode literal:\n got %s\nwant %s", short(hex.EncodeToString(enc)), short(v.Hex))
	}
	enc2, err := encodeVector(v, got)
	if err != nil || !bytes.Equal(enc2, v.raw) {
		t.Errorf("re-encode decoded value: %x, %v", enc2, err)
	}
	// The plain API must agree with the configured one for ordinary vectors.
	if v.version() == 0 && v.Limits == nil {
		if b, err := codec.Dumps(want); err != nil || !bytes.Equal(b, v.raw) {
			t.Errorf("codec.Dumps: %x, %v", b, err)
		}
		if val, err := codec.Loads(v.raw); err != nil || !codec.Identical(val, want) {
			t.Errorf("codec.Loads: %s, %v", reprOrNil(val), err)
		}
	}
}

// reprOnly names decode-only vectors whose literal cannot carry the whole
// value: NaN payloads, Py2Str byte strings (the literal reads as bytes) and
// channel references. For them only Repr is compared with the literal.
func reprOnly(v *vector) bool {
	return strings.HasPrefix(v.Name, "float/nan") || strings.HasPrefix(v.Name, "float/negative-nan") ||
		v.Channels || (v.StrConfig != nil && !v.StrConfig.Py2StrAsPy3Str)
}

func checkDecodeOnly(t *testing.T, v *vector) {
	lit := v.literal()
	got, n, err := decodeVector(v)
	if err != nil {
		t.Fatalf("decode %s: %v", short(v.Hex), err)
	}
	if !strings.HasPrefix(v.Name, "trailing/") && n != len(v.raw) {
		t.Errorf("decode consumed %d of %d bytes", n, len(v.raw))
	}
	if r := codec.Repr(got); r != lit {
		t.Errorf("Repr(decoded) = %s, want %s", short(r), short(lit))
	}
	if !reprOnly(v) {
		want, err := codec.ParseLiteral(lit)
		if err != nil {
			t.Fatalf("ParseLiteral(%s): %v", short(lit), err)
		}
		if !codec.Identical(got, want) {
			t.Errorf("decoded %s, literal parses to %s", codec.Repr(got), codec.Repr(want))
		}
	}
	// Whatever decodes must re-encode canonically and decode to the same value.
	enc, err := v.encoder().Dumps(got)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	// Text re-encodes as PY3STRING, which py3str_as_py2str would turn into
	// bytes: re-decode with that switch off.
	d := v.decoder()
	d.StrConfig.Py3StrAsPy2Str = false
	again, _, err := d.Loads(enc)
	if err != nil || !codec.Identical(again, got) {
		t.Errorf("canonical form %x decodes to %s, %v", enc, reprOrNil(again), err)
	}
	if strings.HasPrefix(v.Name, "float/") && !bytes.Equal(enc, v.raw) {
		t.Errorf("float bits not preserved: %x, want %s", enc, v.Hex)
	}
}

func checkReject(t *testing.T, v *vector) {
	val, _, err := decodeVector(v)
	if err == nil {
		t.Fatalf("decoded %s to %s, want %s", short(v.Hex), short(codec.Repr(val)), v.Error)
	}
	want := errorClasses[v.Error]
	if !errors.Is(err, want) {
		t.Errorf("error %v, want %s", err, v.Error)
	}
	var de *codec.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("error %T is not a *codec.DecodeError", err)
	} else if de.Offset < 0 || de.Offset > len(v.raw) {
		t.Errorf("error offset %d outside input of %d bytes", de.Offset, len(v.raw))
	}
	// Exactly one sentinel must match, so that error classes stay disjoint.
	for name, e := range errorClasses {
		if name != v.Error && errors.Is(err, e) {
			t.Errorf("error %v also matches %s", err, name)
		}
	}
}

func reprOrNil(v codec.Value) string {
	if v == nil {
		return "<nil>"
	}
	return codec.Repr(v)
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("...(%d chars)", len(s))
	}
	return s
}
