package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// fixedConn serves a fixed byte stream, then EOF. Its first Read waits
// until start is closed, so that a test can open its channels before the
// gateway's receiver sees frames for them (a frame for a channel not yet
// open is dropped).
type fixedConn struct {
	*feedConn
	r     *bytes.Reader
	start chan struct{}
}

func newFixedConn(stream []byte) fixedConn {
	return fixedConn{newFeedConn(nil), bytes.NewReader(stream), make(chan struct{})}
}

func (c fixedConn) Read(p []byte) (int, error) {
	select {
	case <-c.start:
	case <-c.done:
		return 0, io.EOF
	}
	return c.r.Read(p)
}

func dataFrame(t *testing.T, id int32, payload []byte) []byte {
	t.Helper()
	return frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: id, Payload: payload})
}

func bulkItem(size int, seed byte) codec.Bytes {
	b := make([]byte, size)
	for i := range b {
		b[i] = seed + byte(i%251)
	}
	return b
}

// Large bytes items are read straight into buffers of their own; a
// recycled buffer carries a later item of a similar size, and the items
// arrive intact and in order.
func TestRecycleReusesBulkBuffers(t *testing.T) {
	var stream []byte
	items := []codec.Bytes{bulkItem(64<<10, 1), bulkItem(64<<10, 2), bulkItem(60<<10, 3), bulkItem(1<<20, 4), bulkItem(100, 5)}
	for _, it := range items {
		p, err := codec.Dumps(it)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, dataFrame(t, 1, p)...)
	}
	c := newFeedConn(stream)
	g := New(c, Master)
	defer func() { c.Close(); <-g.Done() }()
	ch := g.NewChannel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c.grant <- 1 // the whole stream, once
	var got []codec.Bytes
	for range items {
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v.(codec.Bytes))
	}
	for i := range items {
		if !bytes.Equal(got[i], items[i]) {
			t.Fatalf("item %d: %d bytes, not the %d sent", i, len(got[i]), len(items[i]))
		}
	}

	// Recycle the 64 KiB item; the next 60 KiB item read must use it.
	first := &got[0][:1][0]
	g.Recycle(got[0])
	g.Recycle(codec.Str("ignored"))
	g.Recycle(codec.Bytes(nil))
	p, _ := codec.Dumps(items[2])
	c2 := newFeedConn(dataFrame(t, 1, p))
	fr := newFrameReader(c2, 0)
	fr.bufs = &g.rbufs
	c2.grant <- 1
	if _, _, _, err := fr.next(); err != nil {
		t.Fatal(err)
	}
	if fr.blob == nil {
		t.Fatal("a 60 KiB bytes item was not read as a blob")
	}
	if &fr.blob[0] != first {
		t.Error("the recycled buffer was not reused for an item of similar size")
	}
	if !bytes.Equal(fr.blob, items[2]) {
		t.Error("the item read into a recycled buffer is corrupt")
	}
	// A buffer more than twice the item's size is not handed out.
	g.Recycle(got[3]) // 1 MiB
	if b := g.rbufs.get(40 << 10); cap(b) >= 1<<20 {
		t.Error("a 1 MiB buffer was handed out for a 40 KiB item")
	}
}

// A large payload that looks like one bytes value but does not end with
// STOP, or ends early, fails exactly as the decoder and frame reader
// report any bad frame.
func TestBulkFrameErrors(t *testing.T) {
	for _, size := range []int{64 << 10, 1 << 20} {
		testBulkFrameErrors(t, size)
	}
}

func testBulkFrameErrors(t *testing.T, size int) {
	good, err := codec.Dumps(bulkItem(size, 7))
	if err != nil {
		t.Fatal(err)
	}
	noStop := append([]byte(nil), good...)
	noStop[len(noStop)-1] = byte(spec.OpNone)
	run := func(stream []byte) error {
		c := newFixedConn(stream)
		g := New(c, Master)
		ch := g.NewChannel()
		close(c.start)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := ch.Receive(ctx)
		c.Close()
		<-g.Done()
		return err
	}
	err = run(dataFrame(t, 1, noStop))
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("%d bytes, payload without STOP: %v, want a ProtocolError", size, err)
	}
	if pe.Offset != 0 || len(pe.Header) != spec.HeaderSize {
		t.Errorf("%d bytes, payload without STOP: offset %d, header % x", size, pe.Offset, pe.Header)
	}
	short := dataFrame(t, 1, good)
	err = run(short[:len(short)-1000])
	var fe *frame.Error
	if !errors.As(err, &fe) || !errors.Is(fe.Err, frame.ErrShortPayload) {
		t.Fatalf("%d bytes, short payload: %v, want frame.ErrShortPayload", size, err)
	}
}

// With Recycle, receiving a 1 MiB item allocates a small constant, not
// the item's size.
func TestRecycleBoundsBulkAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	p, err := codec.Dumps(bulkItem(1<<20, 9))
	if err != nil {
		t.Fatal(err)
	}
	c := newFeedConn(dataFrame(t, 1, p))
	g := New(c, Master)
	defer func() { c.Close(); <-g.Done() }()
	ch := g.NewChannel()
	ctx := context.Background()
	recv := func() {
		c.grant <- 1
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g.Recycle(v)
	}
	recv()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 50
	for i := 0; i < n; i++ {
		recv()
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d bytes allocated per recycled 1 MiB item", per)
	if per > 64<<10 {
		t.Errorf("%d bytes allocated per recycled 1 MiB item, want well under its size", per)
	}
}

