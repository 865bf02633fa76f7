package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// newZCConn is a connection over two pipes that takes the zero-copy
// paths (transport.NewPipeConn).
func newZCConn(t testing.TB, r, w *os.File) transport.Conn {
	t.Helper()
	c, err := transport.NewPipeConn(r, w)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func skipNoZeroCopy(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("zero-copy file paths exist on Linux only")
	}
}

// tempContent writes n bytes of pseudo-random content to a new file.
func tempContent(t *testing.T, n int, seed uint64) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("content-%d", seed))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

// bytesFrame is the frame Send(codec.Bytes(data)) writes on channel id.
func bytesFrame(t *testing.T, id int32, data []byte) []byte {
	t.Helper()
	p, err := codec.Dumps(codec.Bytes(data))
	if err != nil {
		t.Fatal(err)
	}
	return append(frame.AppendHeader(nil, spec.MsgChannelData, id, len(p)), p...)
}

// TestSendFileFrame checks that SendFile writes the frame Send writes for
// the same bytes, from the file itself where the connection allows it
// (the zero-copy count says so) and through memory where it does not.
func TestSendFileFrame(t *testing.T) {
	skipNoZeroCopy(t)
	f, data := tempContent(t, 1<<20+3, 1)
	for _, tc := range []struct {
		name     string
		zc       bool
		off, n   int64
		wantSent int64
	}{
		{"spliced", true, 0, int64(len(data)), int64(len(data))},
		{"spliced-offset", true, 100, int64(len(data)) - 200, int64(len(data)) - 200},
		{"small", true, 10, 1000, 0},
		{"plain-conn", false, 0, int64(len(data)), 0},
		// The connection offers FileSender but refuses this file: the
		// frame's body goes through memory instead.
		{"refused", true, 0, int64(len(data)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r1, w1, err := os.Pipe() // the master writes w1
			if err != nil {
				t.Fatal(err)
			}
			r2, w2, err := os.Pipe() // and reads r2
			if err != nil {
				t.Fatal(err)
			}
			defer r1.Close()
			var conn transport.Conn = &pipeConn{r: r2, w: w1}
			if tc.zc {
				conn = newZCConn(t, r2, w1)
			}
			if tc.name == "refused" {
				conn = refusingConn{conn}
			}
			g := New(conn, Master)
			defer func() { w2.Close(); conn.Close(); <-g.Done() }()
			ch := g.NewChannel()
			want := bytesFrame(t, ch.ID(), data[tc.off:tc.off+tc.n])
			got := make([]byte, len(want))
			errc := make(chan error, 1)
			go func() { errc <- ch.SendFile(ctxT(t), f, tc.off, tc.n) }()
			if _, err := io.ReadFull(r1, got); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("SendFile wrote a frame that differs from Send's (%d bytes)", len(want))
			}
			if tc.name == "refused" && !g.CanSendFile() {
				t.Fatal("a connection with SendFile: CanSendFile is false, so the refusal was not tried")
			}
			if sent, _ := g.ZeroCopyStats(); sent != tc.wantSent {
				t.Errorf("bytes sent from the file: %d, want %d", sent, tc.wantSent)
			}
		})
	}
}

// TestSendFileShortFile: a file shorter than the size given fails before
// anything is written on the read path, and with ErrFileChanged and a
// closed connection once the frame has begun on the zero-copy path.
func TestSendFileShortFile(t *testing.T) {
	skipNoZeroCopy(t)
	f, data := tempContent(t, 1<<20, 2)
	for _, zc := range []bool{false, true} {
		t.Run(fmt.Sprint("zc=", zc), func(t *testing.T) {
			r1, w1, _ := os.Pipe()
			r2, w2, _ := os.Pipe()
			defer r1.Close()
			var conn transport.Conn = &pipeConn{r: r2, w: w1}
			if zc {
				conn = newZCConn(t, r2, w1)
			}
			g := New(conn, Master)
			defer func() { w2.Close(); conn.Close(); <-g.Done() }()
			ch := g.NewChannel()
			errc := make(chan error, 1)
			go func() { errc <- ch.SendFile(ctxT(t), f, 0, int64(len(data))+10) }()
			if !zc {
				err := <-errc
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("SendFile: %v, want io.ErrUnexpectedEOF", err)
				}
				// Nothing was written: the next frame comes first.
				if err := ch.Send(ctxT(t), codec.Int(7)); err != nil {
					t.Fatal(err)
				}
				want := append(frame.AppendHeader(nil, spec.MsgChannelData, ch.ID(), 6), mustDumps(t, codec.Int(7))...)
				got := make([]byte, len(want))
				if _, err := io.ReadFull(r1, got); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("next frame: %x, %v; want %x", got, err, want)
				}
				return
			}
			gotc := make(chan []byte, 1)
			go func() { // the prefix and the content, then the end
				b, _ := io.ReadAll(r1)
				gotc <- b
			}()
			var err error
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				err = errors.New("SendFile did not return")
			}
			if !errors.Is(err, ErrFileChanged) {
				conn.Close() // ends the reading goroutine
				<-gotc
				t.Fatalf("SendFile: %v, want ErrFileChanged", err)
			}
			got := <-gotc
			if len(got) != 14+len(data) {
				t.Fatalf("%d bytes written, want the prefix and the file (%d)", len(got), 14+len(data))
			}
			if err := ch.Send(ctxT(t), codec.Int(7)); err == nil {
				t.Fatal("a frame was sent after the broken one")
			}
		})
	}
}

