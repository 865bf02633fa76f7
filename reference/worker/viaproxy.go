package worker

// The Go worker as a via hop (SPEC.md 12.9): a master that opens
// "popen//via=ID" with this worker as gateway ID sends the io-proxy source
// (execnet's gateway_io.py). The worker runs no Python, so it recognises
// that source by the rule of BOOT-VIA-8 and serves the protocol natively:
// it starts the sub from the spec dict, relays bytes both ways and answers
// the control channel.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Bounds of the io-proxy.
const (
	// viaSetupTimeout bounds the wait for the spec dict and the control
	// channel, which a master sends right after the CHANNEL_EXEC.
	viaSetupTimeout = 30 * time.Second
	// viaReadyTimeout bounds the wait for the sub's ready byte once the
	// sub has started (the master sends the bootstrap line meanwhile).
	viaReadyTimeout = 60 * time.Second
	// viaChunk is the largest bytes item the hop sends.
	viaChunk = 64 << 10
)

// IsIOProxySource reports whether src is an io-proxy source by the rule of
// SPEC.md BOOT-VIA-8: it defines a top-level function serve_proxy_io (a
// line that starts with "def serve_proxy_io(") and calls it on the
// execution's channel on a line of its own ("serve_proxy_io(channel)",
// indented or not, followed by nothing but an optional comment). execnet's
// gateway_io.py of 1.9.0, 2.0.2, 2.1.2 and main all match; sources that
// merely mention the name do not.
func IsIOProxySource(src string) bool { return definesAndCalls(src, "serve_proxy_io") }

// IsRsyncSource reports whether src is the receiving side of execnet's
// rsync (rsync_remote.py) by the same rule (SPEC.md CHAN-RSYNC-5): it
// defines a top-level function serve_rsync and calls
// serve_rsync(channel) on a line of its own.
func IsRsyncSource(src string) bool { return definesAndCalls(src, "serve_rsync") }

// definesAndCalls is the recognition rule of BOOT-VIA-8 for function fn.
func definesAndCalls(src, fn string) bool {
	var defines, calls bool
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "def "+fn+"(") {
			defines = true
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), fn+"(channel)")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest == "" || strings.HasPrefix(rest, "#") {
			calls = true
		}
	}
	return defines && calls
}

// truthy is Python's truth of a spec dict value (True, or non-empty text).
func truthy(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Bool:
		return bool(x)
	case codec.Str:
		return x != ""
	case codec.Bytes:
		return len(x) > 0
	case codec.Int:
		return x != 0
	}
	return false
}

// viaArgv builds the sub's argument vector from the spec dict: a popen
// worker as in SPEC.md 12.2 (BOOT-VIA-2), with transport.DefaultPython
// when the dict has no python, since this hop has no interpreter of its
// own. Other kinds are refused.
func viaArgv(d *codec.Dict) ([]string, error) {
	get := func(k string) codec.Value { v, _ := d.Get(codec.Str(k)); return v }
	if !truthy(get("popen")) {
		for _, k := range []string{"ssh", "vagrant_ssh", "socket"} {
			if truthy(get(k)) {
				return nil, fmt.Errorf("io-proxy: the Go worker starts popen subs only, not %s", k)
			}
		}
		return nil, errors.New("io-proxy: the spec dict names no popen key")
	}
	s := &xspec.Spec{DontWriteBytecode: truthy(get("dont_write_bytecode"))}
	switch p := get("python").(type) {
	case nil, codec.None:
	case codec.Str:
		// PopenCommand reads the python key from Keys, as written.
		s.Python = string(p)
		s.Keys = append(s.Keys, xspec.KV{Key: "python", Value: string(p), HasValue: true})
	default:
		return nil, fmt.Errorf("io-proxy: python is %s, not text", kindOf(p))
	}
	return transport.PopenCommand(s)
}

// viaSub is a started sub process.
type viaSub struct {
	cmd   *exec.Cmd
	stdin *os.File
	done  chan struct{} // closed once reaped
	code  int           // exit code, or minus the signal number; valid after done
	once  sync.Once
}

func (s *viaSub) reap() {
	err := s.cmd.Wait()
	code := 0
	if ps := s.cmd.ProcessState; ps != nil {
		code = ps.ExitCode()
		if ws, ok := ps.Sys().(interface {
			Signaled() bool
			Signal() syscall.Signal
		}); ok && ws.Signaled() {
			code = -int(ws.Signal())
		}
	} else if err != nil {
		code = -1
	}
	s.code = code
	close(s.done)
}

func (s *viaSub) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

func (s *viaSub) closeWrite() { s.once.Do(func() { _ = s.stdin.Close() }) }

