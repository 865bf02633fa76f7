//go:build unix

package gateway_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

func openOne(t *testing.T, spec string) *gateway.Gateway {
	t.Helper()
	return openGroup(t, spec).Gateways()[0]
}

// TestReaderScansRemoteStdout redirects a Python worker's sys.stdout into
// its channel (channel.makefile('w')) and reads the lines with
// bufio.Scanner over a ChannelReader.
func TestReaderScansRemoteStdout(t *testing.T) {
	t.Parallel()
	gw := openOne(t, pythonSpec(t))
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExecSource(ctx, `
		import sys
		sys.stdout = channel.makefile('w')
		for i in range(200):
		    print("line", i, "é")
		sys.stdout.write("no newline at the end")
	`)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(ch.MakeReader(ctx, gateway.FileOptions{}))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scanner: %v", err)
	}
	if len(lines) != 201 {
		t.Fatalf("got %d lines, want 201: %q", len(lines), lines)
	}
	for i := 0; i < 200; i++ {
		if want := fmt.Sprintf("line %d é", i); lines[i] != want {
			t.Fatalf("line %d = %q, want %q", i, lines[i], want)
		}
	}
	if lines[200] != "no newline at the end" {
		t.Fatalf("last line %q", lines[200])
	}
}

// TestReaderRemoteError: a remote exception after some output reaches
// the reader as the *RemoteError, not as a clean EOF.
func TestReaderRemoteError(t *testing.T) {
	t.Parallel()
	gw := openOne(t, pythonSpec(t))
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExecSource(ctx, `
		channel.send("partial\n")
		raise ValueError("went wrong")
	`)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(ch.MakeReader(ctx, gateway.FileOptions{}))
	var re *gateway.RemoteError
	if string(data) != "partial\n" || !errors.As(err, &re) || !strings.Contains(re.Text, "ValueError: went wrong") {
		t.Fatalf("ReadAll = %q, %v; want the output and the remote ValueError", data, err)
	}
}

