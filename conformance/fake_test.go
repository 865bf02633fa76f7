package conformance

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// This file holds an in-process stand-in for a target, used only to test
// the runner's own bookkeeping (timeouts, crashes, restarts). Tests against
// real execnet live in runner_peer_test.go.

// pipeConn is a transport.Conn over a net.Pipe, with no process.
type pipeConn struct {
	net.Conn
}

func (c pipeConn) CloseWrite() error { return c.Conn.Close() }

func (c pipeConn) Process() transport.Process { return nil }

// fakeTarget answers STATUS with an empty dict and echoes CHANNEL_DATA;
// message code 100 makes it drop the connection, code 101 makes it read
// on but never answer, code 103 makes it stop reading until the test ends;
// codes 104, 105 and 106 make it write an oversized header, a negative
// length or text, and then hang.
type fakeTarget struct {
	opens atomic.Int32
	wg    sync.WaitGroup
	quit  chan struct{}
	// statusDelay delays each STATUS reply (a slow target).
	statusDelay time.Duration
}

func newFakeTarget(t *testing.T) *fakeTarget {
	ft := &fakeTarget{quit: make(chan struct{})}
	t.Cleanup(func() {
		close(ft.quit)
		ft.wg.Wait()
	})
	return ft
}

func (ft *fakeTarget) open(ctx context.Context) (transport.Conn, error) {
	ft.opens.Add(1)
	a, b := net.Pipe()
	ft.wg.Add(1)
	go func() {
		defer ft.wg.Done()
		defer b.Close()
		ft.serve(b)
	}()
	return pipeConn{a}, nil
}

func (ft *fakeTarget) serve(c net.Conn) {
	r := frame.NewReader(c)
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return
		}
		switch f.Code {
		case spec.MsgStatus:
			time.Sleep(ft.statusDelay)
			// {} is 4a 51
			if frame.Write(c, frame.Frame{Code: spec.MsgChannelData, Channel: f.Channel, Payload: []byte{0x4a, 0x51}}) != nil {
				return
			}
			if frame.Write(c, frame.Frame{Code: spec.MsgChannelClose, Channel: f.Channel}) != nil {
				return
			}
		case spec.MsgChannelExec:
			// 'no' as a serialized str: 4e 00000002 6e6f 51
			msg := []byte{0x4e, 0, 0, 0, 2, 'n', 'o', 0x51}
			if frame.Write(c, frame.Frame{Code: spec.MsgChannelCloseError, Channel: f.Channel, Payload: msg}) != nil {
				return
			}
		case spec.MsgChannelData:
			if frame.Write(c, f) != nil {
				return
			}
		case 100:
			return
		case 101:
			_, _ = io.Copy(io.Discard, c)
			return
		case 103:
			<-ft.quit
			return
		case 104:
			// A header declaring a 1 GiB payload, then nothing.
			_, _ = c.Write([]byte{byte(spec.MsgChannelData), 0, 0, 0, 1, 0x40, 0, 0, 0})
			<-ft.quit
			return
		case 105:
			// A header declaring a negative length, then nothing.
			_, _ = c.Write([]byte{byte(spec.MsgChannelData), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe})
			<-ft.quit
			return
		case 106:
			// Text on the stream, then nothing.
			_, _ = c.Write([]byte("Traceback (most recent call last):\n"))
			<-ft.quit
			return
		}
	}
}

// int32Payload is an INT opcode value: 46 xxxxxxxx 51.
func int32Payload(n int32) []byte {
	b := []byte{0x46, 0, 0, 0, 0, 0x51}
	binary.BigEndian.PutUint32(b[1:5], uint32(n))
	return b
}