// When the item size changes, buffers of the new size displace the old
// ones even once the free list is full of them.
func TestRecycleAdaptsToNewSize(t *testing.T) {
	var p bufFree
	for i := 0; i < 2*recycleSlots; i++ {
		p.put(make([]byte, 64<<10))
	}
	if len(p.free) != recycleSlots || p.bytes != recycleSlots*(64<<10) {
		t.Fatalf("free list holds %d buffers, %d bytes; want %d of 64 KiB", len(p.free), p.bytes, recycleSlots)
	}
	big := make([]byte, 1<<20)
	p.put(big)
	if b := p.get(1 << 20); &b[0] != &big[0] {
		t.Fatal("a 1 MiB buffer recycled into a full list of 64 KiB ones was not kept")
	}
	for i := 0; i < 40; i++ {
		p.put(make([]byte, 1<<20))
	}
	if p.bytes > recycleBudget || len(p.free) > recycleSlots {
		t.Fatalf("free list holds %d buffers, %d bytes; over its bounds", len(p.free), p.bytes)
	}
	sum := 0
	for _, b := range p.free {
		sum += cap(b)
	}
	if sum != p.bytes {
		t.Fatalf("byte count %d, buffers hold %d", p.bytes, sum)
	}
}

// Frames of every size class follow each other intact: large items read
// around the stream buffer, a large payload that is not one bytes value,
// and small frames right after large ones.
func TestMixedFrameSizes(t *testing.T) {
	big := bulkItem(1<<20, 11)
	text := codec.Str(strings.Repeat("é", 150<<10)) // 300 KiB of UTF-8
	list := codec.List{codec.Int(1), bulkItem(400<<10, 12)}
	values := []codec.Value{big, codec.Int(7), big, text, codec.Bytes("x"), list, bulkItem(40<<10, 13), big, codec.None{}}
	var stream []byte
	for _, v := range values {
		p, err := codec.Dumps(v)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, dataFrame(t, 1, p)...)
	}
	for _, chunk := range []int{len(stream), 4096, 65536 + 3} {
		c := newFixedConn(stream)
		var conn = &chunkConn{fixedConn: c, max: chunk}
		g := New(conn, Master)
		ch := g.NewChannel()
		close(c.start)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for i, want := range values {
			v, err := ch.Receive(ctx)
			if err != nil {
				t.Fatalf("reads of %d bytes, item %d: %v", chunk, i, err)
			}
			if !codec.Identical(v, want) {
				t.Fatalf("reads of %d bytes, item %d: got %.60s", chunk, i, codec.Repr(v))
			}
		}
		cancel()
		c.Close()
		<-g.Done()
	}
}

// chunkConn returns at most max bytes per Read, as a pipe does.
type chunkConn struct {
	fixedConn
	max int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(p) > c.max {
		p = p[:c.max]
	}
	return c.fixedConn.Read(p)
}

// An item beyond freshExact is read in pieces and joined, unless a buffer
// of about its size was recycled: then it is read straight into that
// buffer, intact; a short frame still fails as any short frame.
func TestRecycleLargeItems(t *testing.T) {
	size := freshExact + 1<<20
	items := []codec.Bytes{bulkItem(size, 1), bulkItem(size-1000, 2)}
	var stream []byte
	for _, it := range items {
		p, err := codec.Dumps(it)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, dataFrame(t, 1, p)...)
	}
	var g Gateway
	read := func(stream []byte) (*frameReader, error) {
		c := newFixedConn(stream)
		close(c.start)
		fr := newFrameReader(c, 0)
		fr.bufs = &g.rbufs
		_, _, _, err := fr.next()
		return fr, err
	}
	fr, err := read(stream)
	if err != nil {
		t.Fatal(err)
	}
	if fr.blob != nil {
		t.Fatal("an item beyond freshExact was read into a buffer nobody recycled")
	}
	first := items[0]
	g.Recycle(first)
	fr, err = read(stream[len(stream)-(len(items[1])+6+spec.HeaderSize):])
	if err != nil {
		t.Fatal(err)
	}
	if fr.blob == nil || &fr.blob[0] != &first[0] {
		t.Fatal("the recycled large buffer was not reused for an item of similar size")
	}
	if !bytes.Equal(fr.blob, items[1]) {
		t.Fatal("the item read into a recycled large buffer is corrupt")
	}
	g.Recycle(codec.Bytes(fr.blob))
	noStop := append([]byte(nil), stream[:len(stream)-(len(items[1])+6+spec.HeaderSize)]...)
	noStop[len(noStop)-1] = byte(spec.OpNone)
	c := newFixedConn(noStop)
	close(c.start)
	fr = newFrameReader(c, 0)
	fr.bufs = &g.rbufs
	f, _, _, err := fr.next()
	if err != nil || fr.blob != nil || len(f.Payload) != len(noStop)-spec.HeaderSize || f.Payload[len(f.Payload)-1] != byte(spec.OpNone) {
		t.Fatalf("a large item not closed by STOP: err %v, blob %v, payload of %d bytes; want the whole payload for the decoder", err, fr.blob != nil, len(f.Payload))
	}
	g.Recycle(items[0])
	short := stream[:len(stream)/4]
	if _, err := read(short); !errors.Is(err, frame.ErrShortPayload) {
		t.Fatalf("a short large frame into a recycled buffer: %v, want frame.ErrShortPayload", err)
	}
	for range 2 * recycleLargeSlots {
		g.Recycle(codec.Bytes(make([]byte, size)))
	}
	if n := len(g.rbufs.large); n > recycleLargeSlots || g.rbufs.largeBytes > recycleLargeBudget {
		t.Fatalf("%d large buffers of %d bytes kept, over the bounds", n, g.rbufs.largeBytes)
	}
}
