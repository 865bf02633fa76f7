package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/spec"
)

func TestAppendMatchesExecnetBytes(t *testing.T) {
	// Frames captured from execnet 1.9 (SPEC.md 7.5).
	for _, tc := range []struct {
		f    Frame
		want string
	}{
		{Frame{Code: spec.MsgChannelData, Channel: 1, Payload: []byte{0x46, 0, 0, 0, 0x29, 0x51}}, "040000000100000006460000002951"},
		{Frame{Code: spec.MsgChannelClose, Channel: 1}, "050000000100000000"},
		{Frame{Code: spec.MsgGatewayTerminate}, "020000000000000000"},
		{Frame{Code: spec.MsgStatus, Channel: 3}, "000000000300000000"},
		{Frame{Code: spec.MsgChannelLastMessage, Channel: 2}, "070000000200000000"},
	} {
		if got := hex.EncodeToString(Append(nil, tc.f)); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.f, got, tc.want)
		}
		var buf bytes.Buffer
		if err := Write(&buf, tc.f); err != nil {
			t.Fatal(err)
		}
		back, err := NewReader(&buf).ReadFrame()
		if err != nil || back.Code != tc.f.Code || back.Channel != tc.f.Channel || !bytes.Equal(back.Payload, tc.f.Payload) {
			t.Errorf("read back %v %v, want %v", back, err, tc.f)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		max       int
		want      error
	}{
		{"clean-eof", "", 0, io.EOF},
		{"short-header", "0400000001", 0, ErrShortHeader},
		{"negative-length", "04000000" + "01" + "ffffffff", 0, ErrNegativeLength},
		{"short-payload", "04000000010000000a4c", 0, ErrShortPayload},
		{"huge-length-no-data", "04000000017fffffff", 0, ErrShortPayload},
		{"over-limit", "040000000100000010", 8, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			r := NewReader(bytes.NewReader(b))
			r.MaxPayload = tc.max
			_, err := r.ReadFrame()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var fe *Error
			if tc.want != io.EOF && (!errors.As(err, &fe) || fe.Offset != 0) {
				t.Fatalf("want *frame.Error at offset 0, got %T %v", err, err)
			}
		})
	}
}

func TestReaderOffsetsAndSequence(t *testing.T) {
	var buf bytes.Buffer
	frames := []Frame{{Code: spec.MsgChannelData, Channel: 5, Payload: []byte("LQ")}, {Code: spec.MsgChannelClose, Channel: 5}}
	for _, f := range frames {
		buf.Write(Append(nil, f))
	}
	buf.WriteString("\x04\x00") // a truncated third header
	r := NewReader(&buf)
	for i := range frames {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	_, err := r.ReadFrame()
	var fe *Error
	if !errors.As(err, &fe) || fe.Offset != 20 || fe.HeaderLen != 2 || !strings.Contains(err.Error(), "offset 20") {
		t.Fatalf("got %v", err)
	}
}