// serveIOProxy serves one io-proxy execution on ch (SPEC.md 12.9).
func serveIOProxy(ctx context.Context, ch *gateway.Channel, opts Options) error {
	sctx, cancel := context.WithTimeout(ctx, viaSetupTimeout)
	first, err := ch.Receive(sctx)
	var second codec.Value
	if err == nil {
		second, err = ch.Receive(sctx)
	}
	cancel()
	if err != nil {
		return execErrorf("io-proxy: waiting for the spec dict and the control channel: %v", err)
	}
	d, ok := first.(*codec.Dict)
	if !ok {
		return execErrorf("io-proxy: the first item is %s, not the spec dict", kindOf(first))
	}
	ctl, ok := second.(*gateway.Channel)
	if !ok {
		return execErrorf("io-proxy: the second item is %s, not the control channel", kindOf(second))
	}
	argv, err := viaArgv(d)
	if err != nil {
		return &ExecError{Text: err.Error()}
	}
	sub, stdout, err := startSub(argv, opts)
	if err != nil {
		return &ExecError{Text: err.Error()}
	}
	go sub.reap()
	// The sub ends with the hop's gateway at the latest.
	go func() {
		select {
		case <-ctx.Done():
			sub.kill()
		case <-sub.done:
		}
	}()
	go serveControl(ctx, ctl, sub)
	go relayToSub(ctx, ch, sub)
	defer stdout.Close()
	return relayFromSub(ctx, ch, stdout, sub)
}

// startSub starts argv with pipes of our own, so that reaping does not
// wait for (or close) the streams the relays use.
func startSub(argv []string, opts Options) (*viaSub, *os.File, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("io-proxy: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, nil, fmt.Errorf("io-proxy: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout = inR, outW
	if opts.Stderr != nil {
		cmd.Stderr = opts.Stderr
		cmd.WaitDelay = time.Second
	}
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, nil, fmt.Errorf("io-proxy: starting %q: %w", argv[0], err)
	}
	return &viaSub{cmd: cmd, stdin: inW, done: make(chan struct{})}, outR, nil
}

// relayFromSub checks the ready byte and then sends the sub's output as
// bytes items until it ends (BOOT-VIA-3).
func relayFromSub(ctx context.Context, ch *gateway.Channel, out *os.File, sub *viaSub) error {
	ready := make(chan error, 1)
	var b [1]byte
	go func() {
		_, err := io.ReadFull(out, b[:])
		ready <- err
	}()
	t := time.NewTimer(viaReadyTimeout)
	defer t.Stop()
	select {
	case err := <-ready:
		if err != nil {
			sub.kill()
			return execErrorf("io-proxy: the sub ended before its ready byte: %v", err)
		}
	case <-t.C:
		sub.kill()
		<-ready
		return execErrorf("io-proxy: no ready byte from the sub within %v", viaReadyTimeout)
	case <-ctx.Done():
		sub.kill()
		<-ready
		return ctx.Err()
	}
	if b[0] != spec.ReadyByte {
		sub.kill()
		return execErrorf("io-proxy: the sub answered %q, not the ready byte", b[0])
	}
	if err := ch.Send(ctx, codec.Bytes{b[0]}); err != nil {
		sub.kill()
		return err
	}
	buf := make([]byte, viaChunk)
	for {
		n, err := out.Read(buf)
		if n > 0 {
			if serr := ch.Send(ctx, codec.Bytes(append([]byte(nil), buf[:n]...))); serr != nil {
				sub.kill()
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return execErrorf("io-proxy: reading the sub's output: %v", err)
		}
	}
}

// relayToSub writes the bytes items of the proxy channel to the sub's
// input (BOOT-VIA-2). It ends when the channel or the gateway does; an
// item that is not bytes kills the sub, since the stream is then lost.
func relayToSub(ctx context.Context, ch *gateway.Channel, sub *viaSub) {
	for {
		v, err := ch.Receive(ctx)
		if err != nil {
			return
		}
		b, ok := v.(codec.Bytes)
		if !ok {
			sub.kill()
			return
		}
		if _, err := sub.stdin.Write(b); err != nil {
			// The sub is gone or closed its input: drop the rest, as
			// the master learns of the end from the output side.
			continue
		}
	}
}

// serveControl answers the control requests (BOOT-VIA-6) for as long as
// the control channel and the gateway live, also after the proxy
// execution has ended. A kill or close_write takes effect as soon as it
// arrives, even while an earlier wait is still unanswered; the answers go
// out in the order of the requests.
func serveControl(ctx context.Context, ctl *gateway.Channel, sub *viaSub) {
	queue := make(chan codec.Value, 64)
	go func() {
		defer close(queue)
		for {
			v, err := ctl.Receive(ctx)
			if err != nil {
				return
			}
			switch v {
			case codec.Int(gateway.ViaKill):
				sub.kill()
			case codec.Int(gateway.ViaCloseWrite):
				sub.closeWrite()
			case codec.Int(gateway.ViaWait), codec.Int(gateway.ViaRemoteAddress):
			default:
				_ = ctl.CloseWithError(fmt.Sprintf("io-proxy: unknown control request %s", codec.Repr(v)))
				return
			}
			select {
			case queue <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	for v := range queue {
		var reply codec.Value = codec.None{}
		if v == codec.Int(gateway.ViaWait) {
			select {
			case <-sub.done:
				reply = codec.Int(sub.code)
			case <-ctx.Done():
				continue
			}
		}
		_ = ctl.Send(ctx, reply)
	}
}
