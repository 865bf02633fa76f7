package fuzz

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// vectorsPath is the golden vector file (testdata/gen/gen_vectors.py).
const vectorsPath = "../testdata/vectors/vectors.json"

// seedVectors returns the wire bytes of every golden vector, split into
// unversioned and versioned ones.
func seedVectors(tb testing.TB) (plain, versioned [][]byte) {
	tb.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		tb.Fatalf("read golden vectors: %v", err)
	}
	var f struct {
		Vectors []struct {
			Name    string          `json:"name"`
			Hex     string          `json:"hex"`
			Version json.RawMessage `json:"version"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		tb.Fatalf("parse %s: %v", vectorsPath, err)
	}
	for _, v := range f.Vectors {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			tb.Fatalf("vector %s: %v", v.Name, err)
		}
		if len(v.Version) == 0 || string(v.Version) == "null" {
			plain = append(plain, b)
		} else {
			versioned = append(versioned, b)
		}
	}
	if len(plain) < 100 || len(versioned) < 10 {
		tb.Fatalf("too few golden vectors: %d plain, %d versioned", len(plain), len(versioned))
	}
	return plain, versioned
}

// sentinels lists every error class a decoder may return.
var sentinels = []error{
	codec.ErrTruncated, codec.ErrUnknownOpcode, codec.ErrStackUnderflow, codec.ErrStopStack,
	codec.ErrUnhashable, codec.ErrBadInteger, codec.ErrBadUTF8, codec.ErrNegativeLength,
	codec.ErrIndexRange, codec.ErrNotContainer, codec.ErrLimit, codec.ErrVersion,
	codec.ErrChannelNotAllowed, codec.ErrUnsupported, codec.ErrTooLong,
}

// checkDecodeError fails unless err is a *codec.DecodeError matching
// exactly one sentinel, with an offset inside the input.
func checkDecodeError(t *testing.T, err error, inputLen int) {
	t.Helper()
	var de *codec.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T (%v) is not a *codec.DecodeError", err, err)
	}
	if de.Offset < 0 || de.Offset > inputLen {
		t.Fatalf("error offset %d outside input of %d bytes: %v", de.Offset, inputLen, err)
	}
	matched := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			matched++
		}
	}
	if matched != 1 {
		t.Fatalf("error %v matches %d sentinel classes, want exactly 1", err, matched)
	}
	if err.Error() == "" {
		t.Fatal("empty error message")
	}
}

// fuzzLimits is a tight configuration next to the defaults, so that the
// limit checks themselves are fuzzed too.
var fuzzLimits = codec.Limits{MaxElements: 1 << 12, MaxDepth: 20, MaxIntDigits: 30, MaxStringLen: 1 << 10}

// checkCanonical re-encodes an accepted value and checks that the result
// decodes to an Identical value and is a fixed point of encoding.
func checkCanonical(t *testing.T, d *codec.Decoder, v codec.Value) {
	t.Helper()
	e := codec.Encoder{Limits: d.Limits}
	enc, err := e.Dumps(v)
	if err != nil {
		t.Fatalf("accepted value %s does not re-encode: %v", codec.Repr(v), err)
	}
	again, n, err := d.Loads(enc)
	if err != nil {
		t.Fatalf("re-encoded %x does not decode: %v", enc, err)
	}
	if n != len(enc) {
		t.Fatalf("re-encoded value: consumed %d of %d bytes", n, len(enc))
	}
	if !codec.Identical(v, again) {
		t.Fatalf("re-encoded value differs:\n first %s\nsecond %s", codec.Repr(v), codec.Repr(again))
	}
	enc2, err := e.Dumps(again)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not a fixed point: %x then %x (%v)", enc, enc2, err)
	}
}

func FuzzLoads(f *testing.F) {
	plain, _ := seedVectors(f)
	for _, b := range plain {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []*codec.Decoder{
			{StrConfig: codec.ChannelStrConfig},
			{Limits: fuzzLimits, StrConfig: codec.PublicStrConfig},
		} {
			v, n, err := d.Loads(data)
			if err != nil {
				checkDecodeError(t, err, len(data))
				continue
			}
			if n <= 0 || n > len(data) || data[n-1] != 'Q' {
				t.Fatalf("consumed %d of %d bytes, not ending at STOP", n, len(data))
			}
			if v == nil {
				t.Fatal("nil value without error")
			}
			checkCanonical(t, d, v)
		}
	})
}

func FuzzLoadsVersioned(f *testing.F) {
	plain, versioned := seedVectors(f)
	for _, b := range versioned {
		f.Add(b)
	}
	for _, b := range plain[:50] {
		f.Add(append([]byte{1}, b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return // keep single runs small; lengths are covered by FuzzLoads
		}
		v, ver, err := codec.LoadsVersioned(data)
		if err != nil {
			checkDecodeError(t, err, len(data))
			if errors.Is(err, codec.ErrVersion) && len(data) > 0 && (data[0] == 1 || data[0] == 2) {
				t.Fatalf("format byte %d rejected as a version error", data[0])
			}
			return
		}
		if ver != 1 && ver != 2 || ver != data[0] {
			t.Fatalf("accepted format byte %d (input starts %x)", ver, data[:1])
		}
		if hasChannel(v) {
			t.Fatalf("public loads produced a channel: %s", codec.Repr(v))
		}
		enc, err := codec.DumpsVersioned(v, ver)
		if err != nil {
			t.Fatalf("accepted value does not re-encode: %v", err)
		}
		again, ver2, err := codec.LoadsVersioned(enc)
		if err != nil || ver2 != ver || !codec.Identical(v, again) {
			t.Fatalf("versioned re-encoding %x decodes to %v, %d, %v", enc, again, ver2, err)
		}
	})
}

// hasChannel reports whether v holds a channel anywhere.
func hasChannel(v codec.Value) bool {
	switch x := v.(type) {
	case codec.ChannelValue:
		return true
	case codec.Tuple:
		return anyChannel(x)
	case codec.List:
		return anyChannel(x)
	case codec.Set:
		return anyChannel(x)
	case codec.FrozenSet:
		return anyChannel(x)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasChannel(it.Key) || hasChannel(it.Value) {
				return true
			}
		}
	}
	return false
}

func anyChannel(vs []codec.Value) bool {
	for _, e := range vs {
		if hasChannel(e) {
			return true
		}
	}
	return false
}
