package gateway

// Proxy gateways (via=ID), SPEC.md section 12.9: the master's side of the
// io-proxy protocol, and the constants a hop shares with it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// The requests a master sends on the control channel of an io-proxy
// (SPEC.md 12.9, BOOT-VIA-6). The hop answers each with one item.
const (
	// ViaKill asks the hop to kill the sub; the answer is None.
	ViaKill = 1
	// ViaWait asks the hop to wait for the sub to exit; the answer is its
	// exit code, or minus the signal number that ended it.
	ViaWait = 2
	// ViaRemoteAddress asks for the address of an ssh sub; the answer is
	// text (the Go hop answers None for a popen sub).
	ViaRemoteAddress = 3
	// ViaCloseWrite asks the hop to close the sub's input; the answer is
	// None.
	ViaCloseWrite = 4
)

// ErrVia is wrapped by every error of opening or using a proxy gateway.
var ErrVia = errors.New("via gateway")

// ViaError says what failed while opening a gateway through a hop.
type ViaError struct {
	ID  string // the new gateway's id
	Hop string // the hop's gateway id
	Op  string // what was being done
	Err error
}

func (e *ViaError) Error() string {
	return fmt.Sprintf("gateway %s via %s: %s: %v", e.ID, e.Hop, e.Op, e.Err)
}

// Unwrap returns ErrVia and the cause, for errors.Is and errors.As.
func (e *ViaError) Unwrap() []error { return []error{ErrVia, e.Err} }

// WithIOProxySource sets the io-proxy source OpenVia sends to the hop. By
// default it is execnet's gateway_io.py from the installation that
// transport.LocateGatewayBase finds (the file beside gateway_base.py), as
// a Python master sends its own module; the Go worker recognises it by
// the rule of SPEC.md BOOT-VIA-8.
func WithIOProxySource(src string) Option { return func(c *config) { c.ioProxySource = src } }

// ViaSpecDict returns the spec dict a master sends to the hop (SPEC.md
// 12.9): "_spec", "env", "id", "execmodel" and one entry per other key of
// s, a bare key as True.
func ViaSpecDict(s *xspec.Spec, id string) *codec.Dict {
	d := &codec.Dict{}
	env := &codec.Dict{}
	_ = d.Set(codec.Str("_spec"), codec.Str(s.Raw))
	_ = d.Set(codec.Str("env"), env)
	for _, kv := range s.Keys {
		var v codec.Value = codec.Bool(true)
		if kv.HasValue {
			v = codec.Str(kv.Value)
		}
		if name, ok := strings.CutPrefix(kv.Key, "env:"); ok {
			_ = env.Set(codec.Str(name), v)
			continue
		}
		_ = d.Set(codec.Str(kv.Key), v)
	}
	_ = d.Set(codec.Str("id"), codec.Str(id))
	em := s.ExecModel
	if em == "" {
		em = "thread"
	}
	_ = d.Set(codec.Str("execmodel"), codec.Str(em))
	return d
}

// viaSources returns the io-proxy source and execnet's gateway_base.py
// text (for the sub's exec-style bootstrap).
func viaSources(ctx context.Context, cfg *config) (ioSrc, base string, err error) {
	base = cfg.topts.GatewayBaseSource
	ioSrc = cfg.ioProxySource
	if base != "" && ioSrc != "" {
		return ioSrc, base, nil
	}
	p, err := transport.LocateGatewayBase(ctx)
	if err != nil {
		return "", "", err
	}
	if base == "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", err
		}
		base = string(b)
	}
	if ioSrc == "" {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "gateway_io.py"))
		if err != nil {
			return "", "", fmt.Errorf("the io-proxy source (set WithIOProxySource): %w", err)
		}
		ioSrc = string(b)
	}
	return ioSrc, base, nil
}

// OpenVia opens the gateway that s describes through hop, a gateway whose
// worker serves as the via hop (SPEC.md 12.9): a Python execnet worker, or
// the Go worker. It runs the io-proxy on hop, sends the spec dict and a
// control channel, bootstraps the sub in the exec style through the relay
// (DialVia) and returns a master gateway that behaves like any other, with
// chdir=, nice= and env: applied as Open does. Its Exit sends
// GATEWAY_TERMINATE through the relay, then close_write and wait on the
// control channel; SIGTERM and SIGKILL become the hop's kill request. The
// gateway ends when the proxy channel or hop ends. The id is s.ID, else
// WithID, else "gw0". The Go hop starts popen subs only; a Python hop
// also starts ssh subs.
func OpenVia(ctx context.Context, hop *Gateway, s *xspec.Spec, opts ...Option) (*Gateway, error) {
	id := viaID(s, opts)
	conn, err := DialVia(ctx, hop, s, opts...)
	if err != nil {
		return nil, err
	}
	g := New(conn, Master, append(opts, WithID(id))...)
	if s.Chdir != "" || s.Nice != "" || len(s.Env) > 0 {
		if err := g.setupEnv(ctx, s); err != nil {
			_ = g.Exit(context.Background())
			return nil, &ViaError{ID: id, Hop: hop.ID(), Op: "applying chdir/nice/env", Err: err}
		}
	}
	return g, nil
}

