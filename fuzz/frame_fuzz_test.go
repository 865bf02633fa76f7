package fuzz

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// frameSeeds are real frames captured from execnet (see
// /work/shared/execnet-facts.md), plus broken ones.
var frameSeeds = []string{
	"",
	"000000000300000000",             // STATUS request
	"040000000100000006460000002951", // CHANNEL_DATA 41
	"0500000001000000000700000002" + "00000000",              // CLOSE then LAST_MESSAGE
	"06 0000000d 0000000e 4e000000086d79206572726f7251",      // CLOSE_ERROR "my error"
	"010000000000000008434340000000025102000000000000000000", // RECONFIGURE, TERMINATE
	"04000000010000",         // short header
	"04000000017fffffff00",   // huge declared length, one byte of data
	"0400000001ffffffff",     // negative length
	"09000000000000000051",   // unknown code with a 1-byte payload
	"ff80000000000000024c51", // negative code and channel
}

func FuzzFrameReader(f *testing.F) {
	for _, s := range frameSeeds {
		f.Add(mustHex(f, s))
	}
	// Golden codec vectors as CHANNEL_DATA payloads, two frames per seed.
	plain, _ := seedVectors(f)
	for i, b := range plain {
		if i%8 != 0 {
			continue
		}
		stream := frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: int32(i), Payload: b})
		f.Add(frame.Append(stream, frame.Frame{Code: spec.MsgChannelClose, Channel: int32(i)}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFrameStream(t, data, 0)
		checkFrameStream(t, data, 64)
	})
}

// checkFrameStream reads frames from data until an error and checks that
// the reader neither panics nor invents bytes: re-encoding the frames it
// returned reproduces the input up to the point where it stopped, and the
// only errors are io.EOF at a frame boundary or a *frame.Error.
func checkFrameStream(t *testing.T, data []byte, maxPayload int) {
	t.Helper()
	r := frame.NewReader(bytes.NewReader(data))
	r.MaxPayload = maxPayload
	var again []byte
	for n := 0; ; n++ {
		if n > len(data) {
			t.Fatalf("read %d frames from %d bytes", n, len(data))
		}
		fr, err := r.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) && !errors.As(err, new(*frame.Error)) {
				if int(r.Offset()) != len(data) {
					t.Fatalf("io.EOF at offset %d of %d", r.Offset(), len(data))
				}
				if !bytes.Equal(again, data) {
					t.Fatalf("frames re-encode to %x, input %x", again, data)
				}
				return
			}
			var fe *frame.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is neither io.EOF nor *frame.Error", err, err)
			}
			if fe.Err == nil || fe.Error() == "" {
				t.Fatalf("frame.Error without cause: %#v", fe)
			}
			if !bytes.HasPrefix(data, again) {
				t.Fatalf("frames before the error re-encode to %x, not a prefix of %x", again, data)
			}
			if int(r.Offset()) > len(data) {
				t.Fatalf("offset %d past input length %d", r.Offset(), len(data))
			}
			switch {
			case errors.Is(err, frame.ErrShortHeader), errors.Is(err, frame.ErrShortPayload),
				errors.Is(err, frame.ErrNegativeLength), errors.Is(err, frame.ErrTooLarge):
			default:
				t.Fatalf("unexpected frame error class: %v", err)
			}
			return
		}
		if len(fr.Payload) > len(data) {
			t.Fatalf("payload of %d bytes from %d bytes of input", len(fr.Payload), len(data))
		}
		if maxPayload > 0 && len(fr.Payload) > maxPayload {
			t.Fatalf("payload of %d bytes over MaxPayload %d", len(fr.Payload), maxPayload)
		}
		again = frame.Append(again, fr)
		if len(again) != int(r.Offset()) {
			t.Fatalf("offset %d but frames so far re-encode to %d bytes", r.Offset(), len(again))
		}
		if len(again) < spec.HeaderSize*(n+1) {
			t.Fatalf("frame %d shorter than a header", n)
		}
	}
}
