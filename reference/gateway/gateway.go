// Package gateway is the Go reference implementation of an execnet gateway,
// in both roles: a master that starts remote executions, and a worker that
// runs them. It speaks the frame protocol of SPEC.md over any
// transport.Conn and interoperates with Python execnet 1.9 and later.
//
// Start a worker, run code in it and talk to it over the execution's
// channel:
//
//	ctx := context.Background()
//	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gw.Exit(ctx)
//	ch, err := gw.RemoteExecSource(ctx, "channel.send(channel.receive() * 2)")
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = ch.Send(ctx, codec.Int(21))
//	v, err := ch.Receive(ctx) // codec.Int(42)
//
// Values are those of package codec. An xspec names the worker and how to
// reach it (package xspec); a Group opens several. The rest of this
// comment describes how the gateway works inside.
//
// # Concurrency
//
// One goroutine at a time reads frames, in order, and dispatches them.
// Each Gateway runs a receiver goroutine for that; but when the
// connection supports bounded waits (popen pipes and a served worker's
// stdin, on Unix: transport.WaitReader), a Receive or WaitClose that would
// otherwise block reads and dispatches frames itself while nobody else
// does, which saves a thread wake-up per item (see "Receiving" below and
// lead.go). Writes from any goroutine are serialised and frames never
// interleave (see "Sending" below).
//
// Items that arrive on a channel are queued until Receive takes them. As in
// execnet the queues are unbounded: a peer that sends faster than the
// program receives grows memory, bounded only by the frame size limit per
// item. Programs that stream must keep receiving (or set a callback).
//
// Callbacks set with Channel.SetCallback run on the goroutine that reads
// the frame (the receiver goroutine, or a Receive or WaitClose of
// another channel that is reading), in the order the items arrived, as
// in execnet. A slow callback therefore delays every other channel of
// the same gateway (their items wait in the stream until the callback
// returns, and a Receive that is reading returns only after it) but
// never reorders, loses or mixes up their items. A callback must not
// block waiting for other items of the same gateway (Receive on another
// channel, Status, Exit): that would wait for the reading it is part of. It
// may Send. A callback that panics closes its channel with
// CHANNEL_CLOSE_ERROR carrying the panic text, like a raising callback in
// execnet.
//
// # Sending
//
// A frame sent after a pause is written at once, with one Write, on the
// sending goroutine. Frames sent in quick succession (a stream) are
// encoded into a send queue and Send returns; a flush goroutine writes
// the whole queue with one Write, and Receive flushes the queue before it
// blocks. Errors writing queued frames are reported by later sends. The
// queue takes frames until it holds 256 KiB; beyond that, and for any
// frame over 256 KiB, Send waits until its frame is written. A bytes item of 256 KiB or more
// is written from the caller's slice without a copy (header, data and
// STOP under one write lock). Sending a bytes item costs a constant,
// small number of allocations whatever its size. The context of Send
// bounds the waits for the write lock and, when the Conn has
// SetWriteDeadline (sockets), the write itself; on pipes a write to a
// worker that stops reading blocks until the worker exits or Exit closes
// the connection.
//
// # Receiving
//
// A Receive that finds its queue empty takes the read token when it is
// free and reads the connection itself: it waits on its own thread (no
// goroutine hand-off, no network poller; transport.WaitFile spins up to
// 50 us before it sleeps, which keeps a request/reply exchange on the
// CPU at the cost of that much CPU per wait while the pace is fast), takes
// only complete frames under 32 KiB, and leaves larger frames, errors and
// the end of the stream to the receiver goroutine. Its context bounds its
// wait, and a frame is taken only whole, so a Receive that times out
// leaves the stream as it was. A reading Receive notices within 20 ms
// that another goroutine closed its channel or set a callback on it. A
// Receive reads for at most 20 ms (leadHold): then it leaves the reading
// to the receiver goroutine, which waits in slices of 500 ms, and waits
// on its channel, so that a master waiting seconds for a slow worker uses
// next to no CPU (BenchmarkIdleReceiveCPU: about 0.2% of a core). The receiver goroutine takes the
// connection back 2 ms after the last Receive read it: a frame that no
// Receive waits for (a callback's item, CHANNEL_EXEC) can wait that long
// right after a Receive stopped reading.
//
// The reader reads through a 256 KiB buffer, so that many small frames
// come with one read. A payload under 32 KiB is decoded in place and the
// decoder copies what it keeps; a larger one is read straight into a
// buffer of its own, and when it holds a single bytes or str value that
// value shares the buffer instead of being copied again. Received values
// never alias a buffer the gateway reuses.
//
// # Channel objects
//
// Python execnet closes a channel whose object is garbage collected. Go
// has no such hook: a channel stays registered until it is closed by
// either side or the gateway ends, so programs must Close the channels
// they open.
package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Role says which side of the protocol a Gateway plays.
type Role int

