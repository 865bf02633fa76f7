package gateway

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// feedConn serves one encoded frame over and over, as many times as the
// test grants, so that the receive path can be measured on its own.
type feedConn struct {
	frame []byte
	grant chan int
	done  chan struct{}
	once  sync.Once

	left int // frames granted and not yet served (reader goroutine only)
	off  int // position in the frame being served
}

func newFeedConn(f []byte) *feedConn {
	return &feedConn{frame: f, grant: make(chan int, 1), done: make(chan struct{})}
}

func (c *feedConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		select {
		case n := <-c.grant:
			c.left = n
		case <-c.done:
			return 0, io.EOF
		}
	}
	n := 0
	for n < len(p) && c.left > 0 {
		k := copy(p[n:], c.frame[c.off:])
		n += k
		c.off += k
		if c.off == len(c.frame) {
			c.off = 0
			c.left--
		}
	}
	return n, nil
}

func (c *feedConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *feedConn) CloseWrite() error           { return nil }
func (c *feedConn) Close() error                { c.once.Do(func() { close(c.done) }); return nil }
func (c *feedConn) Process() transport.Process  { return nil }

// Receiving a bytes item costs a small constant number of allocations,
// whatever its size: small payloads are decoded from the stream buffer,
// large ones are read into one buffer that the value then shares.
func TestReceiveAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, size := range []int{16, 4096, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("bytes=%d", size), func(t *testing.T) {
			payload, err := codec.Dumps(codec.Bytes(make([]byte, size)))
			if err != nil {
				t.Fatal(err)
			}
			c := newFeedConn(frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: payload}))
			g := New(c, Master)
			defer func() {
				c.Close()
				<-g.Done()
			}()
			ch := g.NewChannel() // id 1
			ctx := context.Background()
			recv := func() {
				c.grant <- 1
				v, err := ch.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if b, ok := v.(codec.Bytes); !ok || len(b) != size {
					t.Fatalf("received %s", codec.Repr(v))
				}
			}
			recv() // warm the pools and buffers
			allocs := testing.AllocsPerRun(100, recv)
			t.Logf("%d-byte item: %.1f allocations", size, allocs)
			if allocs > 4 {
				t.Errorf("Receive of a %d-byte item: %.1f allocations, want at most 4", size, allocs)
			}
		})
	}
}