func mustDumps(t *testing.T, v codec.Value) []byte {
	t.Helper()
	p, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// zcPair is two gateways over pipes with the zero-copy paths (newPair's
// worker runs exec).
func zcPair(t *testing.T, exec ExecutorFunc) *pair {
	t.Helper()
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	mc, wc := newZCConn(t, r2, w1), newZCConn(t, r1, w2)
	p := &pair{serveErr: make(chan error, 1)}
	p.w = New(wc, Worker, WithExecutor(exec), WithExecGrace(time.Second))
	p.m = New(mc, Master, WithExitGrace(time.Second))
	go func() { p.serveErr <- p.w.Serve(context.Background()) }()
	t.Cleanup(func() {
		p.m.Exit(context.Background())
		select {
		case <-p.serveErr:
		case <-time.After(10 * time.Second):
			t.Error("worker Serve did not return")
		}
		wc.Close()
		mc.Close()
	})
	return p
}

// TestExpectFiles sends items against expectations that fit and that do
// not: only a bytes item of the expected size, at its place among the
// channel's items, on its channel, goes to its file; everything else
// arrives as usual, and a file that cannot be opened leaves the item to
// the usual path.
func TestExpectFiles(t *testing.T) {
	skipNoZeroCopy(t)
	const n = 300 << 10
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	open := func(name string) func() (*os.File, error) {
		return func() (*os.File, error) { return os.Create(path(name)) }
	}
	p := zcPair(t, func(ctx context.Context, ch *Channel, e Exec) error {
		if e.Source == "plain" { // report the kind of one item
			v, err := ch.Receive(ctx)
			if err != nil {
				return err
			}
			return ch.Send(ctx, codec.Str(fmt.Sprintf("%T", v)))
		}
		ch.ExpectFiles([]FileSink{
			{Size: n, Open: open("a")},     // gets None
			{Size: n, Open: open("b")},     // gets bytes of n: written
			{Size: n, Open: open("c")},     // gets n+1 bytes
			{Size: n + 6, Open: open("d")}, // gets a str
			{Size: n, Open: func() (*os.File, error) { return nil, os.ErrPermission }},
			{},                         // nothing expected
			{Size: n, Open: open("g")}, // gets bytes of n: written
		})
		if err := ch.Send(ctx, codec.Str("ready")); err != nil {
			return err
		}
		var kinds codec.List
		for range 7 {
			v, err := ch.Receive(ctx)
			if err != nil {
				return err
			}
			s := fmt.Sprintf("%T", v)
			if fi, ok := v.(*FileItem); ok {
				s += fmt.Sprintf(" %d %v", fi.Size, fi.Err)
			}
			kinds = append(kinds, codec.Str(s))
		}
		return ch.Send(ctx, kinds)
	})
	ctx := ctxT(t)
	ch, err := p.m.RemoteExec(ctx, Exec{Source: "files"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := p.m.RemoteExec(ctx, Exec{Source: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ch.Receive(ctx); err != nil || v != codec.Str("ready") {
		t.Fatalf("ready: %v, %v", v, err)
	}
	content := func(seed byte, k int) []byte { return bytes.Repeat([]byte{seed, seed + 1, 0xff}, k/3+1)[:k] }
	if err := other.Send(ctx, codec.Bytes(content(9, n))); err != nil { // another channel
		t.Fatal(err)
	}
	for _, v := range []codec.Value{
		codec.None{},
		codec.Bytes(content(2, n)),
		codec.Bytes(content(3, n+1)),
		codec.Str(bytes.Repeat([]byte("s"), n)),
		codec.Bytes(content(5, n)),
		codec.Bytes(content(6, n)),
		codec.Bytes(content(7, n)),
	} {
		if err := ch.Send(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ch.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(codec.List{codec.Str("codec.None"), codec.Str(fmt.Sprintf("*gateway.FileItem %d <nil>", n)),
		codec.Str("codec.Bytes"), codec.Str("codec.Str"), codec.Str("codec.Bytes"), codec.Str("codec.Bytes"),
		codec.Str(fmt.Sprintf("*gateway.FileItem %d <nil>", n))})
	if fmt.Sprint(got) != want {
		t.Errorf("items: %v\nwant %v", got, want)
	}
	if v, err := other.Receive(ctx); err != nil || v != codec.Str("codec.Bytes") {
		t.Errorf("the other channel's item: %v, %v", v, err)
	}
	for name, seed := range map[string]byte{"b": 2, "g": 7} {
		if b, err := os.ReadFile(path(name)); err != nil || !bytes.Equal(b, content(seed, n)) {
			t.Errorf("file %s: %d bytes, %v; want the item's %d bytes", name, len(b), err, n)
		}
	}
	for _, name := range []string{"a", "c", "d"} {
		if _, err := os.Stat(path(name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("file %s was opened for an item that did not fit: %v", name, err)
		}
	}
	if _, recv := p.w.ZeroCopyStats(); recv != 2*n {
		t.Errorf("bytes received into files: %d, want %d", recv, 2*n)
	}
}

// readNext runs the frame reader over data, fed through a pipe whose
// reading end can be spliced, with sink as its only expectation (if not
// nil); it returns what the first next call returned, and the reader.
func readNext(t *testing.T, data []byte, sink *FileSink) (*frameReader, frame.Frame, bool, error) {
	t.Helper()
	return readNextVia(t, data, sink, nil)
}

// readNextVia is readNext with the pipe's FileReceiver wrapped by wrap
// (if not nil).
func readNextVia(t *testing.T, data []byte, sink *FileSink, wrap func(transport.FileReceiver) transport.FileReceiver) (*frameReader, frame.Frame, bool, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	transport.GrowPipe(w, transport.PipeSize)
	go func() {
		_, _ = w.Write(data)
		w.Close()
	}()
	wf, err := transport.NewWaitFile(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wf.Close() })
	fr := newFrameReader(wf, 0)
	fr.bufs = &bufFree{}
	fr.recv = wf
	if wrap != nil {
		fr.recv = wrap(wf)
	}
	if sink != nil {
		used := false
		fr.sink = func(id int32, n int64) (FileSink, bool) {
			if used || id != 1 || n != sink.Size {
				return FileSink{}, false
			}
			used = true
			return *sink, true
		}
	}
	f, _, fresh, err := fr.next()
	return fr, f, fresh, err
}

// TestFileSinkFramesAsUsual feeds the frame reader frames cut short or
// malformed after a sink has begun, and checks that it reports exactly
// what the usual path reports for the same bytes; and that a whole item
// goes to the file with the stream intact after it.
func TestFileSinkFramesAsUsual(t *testing.T) {
	skipNoZeroCopy(t)
	const n = 1<<20 + 5
	value := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	whole := bytesFrame(t, 1, value)
	next := bytesFrame(t, 1, []byte("after"))
	badStop := append(append([]byte(nil), whole...), next...)
	badStop[len(whole)-1] = byte(spec.OpNone)
	cases := map[string][]byte{
		"whole":      append(append([]byte(nil), whole...), next...),
		"cut-value":  whole[:9+5+n/2],
		"cut-stop":   whole[:len(whole)-1],
		"not-stop":   badStop,
		"other-chan": append(bytesFrame(t, 3, value), next...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			sink := &FileSink{Size: n, Open: func() (*os.File, error) { return os.Create(path) }}
			frS, fS, freshS, errS := readNext(t, data, sink)
			frU, fU, freshU, errU := readNext(t, data, nil)
			if fmt.Sprint(errS) != fmt.Sprint(errU) || fmt.Sprintf("%T", errS) != fmt.Sprintf("%T", errU) {
				t.Fatalf("error with a sink: %v; usual: %v", errS, errU)
			}
			var fe *frame.Error
			if errors.As(errU, &fe) && !errors.Is(errS, frame.ErrShortPayload) {
				t.Fatalf("error with a sink is not ErrShortPayload: %v", errS)
			}
			if frS.off != frU.off || fS.Code != fU.Code || fS.Channel != fU.Channel {
				t.Errorf("offset/frame with a sink: %d %v; usual: %d %v", frS.off, fS, frU.off, fU)
			}
			switch name {
			case "whole":
				if frS.filed == nil || frS.filed.Size != n || frS.filed.Err != nil || frU.blob == nil {
					t.Fatalf("whole item: filed %+v, usual blob %d bytes", frS.filed, len(frU.blob))
				}
				if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, value) {
					t.Fatalf("file: %d bytes, %v", len(b), err)
				}
				// The stream goes on at the next frame.
				f2, _, _, err := frS.next()
				if err != nil || string(f2.Payload) != string(next[9:]) {
					t.Fatalf("next frame after the file: %v, %x", err, f2.Payload)
				}
			case "not-stop":
				if !freshS || !freshU || !bytes.Equal(fS.Payload, fU.Payload) || !bytes.Equal(fS.Payload, badStop[9:len(whole)]) {
					t.Fatalf("payload for the decoder differs (fresh %v %v)", freshS, freshU)
				}
			case "other-chan":
				if frS.filed != nil || frS.blob == nil {
					t.Fatal("an item of another channel went to the file")
				}
			}
			if name != "whole" && name != "other-chan" && frS.filed != nil {
				t.Fatalf("a broken frame was delivered as a file item: %+v", frS.filed)
			}
		})
	}
}

// refusingConn is a connection that offers FileSender and FileReceiver
// and refuses every file, as the system does for some files (splice(2)
// fails with EINVAL): SendFile and ReceiveFile return ErrUnsupported
// having moved nothing.
type refusingConn struct{ transport.Conn }

func (refusingConn) SendFile(*os.File, int64, int64) (int64, error) {
	return 0, fmt.Errorf("test: file refused: %w", errors.ErrUnsupported)
}

func (refusingConn) ReceiveFile(*os.File, int64) (int64, error) {
	return 0, fmt.Errorf("test: file refused: %w", errors.ErrUnsupported)
}

// TestFileSinkRefused: when the connection refuses to move an expected
// item into its file, the frame reader copies it through memory: the file
// gets the whole item, and the stream goes on at the next frame.
func TestFileSinkRefused(t *testing.T) {
	skipNoZeroCopy(t)
	const n = 1<<20 + 5
	value := make([]byte, n)
	rng := rand.New(rand.NewPCG(3, 7))
	for i := range value {
		value[i] = byte(rng.Uint32())
	}
	data := append(bytesFrame(t, 1, value), bytesFrame(t, 1, []byte("after"))...)
	path := filepath.Join(t.TempDir(), "f")
	sink := &FileSink{Size: n, Open: func() (*os.File, error) { return os.Create(path) }}
	fr, f, _, err := readNextVia(t, data, sink, func(transport.FileReceiver) transport.FileReceiver { return refusingConn{} })
	if err != nil || f.Channel != 1 {
		t.Fatalf("next = %v, %v", f, err)
	}
	if fr.filed == nil || fr.filed.Size != n || fr.filed.Err != nil {
		t.Fatalf("the item was not delivered as a file item: %+v", fr.filed)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, value) {
		t.Fatalf("file: %d bytes (%v), want the %d bytes of the item", len(b), err, n)
	}
	f2, _, _, err := fr.next()
	if err != nil || string(f2.Payload) != string(bytesFrame(t, 1, []byte("after"))[9:]) {
		t.Fatalf("next frame after the file: %v, %x", err, f2.Payload)
	}
}

// TestExpectFilesSoon: after ExpectFilesSoon, a large bytes item that
// arrives before ExpectFiles waits for it and goes to its file; without
// ExpectFiles it arrives as usual once the wait is over.
func TestExpectFilesSoon(t *testing.T) {
	skipNoZeroCopy(t)
	const n = 300 << 10
	path := filepath.Join(t.TempDir(), "f")
	p := zcPair(t, func(ctx context.Context, ch *Channel, e Exec) error {
		ch.ExpectFilesSoon()
		if err := ch.Send(ctx, codec.Str("ready")); err != nil {
			return err
		}
		// The first item says whether to expect the next one in a file;
		// the large item is (very likely) read by then, and waits.
		v, err := ch.Receive(ctx)
		if err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		if v == codec.Bool(true) {
			ch.ExpectFiles([]FileSink{{Size: n, Open: func() (*os.File, error) { return os.Create(path) }}})
		}
		v, err = ch.Receive(ctx)
		if err != nil {
			return err
		}
		return ch.Send(ctx, codec.Str(fmt.Sprintf("%T", v)))
	})
	ctx := ctxT(t)
	for _, expect := range []bool{true, false} {
		ch, err := p.m.RemoteExec(ctx, Exec{Source: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := ch.Receive(ctx); err != nil || v != codec.Str("ready") {
			t.Fatalf("ready: %v, %v", v, err)
		}
		if err := ch.Send(ctx, codec.Bool(expect)); err != nil {
			t.Fatal(err)
		}
		if err := ch.Send(ctx, codec.Bytes(bytes.Repeat([]byte{1}, n))); err != nil {
			t.Fatal(err)
		}
		want := "codec.Bytes"
		if expect {
			want = "*gateway.FileItem"
		}
		if v, err := ch.Receive(ctx); err != nil || v != codec.Str(want) {
			t.Errorf("expect=%v: the item arrived as %v (%v), want %s", expect, v, err, want)
		}
	}
	if b, err := os.ReadFile(path); err != nil || len(b) != n {
		t.Errorf("file: %d bytes, %v", len(b), err)
	}
}