const (
	// Master starts executions (odd channel ids) and refuses CHANNEL_EXEC.
	Master Role = 1
	// Worker runs executions with its Executor (even channel ids).
	Worker Role = 2
)

// String describes Role for logs and messages.
func (r Role) String() string {
	switch r {
	case Master:
		return "master"
	case Worker:
		return "worker"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Exec is one remote execution request, the CHANNEL_EXEC payload
// (source, file_name, call_name, kwargs). Empty FileName and CallName are
// sent as None; a nil Kwargs as an empty dict.
type Exec struct {
	Source   string
	FileName string
	CallName string
	Kwargs   *codec.Dict
}

// Executor runs executions on a worker gateway. Exec is called on its own
// goroutine for each CHANNEL_EXEC. Returning nil closes the channel with
// CHANNEL_CLOSE (unless it is already closed); returning an error closes it
// with CHANNEL_CLOSE_ERROR carrying err.Error(). An error that matches
// io.EOF (the channel or connection ended) closes it without an error,
// like execnet. ctx is cancelled when the gateway shuts down and the
// execution outlived the grace period (WithExecGrace).
type Executor interface {
	Exec(ctx context.Context, ch *Channel, e Exec) error
}

// ExecutorFunc adapts a function to the Executor interface.
type ExecutorFunc func(ctx context.Context, ch *Channel, e Exec) error

// Exec calls f.
func (f ExecutorFunc) Exec(ctx context.Context, ch *Channel, e Exec) error { return f(ctx, ch, e) }

// Option configures a Gateway.
type Option func(*config)

type config struct {
	id         string
	executor   Executor
	exitGrace  time.Duration
	execGrace  time.Duration
	statusWait time.Duration
	maxPayload int
	topts      transport.Options
	logger     *slog.Logger
	spin       *time.Duration // nil: the connection's default

	ioProxySource string // WithIOProxySource (via.go)
}

func defaultConfig() config {
	return config{
		exitGrace:  2 * time.Second,
		execGrace:  5 * time.Second,
		statusWait: 300 * time.Millisecond,
	}
}

// WithID sets the gateway id (default "gw0"; a Group assigns gw0, gw1, ...).
func WithID(id string) Option { return func(c *config) { c.id = id } }

// WithExecutor sets the Executor of a worker gateway.
func WithExecutor(e Executor) Option { return func(c *config) { c.executor = e } }

// WithExitGrace sets how long Exit waits at each stage (after
// GATEWAY_TERMINATE, after SIGTERM) before escalating. Default 2s.
func WithExitGrace(d time.Duration) Option { return func(c *config) { c.exitGrace = d } }

// WithExecGrace sets how long a worker waits for running executions once
// its receiver has ended, before cancelling their context, and again
// after that before giving up on them. Default 5s, as execnet.
func WithExecGrace(d time.Duration) Option { return func(c *config) { c.execGrace = d } }

// WithMaxPayload limits the payload size of incoming frames (default
// frame.DefaultMaxPayload). A larger frame tears the connection down.
func WithMaxPayload(n int) Option { return func(c *config) { c.maxPayload = n } }

// WithLogger makes the gateway log what the protocol drops without
// telling the application: a CHANNEL_CLOSE_ERROR for a channel it does not
// hold, with the error text (SPEC MSG-CLOSEERR-4, Warn), and data for such
// a channel (Debug). Without it nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithSpinWait sets how long a goroutine that reads the connection spins
// (reads without blocking) before it sleeps, on connections that support
// it (transport.WaitFile: popen pipes on Unix). Spinning keeps a fast
// request/reply exchange on the CPU; it costs up to d of CPU per wait
// while the peer answers within d, and nothing once it answers more
// slowly. 0 turns spinning off. Default transport.DefaultSpin (50 us).
func WithSpinWait(d time.Duration) Option { return func(c *config) { c.spin = &d } }

// WithTransportOptions sets the options Open passes to transport.Open
// (bootstrap style and timeout, worker stderr, extra openers).
func WithTransportOptions(o transport.Options) Option { return func(c *config) { c.topts = o } }

// Gateway is one end of an execnet connection.
type Gateway struct {
	id   string
	role Role
	conn transport.Conn
	proc transport.Process
	cfg  config

	wsem chan struct{} // one-slot semaphore serialising frame writes
	// wscratch holds the prefix of a large bytes frame; used under wsem.
	wscratch [16]byte

	// The send queue (sendq.go), guarded by qmu.
	qmu     sync.Mutex
	queue   []byte // complete frames not yet written
	spare   []byte // an empty buffer for the next queue
	qflush  bool   // a flush goroutine is scheduled or running
	qclosed bool   // the write half is closing: no more queueing
	qerr    error  // a write failed: the stream is broken
	qlast   int64  // nanotime of the last frame sent
	resolve func(int32) (codec.Value, error)

	rbufs bufFree // large receive buffers given back by Recycle
	// spliced and sunk count the bytes of items sent from a file and
	// received into one without passing through memory (sendfile.go,
	// sink.go); tests read them.
	spliced, sunk atomic.Int64

	// Reading (lead.go): the frame reader, its source, and the token
	// that says who reads.
	fr   *frameReader
	lsrc leadSource
	rd   readState
	// replied is set when Receive returns an item: the next Send is a
	// reply and is written at once rather than queued (sendq.go).
	replied atomic.Bool
	// callbacks counts the registered channels with a callback.
	callbacks atomic.Int32
	// hookBeforeLead, set only by tests, runs in await before the read
	// token is tried.
	hookBeforeLead func()

	mu        sync.Mutex
	channels  map[int32]*Channel // open channels ("opened" or "sendonly")
	nextID    int32
	finished  bool // receiver ended: no new channels
	wclosed   bool // our write half is closed
	exiting   bool
	strconfig codec.StrConfig
	endErr    error // why the receiver ended; nil after GATEWAY_TERMINATE or a requested exit
	executing int
	leftover  int // executions still running when the worker gave up on them
	status    transport.ExitStatus
	statusOK  bool

	recvDone chan struct{} // the receiver stopped reading
	// heldOpen is set when the worker process exited but its stream did
	// not end: a process it left behind holds it (see watchProcess).
	heldOpen atomic.Bool
	done     chan struct{} // the receiver goroutine finished all its work

	execWG sync.WaitGroup
	// execq hands a new execution to a goroutine that finished one and
	// waits for the next (runExecs); unbuffered, so a send succeeds only
	// when one waits.
	execq      chan execJob
	execCtx    context.Context
	execCancel context.CancelFunc

	exitOnce  sync.Once
	exitStage ExitStage
	exitErr   error
}

// New starts a gateway in the given role over an established connection
// (bootstrap done) and starts its receiver goroutine. A Worker gateway
// needs WithExecutor to run executions; call Serve to wait for its end.
func New(conn transport.Conn, role Role, opts ...Option) *Gateway {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.id == "" {
		cfg.id = "gw0"
	}
	g := &Gateway{
		id:        cfg.id,
		role:      role,
		conn:      conn,
		cfg:       cfg,
		wsem:      make(chan struct{}, 1),
		channels:  make(map[int32]*Channel),
		strconfig: codec.ChannelStrConfig,
		recvDone:  make(chan struct{}),
		done:      make(chan struct{}),
		execq:     make(chan execJob),
	}
	if conn != nil {
		g.proc = conn.Process()
	}
	if role == Worker {
		g.nextID = 2
	} else {
		g.nextID = 1
	}
	g.resolve = g.resolveChannel
	g.execCtx, g.execCancel = context.WithCancel(context.Background())
	g.rd.init()
	g.lsrc.conn = conn
	if wr, ok := conn.(transport.WaitReader); ok && wr.CanWait() {
		g.lsrc.wr = wr
		g.lsrc.yieldFirst = runtime.GOMAXPROCS(0) == 1
	}
	if sp, ok := conn.(interface{ SetSpin(time.Duration) }); ok && cfg.spin != nil {
		sp.SetSpin(*cfg.spin) // before the receiver goroutine reads
	}
	g.fr = newFrameReader(&g.lsrc, cfg.maxPayload)
	g.fr.direct = &countedReader{r: conn, reads: &g.lsrc.reads}
	g.fr.bufs = &g.rbufs
	if fr, ok := conn.(transport.FileReceiver); ok && sendFileSupported {
		g.fr.sink, g.fr.recv = g.sinkFor, &countedFileReceiver{fr: fr, reads: &g.lsrc.reads}
	}
	go g.receiver()
	if g.proc != nil {
		go g.watchProcess()
	}
	return g
}

// ID returns the gateway id, e.g. "gw0".
func (g *Gateway) ID() string { return g.id }

// Role returns the gateway's role.
func (g *Gateway) Role() Role { return g.role }

// Pid returns the worker process id, or 0 when there is no local process.
func (g *Gateway) Pid() int {
	if g.proc == nil {
		return 0
	}
	return g.proc.Pid()
}

// ExitStatus returns the worker process's exit status once it is known
// (after the connection was lost, or after Exit).
func (g *Gateway) ExitStatus() (transport.ExitStatus, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.status, g.statusOK
}

// Done is closed when the receiver goroutine has ended and the gateway
// has finished its shutdown work.
func (g *Gateway) Done() <-chan struct{} { return g.done }

// Err returns why the connection ended: nil while it is live or after a
// clean end (GATEWAY_TERMINATE, Exit), else a *ConnectionLostError.
func (g *Gateway) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.endErr
}

// String describes Gateway for logs and messages.
func (g *Gateway) String() string {
	return fmt.Sprintf("<Gateway id=%s %s pid=%d>", g.id, g.role, g.Pid())
}

// NewChannel returns a new channel with a fresh id: odd for a master, even
// for a worker, never reused. The peer creates its side lazily, when it
// first sees the id. On a gateway whose receiver has ended the channel is
// returned already ended: Receive reports why, Send fails.
func (g *Gateway) NewChannel() *Channel {
	g.mu.Lock()
	id := g.nextID
	exhausted := id > math.MaxInt32-2
	if !exhausted {
		g.nextID += 2
	}
	ch := newChannel(g, id, g.strconfig)
	if g.finished || exhausted { // ids are never reused, so none is left
		ch.closed, ch.ended = true, true
	} else {
		g.channels[id] = ch
	}
	g.mu.Unlock()
	return ch
}

// channelFor returns the open channel with id, creating it if needed (as
// execnet's channel factory does). It fails once the receiver has ended.
func (g *Gateway) channelFor(id int32) (*Channel, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.channels[id]; ok {
		return ch, nil
	}
	if g.finished {
		return nil, fmt.Errorf("gateway %s: channel %d: %w", g.id, id, ErrGatewayClosed)
	}
	ch := newChannel(g, id, g.strconfig)
	g.channels[id] = ch
	return ch, nil
}

func (g *Gateway) resolveChannel(id int32) (codec.Value, error) {
	if id < 1 {
		// SPEC CHAN-ID-8: no side allocates such an id, so the payload
		// does not decode (and no channel is made for it).
		return nil, fmt.Errorf("gateway %s: %w: CHANNEL reference to id %d (ids start at 1)", g.id, ErrBadChannelRef, id)
	}
	ch, err := g.channelFor(id)
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func (g *Gateway) lookup(id int32) *Channel {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.channels[id]
}

// forget removes a channel from the table ("no longer opened").
func (g *Gateway) forget(ch *Channel) {
	g.mu.Lock()
	if g.channels[ch.id] == ch {
		delete(g.channels, ch.id)
		if ch.cbCounted {
			ch.cbCounted = false
			g.callbacks.Add(-1)
		}
	}
	g.mu.Unlock()
}

// noteCallback counts a registered channel that now has a callback: while
// any has, the receiver goroutine reads whenever no Receive does (lead.go),
// so that callback items are not held back.
func (g *Gateway) noteCallback(ch *Channel) {
	g.mu.Lock()
	if g.channels[ch.id] == ch && !ch.cbCounted {
		ch.cbCounted = true
		g.callbacks.Add(1)
	}
	g.mu.Unlock()
}

// ---- sending ----

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooled = 1 << 20

// closeWrite closes our sending half once.
func (g *Gateway) closeWrite() {
	g.wsem <- struct{}{}
	g.closeQueue()
	g.mu.Lock()
	already := g.wclosed
	g.wclosed = true
	g.mu.Unlock()
	if !already && g.conn != nil {
		_ = g.conn.CloseWrite()
	}
	<-g.wsem
}

// ---- high level API ----

// RemoteExec starts an execution on the worker and returns its channel.
// The CHANNEL_EXEC payload is (Source, FileName or None, CallName or None,
// Kwargs or {}). Source is sent as given (see RemoteExecSource).
func (g *Gateway) RemoteExec(ctx context.Context, e Exec) (*Channel, error) {
	payload := codec.Tuple{codec.Str(e.Source), optStr(e.FileName), optStr(e.CallName), e.Kwargs}
	if e.Kwargs == nil {
		payload[3] = &codec.Dict{}
	}
	g.mu.Lock()
	fin := g.finished
	g.mu.Unlock()
	if fin {
		if err := g.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("gateway %s: remote exec: %w", g.id, ErrGatewayClosed)
	}
	ch := g.NewChannel()
	if err := g.sendValue(ctx, spec.MsgChannelExec, ch.id, payload); err != nil {
		ch.drop()
		return nil, err
	}
	return ch, nil
}

// RemoteExecSource runs Python source on the worker, with the same
// normalisation as execnet's remote_exec of a string: the common leading
// whitespace of all lines is removed (textwrap.dedent). The payload is
// (source, None, None, {}).
func (g *Gateway) RemoteExecSource(ctx context.Context, src string) (*Channel, error) {
	return g.RemoteExec(ctx, Exec{Source: Dedent(src)})
}

func optStr(s string) codec.Value {
	if s == "" {
		return codec.None{}
	}
	return codec.Str(s)
}

// Status is the worker's answer to a STATUS request.
type Status struct {
	NumChannels  int
	NumExecuting int
	ExecModel    string
	Raw          *codec.Dict // the whole reply, for keys not modelled here
}

// String renders the status in the form of fmt's %+v, with Raw as a
// Python literal (so that %v and %+v show the reply, not a pointer).
func (s Status) String() string {
	raw := "<nil>"
	if s.Raw != nil {
		raw = codec.Repr(s.Raw)
	}
	return fmt.Sprintf("{NumChannels:%d NumExecuting:%d ExecModel:%s Raw:%s}", s.NumChannels, s.NumExecuting, s.ExecModel, raw)
}

// Status asks the peer for its status: it allocates a fresh channel id,
// sends STATUS and waits for the reply dict (the peer creates no channel).
func (g *Gateway) Status(ctx context.Context) (Status, error) {
	ch := g.NewChannel()
	defer ch.drop()
	if err := g.sendEmpty(ctx, spec.MsgStatus, ch.id); err != nil {
		return Status{}, err
	}
	v, err := ch.Receive(ctx)
	if err != nil {
		return Status{}, err
	}
	d, ok := v.(*codec.Dict)
	if !ok {
		return Status{}, fmt.Errorf("gateway %s: status reply is %s, not a dict", g.id, v.Kind())
	}
	st := Status{Raw: d}
	if x, ok := d.Get(codec.Str("numchannels")); ok {
		if n, ok := x.(codec.Int); ok {
			st.NumChannels = int(n)
		}
	}
	if x, ok := d.Get(codec.Str("numexecuting")); ok {
		if n, ok := x.(codec.Int); ok {
			st.NumExecuting = int(n)
		}
	}
	if x, ok := d.Get(codec.Str("execmodel")); ok {
		if s, ok := x.(codec.Str); ok {
			st.ExecModel = string(s)
		}
	}
	return st, nil
}

// Reconfigure sets the gateway's string coercion (used for channels
// created afterwards and for gateway-level decoding) and tells the peer
// with a RECONFIGURE frame on channel 0.
func (g *Gateway) Reconfigure(py2strAsPy3str, py3strAsPy2str bool) error {
	sc := codec.StrConfig{Py2StrAsPy3Str: py2strAsPy3str, Py3StrAsPy2Str: py3strAsPy2str}
	g.mu.Lock()
	g.strconfig = sc
	g.mu.Unlock()
	return g.sendValue(context.Background(), spec.MsgReconfigure, 0,
		codec.Tuple{codec.Bool(py2strAsPy3str), codec.Bool(py3strAsPy2str)})
}

// Serve waits until the gateway has ended (GATEWAY_TERMINATE, EOF, an
// error, or ctx ending, which tears the connection down) and running
// executions have finished or been given up after the grace periods. It
// returns nil after GATEWAY_TERMINATE or a clean EOF, else the error.
func (g *Gateway) Serve(ctx context.Context) error {
	select {
	case <-g.done:
	case <-ctx.Done():
		g.mu.Lock()
		g.exiting = true
		g.mu.Unlock()
		if g.conn != nil {
			_ = g.conn.Close()
		}
		g.execCancel()
		if !waitBounded(g.done, 2*g.cfg.execGrace+closeWait) {
			return fmt.Errorf("gateway %s: %w; the receiver did not stop after the connection was closed", g.id, ctx.Err())
		}
		g.mu.Lock()
		left := g.leftover
		g.mu.Unlock()
		err := fmt.Errorf("gateway %s: serve: %w", g.id, ctx.Err())
		if left > 0 {
			err = errors.Join(err, &ExecutionsRunningError{Gateway: g.id, Count: left})
		}
		return err
	}
	g.mu.Lock()
	err, left := g.endErr, g.leftover
	g.mu.Unlock()
	var lost *ConnectionLostError
	if errors.As(err, &lost) && errors.Is(lost.Err, io.EOF) {
		var fe *frame.Error
		if !errors.As(lost.Err, &fe) {
			err = nil // EOF at a frame boundary: the master went away
		}
	}
	if left > 0 {
		err = errors.Join(err, &ExecutionsRunningError{Gateway: g.id, Count: left})
	}
	return err
}

// ---- receiver ----

func (g *Gateway) receiver() {
	defer close(g.done)
	fr := g.fr
	t := time.NewTimer(time.Hour)
	t.Stop()
	var endErr error
	for {
		if !g.bgAcquire(t) {
			// A reading Receive met the end of the stream.
			g.rd.mu.Lock()
			endErr = g.rd.endErr
			g.rd.mu.Unlock()
			break
		}
		f, off, fresh, err := fr.next()
		if err != nil {
			endErr = err
			g.release(false, true, nil)
			break
		}
		if fr.filed != nil {
			// CHANNEL_DATA carrying one large bytes item, written to
			// the file the program expects it in (sink.go).
			g.sunk.Store(fr.sunk)
			if ch := g.lookup(f.Channel); ch != nil {
				ch.deliver(fr.filed)
			}
			fr.filed = nil
			g.release(false, false, nil)
			continue
		}
		if fr.blob != nil {
			// CHANNEL_DATA carrying one large bytes item, read
			// straight into a buffer of its own.
			if ch := g.lookup(f.Channel); ch != nil {
				ch.deliver(codec.Bytes(fr.blob))
			} else {
				if g.cfg.logger != nil {
					g.cfg.logger.Debug("CHANNEL_DATA for a channel this gateway does not hold, dropped",
						"gateway", g.id, "channel", f.Channel, "bytes", len(fr.blob)+6)
				}
				g.rbufs.put(fr.blob) // dropped, as any item for an unknown channel
			}
			fr.blob = nil
			g.release(false, false, nil)
			continue
		}
		stop, err := g.dispatch(f, off, fresh)
		if err != nil || stop {
			endErr = err
			g.release(false, true, nil)
			break
		}
		g.release(false, false, nil)
	}
	g.finish(endErr)
	close(g.recvDone)
	if g.role == Worker {
		g.waitExecutions()
	}
	g.execCancel()
	g.closeWrite()
	var pe *ProtocolError
	if errors.As(endErr, &pe) {
		_ = g.conn.Close() // tear down: the stream is no longer trustworthy
	}
}

// finish records why the receiver ended and ends every open channel.
func (g *Gateway) finish(endErr error) {
	var reason error
	g.mu.Lock()
	exiting := g.exiting
	g.mu.Unlock()
	// After we asked for the end (Exit, a cancelled Serve), EOF or a read
	// on the connection we closed ourselves is the expected end.
	if g.heldOpen.Load() && endErr != nil {
		endErr = fmt.Errorf("%w; closed it and killed its process group", ErrStreamHeldOpen)
	}
	if endErr != nil && !(exiting && (errors.Is(endErr, io.EOF) || errors.Is(endErr, os.ErrClosed))) {
		lost := &ConnectionLostError{Gateway: g.id, Role: g.role, Pid: g.Pid(), Err: endErr}
		g.mu.Lock()
		lost.Status, lost.StatusKnown = g.status, g.statusOK
		g.mu.Unlock()
		if g.proc != nil && errors.Is(endErr, io.EOF) && !lost.StatusKnown {
			ctx, cancel := context.WithTimeout(context.Background(), g.cfg.statusWait)
			st, err := g.proc.Wait(ctx)
			cancel()
			if err == nil {
				lost.Status, lost.StatusKnown = st, true
				g.mu.Lock()
				g.status, g.statusOK = st, true
				g.mu.Unlock()
			}
		}
		reason = lost
	}
	g.mu.Lock()
	g.finished = true
	g.endErr = reason
	chans := make([]*Channel, 0, len(g.channels))
	for _, ch := range g.channels {
		chans = append(chans, ch)
	}
	clear(g.channels)
	g.mu.Unlock()
	for _, ch := range chans {
		ch.remoteEnd(nil, true)
	}
}

func (g *Gateway) waitExecutions() {
	finished := make(chan struct{})
	go func() { g.execWG.Wait(); close(finished) }()
	t := time.NewTimer(g.cfg.execGrace)
	defer t.Stop()
	select {
	case <-finished:
		return
	case <-t.C:
	}
	g.execCancel()
	t.Reset(g.cfg.execGrace)
	select {
	case <-finished:
	case <-t.C:
		g.mu.Lock()
		g.leftover = g.executing
		g.mu.Unlock()
	}
}

func (g *Gateway) protoErr(f frame.Frame, off int64, msg string, err error) error {
	return &ProtocolError{Offset: off, Header: frame.AppendHeader(nil, f.Code, f.Channel, len(f.Payload)), Msg: msg, Err: err}
}

// decode decodes a frame's payload. A fresh payload (one the frame reader
// allocated for this frame alone) that holds a single bytes or str value
// becomes that value without a copy.
func (g *Gateway) decode(f frame.Frame, off int64, sc codec.StrConfig, fresh bool) (codec.Value, error) {
	d := codec.Decoder{StrConfig: sc, Channel: g.resolve, ZeroCopy: fresh && singleBlob(f.Payload)}
	v, _, err := d.Loads(f.Payload)
	if err != nil {
		return nil, g.protoErr(f, off, fmt.Sprintf("cannot decode %s payload", f.Code), err)
	}
	return v, nil
}

// singleBlob reports whether p is the wire form of one bytes or str value
// and nothing else, so a value sharing p's memory keeps no more alive
// than itself.
func singleBlob(p []byte) bool {
	if len(p) < 6 || p[len(p)-1] != byte(spec.OpStop) {
		return false
	}
	switch spec.Opcode(p[0]) {
	case spec.OpBytes, spec.OpPy3String, spec.OpUnicode, spec.OpPy2String:
		return int64(binary.BigEndian.Uint32(p[1:5])) == int64(len(p)-6)
	}
	return false
}

// dispatch handles one frame; stop reports GATEWAY_TERMINATE. fresh says
// the payload buffer belongs to this frame alone (see frameReader).
func (g *Gateway) dispatch(f frame.Frame, off int64, fresh bool) (stop bool, err error) {
	switch f.Code {
	case spec.MsgStatus:
		if g.role == Master {
			return false, nil // a master has nothing to report (SPEC MSG-STATUS-6)
		}
		return false, g.replyStatus(f.Channel)
	case spec.MsgReconfigure:
		g.mu.Lock()
		sc := g.strconfig
		g.mu.Unlock()
		v, err := g.decode(f, off, sc, fresh)
		if err != nil {
			return false, err
		}
		t, ok := v.(codec.Tuple)
		if !ok || len(t) != 2 {
			return false, g.protoErr(f, off, "RECONFIGURE payload is not a 2-tuple", nil)
		}
		b0, ok0 := t[0].(codec.Bool)
		b1, ok1 := t[1].(codec.Bool)
		if !ok0 || !ok1 {
			return false, g.protoErr(f, off, "RECONFIGURE payload is not a tuple of two bools", nil)
		}
		nsc := codec.StrConfig{Py2StrAsPy3Str: bool(b0), Py3StrAsPy2Str: bool(b1)}
		if f.Channel == 0 {
			g.mu.Lock()
			g.strconfig = nsc
			g.mu.Unlock()
			return false, nil
		}
		ch, err := g.channelFor(f.Channel)
		if err != nil {
			return false, err
		}
		ch.mu.Lock()
		ch.strconfig = nsc
		ch.mu.Unlock()
		return false, nil
	case spec.MsgGatewayTerminate:
		return true, nil
	case spec.MsgChannelExec:
		return false, g.startExec(f, off)
	case spec.MsgChannelData:
		ch := g.lookup(f.Channel)
		if ch == nil {
			if g.cfg.logger != nil {
				g.cfg.logger.Debug("CHANNEL_DATA for a channel this gateway does not hold, dropped",
					"gateway", g.id, "channel", f.Channel, "bytes", len(f.Payload))
			}
			return false, nil // unknown or closed channel: dropped, as execnet
		}
		ch.mu.Lock()
		sc := ch.strconfig
		ch.mu.Unlock()
		v, err := g.decode(f, off, sc, fresh)
		if err != nil {
			return false, err
		}
		ch.deliver(v)
		return false, nil
	case spec.MsgChannelClose:
		if ch := g.lookup(f.Channel); ch != nil {
			g.forget(ch)
			ch.remoteEnd(nil, false)
		}
		return false, nil
	case spec.MsgChannelCloseError:
		v, err := g.decode(f, off, codec.ChannelStrConfig, fresh)
		if err != nil {
			return false, err
		}
		text, ok := v.(codec.Str)
		if !ok {
			text = codec.Str(codec.Repr(v))
		}
		if ch := g.lookup(f.Channel); ch != nil {
			g.forget(ch)
			ch.remoteEnd(&RemoteError{Text: string(text)}, false)
		} else if g.cfg.logger != nil {
			g.cfg.logger.Warn("CHANNEL_CLOSE_ERROR for a channel this gateway does not hold",
				"gateway", g.id, "channel", f.Channel, "text", string(text))
		}
		return false, nil
	case spec.MsgChannelLastMessage:
		if ch := g.lookup(f.Channel); ch != nil {
			g.forget(ch)
			ch.remoteEnd(nil, true)
		}
		return false, nil
	}
	return false, g.protoErr(f, off, fmt.Sprintf("unknown message code %d", int8(f.Code)), nil)
}

func (g *Gateway) replyStatus(id int32) error {
	g.mu.Lock()
	nch, nexec := len(g.channels), g.executing
	g.mu.Unlock()
	d, err := codec.NewDict(
		codec.Item{Key: codec.Str("numchannels"), Value: codec.Int(nch)},
		codec.Item{Key: codec.Str("numexecuting"), Value: codec.Int(nexec)},
		codec.Item{Key: codec.Str("execmodel"), Value: codec.Str("thread")},
	)
	if err != nil {
		return err
	}
	if err := g.sendValue(context.Background(), spec.MsgChannelData, id, d); err != nil {
		return err
	}
	return g.sendEmpty(context.Background(), spec.MsgChannelClose, id)
}

func (g *Gateway) startExec(f frame.Frame, off int64) error {
	ch, err := g.channelFor(f.Channel)
	if err != nil {
		return err
	}
	if g.role != Worker {
		return ignoreClosed(ch.CloseWithError("execution disallowed"))
	}
	g.mu.Lock()
	sc := g.strconfig
	g.mu.Unlock()
	v, err := g.decode(f, off, sc, false)
	if err != nil {
		return err
	}
	e, msg := parseExec(v)
	if msg != "" {
		return ignoreClosed(ch.CloseWithError("execnet-conform gateway: bad CHANNEL_EXEC payload: " + msg))
	}
	if g.cfg.executor == nil {
		return ignoreClosed(ch.CloseWithError(fmt.Sprintf("gateway %s: %v", g.id, ErrNoExecutor)))
	}
	g.mu.Lock()
	g.executing++
	g.mu.Unlock()
	g.execWG.Add(1)
	j := execJob{ch, e}
	select {
	case g.execq <- j: // a goroutine whose execution ended takes it
	default:
		go g.runExecs(j)
	}
	return nil
}

// execIdle is how long a goroutine whose execution ended waits for the
// next one before it exits.
const execIdle = 100 * time.Millisecond

// execJob is one execution to run: its channel and request.
type execJob struct {
	ch *Channel
	e  Exec
}

// runExecs runs j, then the executions handed to it through execq while
// they come within execIdle of each other, until the receiver stops.
//
// Reusing the goroutine is what makes back-to-back executions cheap: a
// new goroutine starts with the smallest stack, and an execution's first
// Receive, which reads and decodes frames itself (lead.go), grows it
// twice or three times, copying it each time. In a Go worker serving one
// short execution after another that copying took about as long as a
// round trip (runtime.newstack was 12% of the worker's CPU profile).
func (g *Gateway) runExecs(j execJob) {
	var t *time.Timer
	for {
		g.runExec(j.ch, j.e)
		if t == nil {
			t = time.NewTimer(execIdle)
		} else {
			t.Reset(execIdle)
		}
		select {
		case j = <-g.execq:
			t.Stop()
		case <-t.C:
			return
		case <-g.recvDone:
			t.Stop()
			return
		}
	}
}

// ignoreClosed drops send errors caused by the connection having ended:
// the receiver notices that on its next read.
func ignoreClosed(err error) error {
	if errors.Is(err, ErrGatewayClosed) || errors.Is(err, ErrChannelClosed) {
		return nil
	}
	return err
}

func parseExec(v codec.Value) (Exec, string) {
	t, ok := v.(codec.Tuple)
	if !ok || len(t) != 4 {
		return Exec{}, "expected a tuple (source, file_name, call_name, kwargs), got " + codec.Repr(v)
	}
	var e Exec
	src, ok := t[0].(codec.Str)
	if !ok {
		return e, "source is " + t[0].Kind().String() + ", not str"
	}
	e.Source = string(src)
	for i, dst := range []*string{&e.FileName, &e.CallName} {
		switch x := t[i+1].(type) {
		case codec.None:
		case codec.Str:
			*dst = string(x)
		default:
			return e, fmt.Sprintf("element %d is %s, not str or None", i+1, x.Kind())
		}
	}
	switch x := t[3].(type) {
	case *codec.Dict:
		for _, it := range x.Items() {
			if _, ok := it.Key.(codec.Str); !ok {
				return e, "kwargs key " + codec.Repr(it.Key) + " is not a str"
			}
		}
		e.Kwargs = x
	case codec.None:
		e.Kwargs = &codec.Dict{}
	default:
		return e, "kwargs is " + x.Kind().String() + ", not dict"
	}
	return e, ""
}

func (g *Gateway) runExec(ch *Channel, e Exec) {
	defer g.execWG.Done()
	ch.mu.Lock()
	ch.executing = true
	ch.mu.Unlock()
	err := safeExec(g.execCtx, g.cfg.executor, ch, e)
	ch.mu.Lock()
	ch.executing = false
	ch.mu.Unlock()
	g.mu.Lock()
	g.executing--
	g.mu.Unlock()
	// The channel's close ends the execution: it is an answer the master
	// waits for, so it goes out at once on this goroutine rather than
	// through the send queue's flusher (a goroutine hand-off, which with
	// the worker's single P waits for the next reschedule).
	g.replied.Store(true)
	if err != nil && !errors.Is(err, io.EOF) {
		_ = ch.CloseWithError(err.Error())
	} else {
		_ = ch.Close()
	}
	// This execution's Receive calls read the connection no more, and
	// what comes next (a new CHANNEL_EXEC, a STATUS) is a frame no Receive
	// waits for: the receiver goroutine reads it now, not bgIdle later.
	g.kickReader()
}

func safeExec(ctx context.Context, ex Executor, ch *Channel, e Exec) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("executor panic: %v", r)
		}
	}()
	return ex.Exec(ctx, ch, e)
}
