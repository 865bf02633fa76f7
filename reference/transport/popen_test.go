package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// execPayload builds the CHANNEL_EXEC payload (source, None, None, {}) by
// hand: 4e <len> source 4c 4c 4a 40 00000004 51.
func execPayload(src string) []byte {
	n := len(src)
	p := []byte{'N', byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	p = append(p, src...)
	return append(p, 'L', 'L', 'J', '@', 0, 0, 0, 4, 'Q')
}

func mustParse(t testing.TB, s string) *xspec.Spec {
	t.Helper()
	sp, err := xspec.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// exchange runs "channel.send(42)" on channel 1, checks the CHANNEL_DATA 42
// and CHANNEL_CLOSE that come back, then ends the worker with
// GATEWAY_TERMINATE and checks exit status 0 (for a process).
func exchange(t testing.TB, c Conn) {
	t.Helper()
	if err := frame.Write(c, frame.Frame{Code: spec.MsgChannelExec, Channel: 1, Payload: execPayload("channel.send(42)")}); err != nil {
		t.Fatal(err)
	}
	r := frame.NewReader(bufio.NewReader(c))
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(tailed(c, err))
	}
	want := []byte{'F', 0, 0, 0, 42, 'Q'}
	if f.Code != spec.MsgChannelData || f.Channel != 1 || !bytes.Equal(f.Payload, want) {
		t.Fatalf("got %v %x, want CHANNEL_DATA ch=1 %x", f, f.Payload, want)
	}
	if f, err = r.ReadFrame(); err != nil || f.Code != spec.MsgChannelClose || f.Channel != 1 || len(f.Payload) != 0 {
		t.Fatalf("want CHANNEL_CLOSE ch=1, got %v %v", f, err)
	}
	if err := frame.Write(c, frame.Frame{Code: spec.MsgGatewayTerminate}); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The worker ends its side after TERMINATE: we read EOF.
	if f, err := r.ReadFrame(); err == nil {
		t.Fatalf("unexpected frame after terminate: %v", f)
	}
	if p := c.Process(); p != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		st, err := p.Wait(ctx)
		if err != nil || st != (ExitStatus{}) {
			t.Fatalf("exit: %v %v", st, tailed(c, err))
		}
		// Wait again: same answer.
		if st2, err := p.Wait(ctx); err != nil || st2 != st {
			t.Fatalf("second Wait: %v %v", st2, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func tailed(c Conn, err error) error {
	if st, ok := c.(StderrTailer); ok && st.StderrTail() != "" {
		return errors.Join(err, errors.New("worker stderr: "+st.StderrTail()))
	}
	return err
}

func TestPopenImportStyle(t *testing.T) {
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Open(context.Background(), mustParse(t, "popen//python="+py), Options{Style: StyleImport})
			if err != nil {
				t.Fatal(err)
			}
			exchange(t, c)
		})
	}
}

// TestPopenDefaultInterpreter opens plain "popen", which starts python3
// from PATH in import style. It needs that python3 to import execnet.
func TestPopenDefaultStyleIsImport(t *testing.T) {
	py := peers.CPython(t)
	sp := mustParse(t, "popen//id=gw9")
	if st, _ := ResolveStyle(sp, Options{}); st != StyleImport {
		t.Fatalf("plain popen: style %q", st)
	}
	if st, _ := ResolveStyle(mustParse(t, "popen//python="+py), Options{}); st != StyleExec {
		t.Fatalf("popen with python=: style %q", st)
	}
	if st, _ := ResolveStyle(mustParse(t, "popen//python="+py+"//style=import"), Options{Style: StyleExec}); st != StyleImport {
		t.Fatalf("style= key must win: %q", st)
	}
	if _, err := ResolveStyle(mustParse(t, "popen//style=odd"), Options{}); err == nil {
		t.Fatal("unknown style accepted")
	}
	argv, err := PopenCommand(mustParse(t, "popen//dont_write_bytecode//python="+py+" -X dev"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{py, "-X", "dev", "-u", "-B", "-c", spec.BootstrapCommand}
	if strings.Join(argv, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("argv %q, want %q", argv, want)
	}
}