// TestWriterToPythonReader: Go writes text through a ChannelWriter (with
// a bufio.Writer on top, which splits a character across writes); Python
// reads it with channel.makefile('r').readline() and sends each line back.
func TestWriterToPythonReader(t *testing.T) {
	t.Parallel()
	gw := openOne(t, pythonSpec(t))
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExecSource(ctx, `
		f = channel.makefile('r')
		while True:
		    line = f.readline()
		    if not line:
		        break
		    channel.send((type(line).__name__, line))
	`)
	if err != nil {
		t.Fatal(err)
	}
	w := ch.MakeWriter(ctx, gateway.FileOptions{Text: true})
	bw := bufio.NewWriterSize(w, 16)
	want := []string{"first line\n", "ünïcödé crosses a buffer boundary ✓\n", "third\n"}
	for _, l := range want {
		if _, err := bw.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, l := range want {
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !codec.Identical(v, codec.Tuple{codec.Str("str"), codec.Str(l)}) {
			t.Fatalf("Python read %s, want ('str', %q)", codec.Repr(v), l)
		}
	}
	// Without ProxyClose, closing the file leaves the channel open.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if ch.IsClosed() {
		t.Fatal("Close of a file without ProxyClose closed the channel")
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, gateway.ErrChannelClosed) {
		t.Fatalf("Write after Close = %v", err)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ch.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWriterBytesAndProxyClose: bytes mode sends bytes items; with
// ProxyClose, closing the file closes the channel, which the remote sees
// as the end of its items.
func TestWriterBytesAndProxyClose(t *testing.T) {
	for _, spec := range []string{"python", "go"} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			var gw *gateway.Gateway
			var ch *gateway.Channel
			var err error
			ctx := testCtx(t, 20*time.Second)
			if spec == "python" {
				gw = openOne(t, pythonSpec(t))
				ch, err = gw.RemoteExecSource(ctx, `
					for item in channel:
					    channel.send((type(item).__name__, item))
				`)
			} else {
				gw = openOne(t, goWorkerSpec())
				ch, err = gw.RemoteExec(ctx, profileExec(t, profile.Echo))
			}
			if err != nil {
				t.Fatal(err)
			}
			w := ch.MakeWriter(ctx, gateway.FileOptions{ProxyClose: true})
			if _, err := fmt.Fprintf(w, "%d\x00%s", 42, "ab"); err != nil {
				t.Fatal(err)
			}
			var want codec.Value = codec.Bytes("42\x00ab")
			if spec == "python" {
				want = codec.Tuple{codec.Str("bytes"), want}
			}
			if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, want) {
				t.Fatalf("echo = %v, %v; want %s", v, err, codec.Repr(want))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !ch.IsClosed() {
				t.Fatal("Close with ProxyClose left the channel open")
			}
			if err := ch.WaitClose(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReaderBytesItems reads bytes items from the Go worker's
// conform_stream; a non-text item is an *UnexpectedItemError; ProxyClose
// closes the channel at the end.
func TestReaderBytesItems(t *testing.T) {
	t.Parallel()
	gw := openOne(t, goWorkerSpec())
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExec(ctx, profileExec(t, profile.Stream,
		codec.Item{Key: codec.Str("count"), Value: codec.Int(3)},
		codec.Item{Key: codec.Str("size"), Value: codec.Int(1000)}))
	if err != nil {
		t.Fatal(err)
	}
	r := ch.MakeReader(ctx, gateway.FileOptions{ProxyClose: true})
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 3000 {
		t.Fatalf("read %d bytes, want 3000", len(data))
	}
	for i, b := range data {
		if b != byte(i%1000%profile.StreamModulus) {
			t.Fatalf("byte %d = %d", i, b)
		}
	}

	ch2, err := gw.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	if err := ch2.Send(ctx, codec.Int(3)); err != nil {
		t.Fatal(err)
	}
	r2 := ch2.MakeReader(ctx, gateway.FileOptions{})
	var uie *gateway.UnexpectedItemError
	if _, err := r2.Read(make([]byte, 10)); !errors.As(err, &uie) || uie.Kind != codec.KindInt {
		t.Fatalf("Read of an int item = %v, want *UnexpectedItemError", err)
	}
	if err := r2.Close(); err != nil || ch2.IsClosed() {
		t.Fatalf("Close without ProxyClose: %v, channel closed %v", err, ch2.IsClosed())
	}
	if err := ch2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterRejectsInvalidText(t *testing.T) {
	t.Parallel()
	gw := openOne(t, goWorkerSpec())
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	w := ch.MakeWriter(ctx, gateway.FileOptions{Text: true})
	if _, err := w.Write([]byte{'a', 0xff, 'b'}); !errors.Is(err, gateway.ErrInvalidText) {
		t.Fatalf("Write of invalid UTF-8 = %v, want ErrInvalidText", err)
	}
	// A character split in two writes arrives whole, as one str.
	if _, err := w.Write([]byte("x\xe2\x9c")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("\x93")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"x", "✓"} {
		v, err := ch.Receive(ctx)
		if err != nil || !codec.Identical(v, codec.Str(want)) {
			t.Fatalf("echo = %v, %v; want %q", v, err, want)
		}
	}
	if _, err := w.Write([]byte("\xe2")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, gateway.ErrInvalidText) {
		t.Fatalf("Close with half a character pending = %v, want ErrInvalidText", err)
	}
}

// TestWriterTextChunks writes mixed 1- to 4-byte characters through a
// text writer in chunks of every size from 1 to 7 bytes, so that
// characters are split at every offset; the Go worker echoes each str
// item and the concatenation must be the original text.
func TestWriterTextChunks(t *testing.T) {
	t.Parallel()
	gw := openOne(t, goWorkerSpec())
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	text := strings.Repeat("aé✓😀", 7)
	for size := 1; size <= 7; size++ {
		w := ch.MakeWriter(ctx, gateway.FileOptions{Text: true})
		items := 0
		for b := []byte(text); len(b) > 0; {
			n := min(size, len(b))
			if _, err := w.Write(b[:n]); err != nil {
				t.Fatalf("chunk size %d: %v", size, err)
			}
			b = b[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatalf("chunk size %d: Close: %v", size, err)
		}
		var got strings.Builder
		for got.Len() < len(text) {
			v, err := ch.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := v.(codec.Str)
			if !ok || s == "" {
				t.Fatalf("chunk size %d: item %s, want non-empty str", size, codec.Repr(v))
			}
			got.WriteString(string(s))
			items++
		}
		if got.String() != text {
			t.Fatalf("chunk size %d: echoed %q, want %q", size, got.String(), text)
		}
		if size == 1 && items != len([]rune(text)) {
			t.Errorf("1-byte chunks: %d items, want one per character (%d)", items, len([]rune(text)))
		}
	}
}
