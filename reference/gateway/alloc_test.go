package gateway

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// sinkConn discards writes; reads block until Close.
type sinkConn struct {
	once   sync.Once
	closed chan struct{}
	n      int
}

func newSinkConn() *sinkConn                    { return &sinkConn{closed: make(chan struct{})} }
func (c *sinkConn) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
func (c *sinkConn) Read([]byte) (int, error)    { <-c.closed; return 0, io.EOF }
func (c *sinkConn) CloseWrite() error           { return nil }
func (c *sinkConn) Close() error                { c.once.Do(func() { close(c.closed) }); return nil }
func (c *sinkConn) Process() transport.Process  { return nil }

// Sending a bytes item costs a small constant number of allocations,
// whatever its size: the frame is encoded into a pooled buffer.
func TestSendAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	c := newSinkConn()
	g := New(c, Master)
	defer func() {
		c.Close()
		<-g.Done()
	}()
	ch := g.NewChannel()
	ctx := context.Background()
	for _, size := range []int{16, 4096, 256 << 10} {
		item := codec.Value(codec.Bytes(make([]byte, size)))
		ch.Send(ctx, item) // warm the pool
		allocs := testing.AllocsPerRun(200, func() {
			if err := ch.Send(ctx, item); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("Send of %d bytes: %.1f allocations, want at most 1", size, allocs)
		}
	}
}