func viaID(s *xspec.Spec, opts []Option) string {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case s.ID != "":
		return s.ID
	case cfg.id != "":
		return cfg.id
	}
	return "gw0"
}

// DialVia is the transport half of OpenVia: it starts the sub through hop
// and completes its bootstrap handshake, returning the relayed stream as
// a transport.Conn whose Process is the control channel. It applies no
// chdir=, nice= or env: (transport.Open does not either). Of opts it uses
// WithID, WithIOProxySource and WithTransportOptions (BootstrapTimeout,
// WorkerID, GatewayBaseSource).
func DialVia(ctx context.Context, hop *Gateway, s *xspec.Spec, opts ...Option) (transport.Conn, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	id := viaID(s, opts)
	fail := func(op string, err error) error { return &ViaError{ID: id, Hop: hop.ID(), Op: op, Err: err} }
	if s.Via == "" {
		return nil, fail("checking the spec", errors.New("the spec has no via= key"))
	}
	if s.Kind == "socket" {
		return nil, fail("checking the spec", errors.New("via= cannot start a socket gateway"))
	}
	ioSrc, base, err := viaSources(ctx, &cfg)
	if err != nil {
		return nil, fail("reading execnet's sources", err)
	}
	workerID := cfg.topts.WorkerID
	if workerID == "" {
		workerID = id + "-worker"
	}
	timeout := cfg.topts.BootstrapTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch, err := hop.RemoteExec(bctx, Exec{Source: ioSrc})
	if err != nil {
		return nil, fail("starting the io-proxy", err)
	}
	ctl := hop.NewChannel()
	if err := ch.Send(bctx, ViaSpecDict(s, id)); err != nil {
		_ = ctl.Close()
		return nil, fail("sending the spec dict", err)
	}
	if err := ch.Send(bctx, ctl); err != nil {
		_ = ctl.Close()
		return nil, fail("sending the control channel", err)
	}
	conn := newViaConn(ch, ctl)
	if err := conn.handshake(bctx, transport.BootstrapLine(transport.ExecSource(base, workerID, s.ExecModel))); err != nil {
		conn.abort()
		return nil, fail("bootstrapping the sub", err)
	}
	return conn, nil
}

// viaConn is the byte stream to a sub, relayed over the proxy channel.
type viaConn struct {
	ch   *Channel
	proc *viaProcess

	ctx    context.Context // ends with Close
	cancel context.CancelFunc

	rmu sync.Mutex
	buf []byte // the rest of the last bytes item

	closeOnce sync.Once
}

func newViaConn(ch, ctl *Channel) *viaConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &viaConn{ch: ch, proc: newViaProcess(ctl), ctx: ctx, cancel: cancel}
}

// handshake sends the bootstrap line and reads the ready byte.
func (c *viaConn) handshake(ctx context.Context, line string) error {
	if _, err := c.Write([]byte(line)); err != nil {
		return err
	}
	var b [1]byte
	rctx, stop := mergeCancel(ctx, c.ctx)
	defer stop()
	if _, err := c.readCtx(rctx, b[:]); err != nil {
		return fmt.Errorf("waiting for the ready byte: %w", err)
	}
	if b[0] != spec.ReadyByte {
		return fmt.Errorf("the sub answered %q, not the ready byte", b[0])
	}
	return nil
}

// mergeCancel returns a context that ends when either a or b does.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// abort kills the sub and releases the stream after a failed open.
func (c *viaConn) abort() {
	kctx, cancel := context.WithTimeout(context.Background(), viaControlWait)
	_, _ = c.proc.request(kctx, ViaKill)
	cancel()
	_ = c.Close()
	c.proc.stop()
}

func (c *viaConn) Read(p []byte) (int, error) { return c.readCtx(c.ctx, p) }

