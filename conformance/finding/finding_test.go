package finding_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

func TestClausesExist(t *testing.T) {
	for _, id := range []string{finding.ClauseHeader, finding.ClauseLength, finding.ClauseCode, finding.ClausePayload, finding.ClauseData, finding.ClauseTrailing, finding.ClauseBound} {
		if _, ok := spec.Lookup(id); !ok {
			t.Errorf("clause %s is not in SPEC.md", id)
		}
	}
}

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hdr    []byte
		clause string
		text   string
	}{
		{"fine", frame.AppendHeader(nil, spec.MsgChannelData, 3, 10), "", ""},
		{"empty payload", frame.AppendHeader(nil, spec.MsgStatus, 1, 0), "", ""},
		{"at the bound", frame.AppendHeader(nil, spec.MsgChannelData, 3, 1000), "", ""},
		{"text", []byte("hello from the worker\n"), finding.ClauseCode, `read as text: "hello from the worker\n"`},
		{"code 8", frame.AppendHeader(nil, 8, 1, 0), finding.ClauseCode, "message code 8"},
		{"code -1", frame.AppendHeader(nil, -1, 1, 0), finding.ClauseCode, "message code -1"},
		{"negative length", frame.AppendHeader(nil, spec.MsgChannelData, 1, -1), finding.ClauseLength, "negative payload length -1"},
		{"over the bound", frame.AppendHeader(nil, spec.MsgChannelData, 1, 1001), finding.ClauseBound, "1001 is over the reader's limit of 1000"},
		{"short", []byte{1, 2, 3}, "", ""},
	} {
		f := finding.Header(tc.hdr, 1000)
		switch {
		case tc.clause == "" && f != nil:
			t.Errorf("%s: finding %v, want none", tc.name, f)
		case tc.clause != "" && (f == nil || f.Clause != tc.clause || !f.Fatal || !strings.Contains(f.Error(), tc.text)):
			t.Errorf("%s: finding %v, want %s with %q", tc.name, f, tc.clause, tc.text)
		case f != nil && !strings.Contains(f.Error(), "bytes "+hexOf(tc.hdr[:min(len(tc.hdr), finding.ExcerptMax)])):
			t.Errorf("%s: %v does not show the bytes", tc.name, f)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

func TestReadError(t *testing.T) {
	short := frame.AppendHeader(nil, spec.MsgChannelData, 5, 10)
	for _, tc := range []struct {
		name   string
		in     []byte
		clause string
	}{
		{"cut in the header", short[:4], finding.ClauseHeader},
		{"cut in the payload", append(short, 1, 2), finding.ClauseHeader},
		{"negative", frame.AppendHeader(nil, spec.MsgChannelData, 5, -7), finding.ClauseLength},
	} {
		_, err := frame.NewReader(bytes.NewReader(tc.in)).ReadFrame()
		f := finding.ReadError(err)
		if f == nil || f.Clause != tc.clause || !f.Fatal || !errors.Is(f, finding.ErrFinding) {
			t.Errorf("%s: %v from %v, want a fatal %s finding", tc.name, f, err, tc.clause)
		}
	}
	if _, err := frame.NewReader(bytes.NewReader(nil)).ReadFrame(); finding.ReadError(err) != nil {
		t.Errorf("a clean end of the stream is a finding")
	}
}

func TestPayload(t *testing.T) {
	good, _ := codec.Dumps(codec.Tuple{codec.Int(1), codec.Str("x")})
	if v, f := finding.Payload(spec.MsgChannelData, 3, good); f != nil || !codec.Identical(v, codec.Tuple{codec.Int(1), codec.Str("x")}) {
		t.Errorf("good payload: %v, %v", v, f)
	}
	if v, f := finding.Payload(spec.MsgChannelClose, 3, []byte{0xff}); v != nil || f != nil {
		t.Errorf("CHANNEL_CLOSE's payload is ignored, got %v, %v", v, f)
	}
	f := finding.Payload
	if _, fd := f(spec.MsgChannelData, 3, []byte{0xff, 0x51}); fd == nil || fd.Clause != finding.ClauseData || fd.Fatal || !strings.Contains(fd.Error(), "ff51") ||
		!slices.Equal(fd.Also, spec.ClassClauses(spec.ClassUnknownOpcode)) {
		t.Errorf("undecodable CHANNEL_DATA: %v (also %v)", fd, fd.Also)
	}
	for _, code := range []spec.MsgCode{spec.MsgChannelExec, spec.MsgReconfigure, spec.MsgChannelCloseError} {
		if _, fd := f(code, 3, []byte{0xff, 0x51}); fd == nil || fd.Clause != finding.ClausePayload || fd.Fatal {
			t.Errorf("undecodable %s: %v", code, fd)
		}
	}
	// Two values: the first decodes, the bytes after STOP are the
	// sender's fault (SER-WIRE-2) although a decoder ignores them.
	two := append(append([]byte(nil), good...), good...)
	if v, fd := f(spec.MsgChannelData, 3, two); fd == nil || fd.Clause != finding.ClauseTrailing || fd.Fatal || v == nil ||
		!slices.Equal(fd.Also, []string{finding.ClauseData}) || !strings.Contains(fd.Error(), "bytes after STOP") {
		t.Errorf("bytes after STOP: %v, %v", v, fd)
	}
	d := finding.Decode(spec.MsgChannelData, 3, mustDumps(t, codec.List{codec.ChannelRef(4), codec.ChannelRef(6)}))
	if d.Finding != nil || !slices.Equal(d.Refs, []int32{4, 6}) {
		t.Errorf("references: %v, %v", d.Refs, d.Finding)
	}
	// [[[...]]] nested 1001 deep, one over the decoder's depth limit:
	// NEWLIST 1, INT 0 per level, then None, then SETITEM per level.
	var deep []byte
	for range 1001 {
		deep = append(deep, 0x4b, 0, 0, 0, 1, 0x46, 0, 0, 0, 0)
	}
	deep = append(deep, 0x4c)
	deep = append(deep, bytes.Repeat([]byte{0x50}, 1001)...)
	deep = append(deep, 0x51)
	if _, err := codec.Loads(deep); !errors.Is(err, codec.ErrLimit) {
		t.Fatalf("test bug: the deep payload gives %v, want a limit error", err)
	}
	if _, fd := f(spec.MsgChannelData, 3, deep); fd != nil {
		t.Errorf("a payload over the reader's own limits is not a finding: %v", fd)
	}
	if d := finding.Decode(spec.MsgChannelData, 3, deep); !d.Limited || d.Finding != nil {
		t.Errorf("a payload over the reader's own limits: %+v", d)
	}
}

func mustDumps(t *testing.T, v codec.Value) []byte {
	t.Helper()
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
