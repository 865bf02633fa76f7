package worker

// This file is where the worker builds its gateway (worker.go names only
// the gateway.Option type, for Options.GatewayOptions).

import (
	"context"
	"errors"
	"log/slog"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/rsync"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Process implements transport.Conn: a served stream has no process.
func (c *streamConn) Process() transport.Process { return nil }

// runGateway serves the protocol in the worker role over conn until the
// master ends it. act, when set, counts the running executions (the
// socket server's idle timeout).
func runGateway(ctx context.Context, conn transport.Conn, id string, opts Options, act *activity) error {
	exec := NewExecutor(opts)
	if act != nil {
		inner := exec
		exec = gateway.ExecutorFunc(func(ctx context.Context, ch *gateway.Channel, e gateway.Exec) error {
			act.begin()
			defer act.end()
			return inner.Exec(ctx, ch, e)
		})
	}
	gopts := []gateway.Option{gateway.WithID(id), gateway.WithExecutor(exec)}
	if opts.Stderr != nil {
		// Warnings (a CHANNEL_CLOSE_ERROR for a channel we do not hold,
		// SPEC MSG-CLOSEERR-4) go to standard error, which a popen
		// master passes through.
		gopts = append(gopts, gateway.WithLogger(slog.New(slog.NewTextHandler(opts.Stderr,
			&slog.HandlerOptions{Level: slog.LevelWarn}))))
	}
	gopts = append(gopts, opts.GatewayOptions...)
	g := gateway.New(conn, gateway.Worker, gopts...)
	return g.Serve(ctx)
}

// NewExecutor returns the gateway.Executor that runs the conformance
// profile natively. It can serve a Go worker gateway built by other code,
// for example in-process tests of a Go master.
func NewExecutor(opts Options) gateway.Executor {
	procs := newProcTable()
	return gateway.ExecutorFunc(func(ctx context.Context, ch *gateway.Channel, e gateway.Exec) error {
		if e.CallName == "" {
			if IsIOProxySource(e.Source) { // via= hop (viaproxy.go)
				return serveIOProxy(ctx, ch, opts)
			}
			if IsRsyncSource(e.Source) { // execnet's RSync target
				if err := rsync.Receive(ctx, ch); err != nil {
					return &ExecError{Text: err.Error()}
				}
				return nil
			}
			return errors.New(limitationText(""))
		}
		if e.CallName == gateway.SetupCallName { // chdir=, nice=, env: (setup.go)
			return runSetup(e.Kwargs)
		}
		return procs.runProcedure(ctx, gwChannel{ch}, e.CallName, e.Kwargs, opts)
	})
}

// gwChannel adapts *gateway.Channel to procChannel.
type gwChannel struct{ ch *gateway.Channel }

func (c gwChannel) Send(ctx context.Context, v codec.Value) error { return c.ch.Send(ctx, v) }

func (c gwChannel) Receive(ctx context.Context) (codec.Value, error) { return c.ch.Receive(ctx) }

// StrConfig returns the channel's current strconfig, which conform_loads
// decodes with.
func (c gwChannel) StrConfig() codec.StrConfig { return c.ch.StrConfig() }

func (c gwChannel) NewChannel() (procChannel, error) {
	return gwChannel{c.ch.Gateway().NewChannel()}, nil
}

func (c gwChannel) Value() codec.Value { return c.ch }

func (c gwChannel) GatewayID() string { return c.ch.Gateway().ID() }

// loadsNoChannels decodes wire bytes with sc, rejecting CHANNEL opcodes.
func loadsNoChannels(b []byte, sc codec.StrConfig) (codec.Value, error) {
	d := codec.Decoder{StrConfig: sc, Channel: func(int32) (codec.Value, error) {
		return nil, codec.ErrChannelNotAllowed
	}}
	v, _, err := d.Loads(b)
	return v, err
}