// readCtx returns bytes of the relayed stream, in items of any length
// (BOOT-VIA-4); the end of the proxy channel is io.EOF (BOOT-VIA-5).
func (c *viaConn) readCtx(ctx context.Context, p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.buf) == 0 {
		v, err := c.ch.Receive(ctx)
		if err != nil {
			if c.ctx.Err() != nil {
				return 0, net.ErrClosed
			}
			var re *RemoteError
			if errors.As(err, &re) {
				return 0, fmt.Errorf("%w: the io-proxy failed: %w", ErrVia, err)
			}
			c.proc.eofOnce.Do(func() { close(c.proc.eof) })
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, err
		}
		b, ok := v.(codec.Bytes)
		if !ok {
			return 0, fmt.Errorf("%w: the proxy channel carried %s, not bytes", ErrVia, v.Kind())
		}
		c.buf = b
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// Write sends p as one bytes item (BOOT-VIA-1).
func (c *viaConn) Write(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, net.ErrClosed
	}
	if err := c.ch.Send(c.ctx, codec.Bytes(append([]byte(nil), p...))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite asks the hop to close the sub's input.
func (c *viaConn) CloseWrite() error {
	ctx, cancel := context.WithTimeout(context.Background(), viaControlWait)
	defer cancel()
	_, err := c.proc.request(ctx, ViaCloseWrite)
	c.proc.wcloseOnce.Do(func() { close(c.proc.wclosed) })
	return err
}

// Close stops reading and closes the proxy channel. The control channel
// stays open for Wait and Kill until the sub's status is known or the
// hop ends; Close after that closes it too.
func (c *viaConn) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		_ = c.ch.Close()
	})
	select {
	case <-c.proc.statusKnown:
		c.proc.stop()
	default:
	}
	return nil
}

func (c *viaConn) Process() transport.Process { return c.proc }

// viaControlWait bounds a control request other than wait.
const viaControlWait = 10 * time.Second

// viaProcess is the sub as the control channel shows it. Requests are
// pipelined: each is sent at once and its answer is the next one the
// reader goroutine receives after the answers of earlier requests
// (BOOT-VIA-6), so a kill is sent even while a wait is pending.
type viaProcess struct {
	ctl *Channel

	ctx    context.Context // ends the reader; ends with stop
	cancel context.CancelFunc

	sendMu     sync.Mutex // orders queueing and sending of requests
	mu         sync.Mutex
	pending    []chan viaReply
	dead       error // set once the control channel has ended
	readerOnce sync.Once

	wclosed     chan struct{} // closed once close_write was requested
	wcloseOnce  sync.Once
	eof         chan struct{} // closed once the relayed stream ended
	eofOnce     sync.Once
	statusOnce  sync.Once
	status      transport.ExitStatus
	statusKnown chan struct{}
}

type viaReply struct {
	v   codec.Value
	err error
}

func newViaProcess(ctl *Channel) *viaProcess {
	ctx, cancel := context.WithCancel(context.Background())
	return &viaProcess{ctl: ctl, ctx: ctx, cancel: cancel,
		wclosed: make(chan struct{}), eof: make(chan struct{}), statusKnown: make(chan struct{})}
}

// stop ends the reader and closes the control channel.
func (p *viaProcess) stop() {
	p.cancel()
	_ = p.ctl.Close()
}

func (p *viaProcess) readReplies() {
	for {
		v, err := p.ctl.Receive(p.ctx)
		p.mu.Lock()
		if err != nil {
			p.dead = fmt.Errorf("%w: the control channel ended: %w", ErrVia, err)
			for _, rc := range p.pending {
				rc <- viaReply{err: p.dead}
			}
			p.pending = nil
			p.mu.Unlock()
			return
		}
		var rc chan viaReply
		if len(p.pending) > 0 {
			rc = p.pending[0]
			p.pending = p.pending[1:]
		}
		p.mu.Unlock()
		if rc != nil {
			rc <- viaReply{v: v}
		}
	}
}

