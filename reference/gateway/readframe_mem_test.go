package gateway

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestPartialHugeFrameCostsWhatCame: a frame that declares 2^31-1 bytes
// and stops after 64 MiB must cost about the 64 MiB that came. Before
// the fix the payload buffer grew by doubling from 16 MiB, allocating
// 240 MiB (3.75 times what came) for 64 MiB.
func TestPartialHugeFrameCostsWhatCame(t *testing.T) {
	const sent = 64 << 20
	hdr := frame.AppendHeader(nil, spec.MsgChannelData, 1, math.MaxInt32)
	in := io.MultiReader(bytes.NewReader(hdr), io.LimitReader(zeros{}, sent))
	fr := newFrameReader(in, 0)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, _, err := fr.next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, frame.ErrShortPayload) {
		t.Fatalf("next = %v, want ErrShortPayload", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB allocated for %d MiB sent (%.2fx)", alloc>>20, sent>>20, float64(alloc)/sent)
	// What came, one piece allocated ahead, the stream buffer.
	if limit := uint64(sent + freshExact + readBufSize); alloc > limit {
		t.Fatalf("reading a cut frame allocated %d bytes for %d sent (%.2fx); want at most %d", alloc, sent, float64(alloc)/sent, limit)
	}
}

// TestLargeFrameInPieces: a payload over freshExact, read in pieces and
// joined, comes out whole and in order, from the stream buffer and the
// connection both.
func TestLargeFrameInPieces(t *testing.T) {
	n := freshExact*2 + 12345
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	payload[0] = 'X' // not a bytes value: the plain payload path
	var in bytes.Buffer
	in.Write(frame.AppendHeader(nil, spec.MsgChannelData, 3, n))
	in.Write(payload)
	in.Write(frame.AppendHeader(nil, spec.MsgChannelClose, 3, 0))
	fr := newFrameReader(&in, 0)
	f, _, fresh, err := fr.next()
	if err != nil || !fresh || f.Channel != 3 || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("next = ch %d, %d bytes (fresh %v), %v; want the %d-byte payload", f.Channel, len(f.Payload), fresh, err, n)
	}
	if f, _, _, err = fr.next(); err != nil || f.Code != spec.MsgChannelClose {
		t.Fatalf("frame after the large one = %v, %v", f, err)
	}
}
