package difffuzz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// answer is what one side made of one input: a value, or an error class
// (a table 6.2 name, "Unknown" for an unclassified target error, or one of
// the harness pseudo-classes below) with its message.
type answer struct {
	Value   codec.Value // nil when rejected
	Bytes   []byte      // conform_dumps answers: the wire bytes
	Class   string      // "" when accepted
	Message string
}

func (a answer) accepted() bool { return a.Class == "" }

// Harness pseudo-classes for target answers that are not decoder errors.
const (
	classTimeout    = "Timeout"    // no answer within CallTimeout (ERR-GEN-3)
	classLost       = "Lost"       // the connection ended during the call
	classUnreadable = "Unreadable" // the reply did not decode under the reference limits
)

// target is a live implementation under test, reached as a Go master.
type target struct {
	opts  Options
	gw    *gateway.Gateway
	chans map[string]*gateway.Channel // open conform_loads / conform_dumps executions
	info  map[string]string
}

func openTarget(ctx context.Context, o Options) (*target, error) {
	t := &target{opts: o, chans: map[string]*gateway.Channel{}}
	if err := t.connect(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *target) connect(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, t.opts.BootstrapTimeout)
	defer cancel()
	gw, err := gateway.Open(octx, t.opts.Target, gateway.WithExitGrace(time.Second),
		gateway.WithTransportOptions(transport.Options{
			Style: t.opts.Style, BootstrapTimeout: t.opts.BootstrapTimeout, Env: t.opts.Env,
		}))
	if err != nil {
		return &HarnessError{Op: "open target " + t.opts.Target, Err: err}
	}
	t.gw = gw
	clear(t.chans)
	if t.info == nil {
		t.info = t.conformInfo(ctx)
	}
	return nil
}

// conformInfo asks the target who it is; failures leave the map empty.
func (t *target) conformInfo(ctx context.Context) map[string]string {
	out := map[string]string{}
	ch, err := t.exec(ctx, profile.Info)
	if err != nil {
		return out
	}
	defer ch.Close()
	cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
	defer cancel()
	v, err := ch.Receive(cctx)
	if d, ok := v.(*codec.Dict); err == nil && ok {
		for _, it := range d.Items() {
			if k, ok := it.Key.(codec.Str); ok {
				if s, ok := it.Value.(codec.Str); ok {
					out[string(k)] = string(s)
				}
			}
		}
	}
	return out
}

func (t *target) exec(ctx context.Context, name string) (*gateway.Channel, error) {
	src, err := profile.Source(name)
	if err != nil {
		return nil, err
	}
	return t.gw.RemoteExec(ctx, gateway.Exec{Source: src, FileName: profile.FileName, CallName: name, Kwargs: &codec.Dict{}})
}

// close ends the target, bounded by ctx.
func (t *target) close(ctx context.Context) {
	if t.gw == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = t.gw.Exit(cctx)
	t.gw = nil
}

// reconnect replaces a dead or stuck target.
func (t *target) reconnect(ctx context.Context) error {
	t.close(ctx)
	return t.connect(ctx)
}

// call sends one item to the procedure name and waits for its answer. A
// CHANNEL_CLOSE_ERROR is the target's rejection; its text starts with the
// error class (13.2). A dead connection or a timeout is an answer of a
// pseudo-class; the target is reconnected before the next call.
func (t *target) call(ctx context.Context, name string, item codec.Value) (answer, error) {
	if t.gw == nil {
		if err := t.connect(ctx); err != nil {
			return answer{}, err
		}
	}
	ch := t.chans[name]
	if ch == nil {
		var err error
		if ch, err = t.exec(ctx, name); err != nil {
			if rerr := t.reconnect(ctx); rerr != nil {
				return answer{}, rerr
			}
			if ch, err = t.exec(ctx, name); err != nil {
				return answer{}, &HarnessError{Op: "start " + name, Err: err}
			}
		}
		t.chans[name] = ch
	}
	cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
	defer cancel()
	if err := ch.Send(cctx, item); err != nil {
		return t.failed(ctx, name, err)
	}
	v, err := ch.Receive(cctx)
	if err != nil {
		return t.failed(ctx, name, err)
	}
	return answer{Value: v}, nil
}

// failed turns a send or receive error into an answer.
func (t *target) failed(ctx context.Context, name string, err error) (answer, error) {
	delete(t.chans, name)
	if ctx.Err() != nil {
		return answer{}, ctx.Err()
	}
	var re *gateway.RemoteError
	if errors.As(err, &re) {
		cls, _, _ := strings.Cut(re.Text, ":")
		cls = strings.TrimSpace(cls)
		if !knownClass(cls) {
			cls = "Unknown"
		}
		return answer{Class: cls, Message: lastLine(re.Text)}, nil
	}
	a := answer{Class: classLost, Message: err.Error()}
	switch {
	case errors.Is(err, gateway.ErrTimeout):
		a.Class = classTimeout
	case errors.As(err, new(*gateway.ProtocolError)):
		a.Class = classUnreadable
	}
	if rerr := t.reconnect(ctx); rerr != nil {
		return answer{}, rerr
	}
	return a, nil
}

// lastLine returns the last non-empty line of a (possibly multi-line,
// traceback) error text, clipped.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(lines) > 1 && !strings.Contains(l, ":") {
		l = strings.TrimSpace(s)
	}
	if len(l) > 300 {
		l = l[:300] + "..."
	}
	return l
}

// HarnessError is a failure of the fuzzing harness itself (the target
// cannot be started or driven), as opposed to a disagreement.
type HarnessError struct {
	Op  string
	Err error
}

func (e *HarnessError) Error() string { return fmt.Sprintf("difffuzz: %s: %v", e.Op, e.Err) }

// Unwrap returns the cause.
func (e *HarnessError) Unwrap() error { return e.Err }