// request sends one control request and returns its answer, or ctx's
// error (the answer is then dropped when it comes).
func (p *viaProcess) request(ctx context.Context, code int) (codec.Value, error) {
	p.readerOnce.Do(func() { go p.readReplies() })
	rc := make(chan viaReply, 1)
	p.sendMu.Lock()
	p.mu.Lock()
	if p.dead != nil {
		p.mu.Unlock()
		p.sendMu.Unlock()
		return nil, p.dead
	}
	p.pending = append(p.pending, rc)
	p.mu.Unlock()
	err := p.ctl.Send(ctx, codec.Int(code))
	if err != nil {
		p.mu.Lock()
		for i, c := range p.pending {
			if c == rc {
				p.pending = append(p.pending[:i], p.pending[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
	}
	p.sendMu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case r := <-rc:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Pid is 0: the sub runs on the hop's machine.
func (p *viaProcess) Pid() int { return 0 }

// Wait asks the hop to wait for the sub (the wait request). The request
// goes out only after close_write or once the relayed stream has ended:
// a hop answers in order, and a sub that waits for the end of its input
// would otherwise never be asked to stop (BOOT-VIA-7).
func (p *viaProcess) Wait(ctx context.Context) (transport.ExitStatus, error) {
	select {
	case <-p.statusKnown:
		return p.status, nil
	case <-p.wclosed:
	case <-p.eof:
	case <-ctx.Done():
		return transport.ExitStatus{}, ctx.Err()
	}
	v, err := p.request(ctx, ViaWait)
	if err != nil {
		if p.exited() {
			// Another Wait had its answer first and stopped the
			// control channel while this one waited for its own.
			return p.status, nil
		}
		return transport.ExitStatus{}, err
	}
	st := transport.ExitStatus{Code: -1}
	switch x := v.(type) {
	case codec.Int:
		if x < 0 {
			st.Signal = syscall.Signal(-x).String()
		} else {
			st.Code = int(x)
		}
	case codec.None:
	default:
		return transport.ExitStatus{}, fmt.Errorf("%w: the hop answered wait with %s", ErrVia, v.Kind())
	}
	p.statusOnce.Do(func() {
		p.status = st
		close(p.statusKnown)
	})
	// Nothing more is worth asking of an ended sub.
	p.stop()
	return p.status, nil
}

// exited reports whether a Wait has had the sub's exit status.
func (p *viaProcess) exited() bool {
	select {
	case <-p.statusKnown:
		return true
	default:
		return false
	}
}

// Terminate asks the hop to kill the sub: the io-proxy has no gentler
// request.
func (p *viaProcess) Terminate() error { return p.Kill() }

// Kill asks the hop to kill the sub. Once the sub's exit status is known
// there is nothing to kill, and Kill returns nil, as a popen process's
// does (the control channel may be closed by then).
func (p *viaProcess) Kill() error {
	if p.exited() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), viaControlWait)
	defer cancel()
	_, err := p.request(ctx, ViaKill)
	if err != nil && p.exited() {
		return nil
	}
	return err
}

// openOne opens one gateway of a Group: through a hop of the group when
// the spec has via=, else with OpenSpec.
func (gr *Group) openOne(ctx context.Context, s *xspec.Spec, opts ...Option) (*Gateway, error) {
	if s.Via == "" {
		return OpenSpec(ctx, s, opts...)
	}
	gr.mu.Lock()
	var hop *Gateway
	for _, g := range gr.gws {
		if g.ID() == s.Via {
			hop = g
		}
	}
	gr.mu.Unlock()
	if hop == nil {
		return nil, &ViaError{ID: s.ID, Hop: s.Via, Op: "finding the hop", Err: errors.New("no gateway with that id in the group (open it first)")}
	}
	g, err := OpenVia(ctx, hop, s, opts...)
	if err != nil {
		return nil, err
	}
	gr.mu.Lock()
	if gr.via == nil {
		gr.via = map[*Gateway]string{}
	}
	gr.via[g] = s.Via
	gr.mu.Unlock()
	return g, nil
}

// terminationWaves orders gws (by index) for Terminate: each wave holds
// the gateways that no remaining gateway uses as its hop, so gateways
// opened through a hop end before it, as execnet's Group.terminate does.
func (gr *Group) terminationWaves(gws []*Gateway) [][]int {
	gr.mu.Lock()
	via := gr.via
	gr.via = nil
	gr.mu.Unlock()
	left := make([]int, len(gws))
	for i := range gws {
		left[i] = i
	}
	var waves [][]int
	for len(left) > 0 {
		hops := map[string]bool{}
		for _, i := range left {
			if h, ok := via[gws[i]]; ok {
				hops[h] = true
			}
		}
		var now, later []int
		for _, i := range left {
			if hops[gws[i].ID()] {
				later = append(later, i)
			} else {
				now = append(now, i)
			}
		}
		if len(now) == 0 { // a cycle cannot be built, but never loop
			now, later = later, nil
		}
		waves = append(waves, now)
		left = later
	}
	return waves
}
