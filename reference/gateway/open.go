package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/transport/sshtransport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// Open parses an xspec such as "popen//python=/usr/bin/python3", starts or
// reaches the worker with transport.Open, and returns a master gateway.
// The gateway id is the spec's id=, else WithID, else "gw0". As execnet's
// makegateway does, chdir=, nice= and env: keys are applied after the
// bootstrap by an execution of SetupCallName in the worker (Python
// workers run SetupSource; the Go worker applies them natively). Unknown
// keys are refused (xspec.Validate); the error names the known keys.
func Open(ctx context.Context, spec string, opts ...Option) (*Gateway, error) {
	s, err := xspec.Parse(spec)
	if err != nil {
		return nil, err
	}
	return OpenSpec(ctx, s, opts...)
}

// OpenSpec is Open with a parsed spec.
func OpenSpec(ctx context.Context, s *xspec.Spec, opts ...Option) (*Gateway, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	id := s.ID
	if id == "" {
		id = cfg.id
	}
	if id == "" {
		id = "gw0"
	}
	topts := cfg.topts
	if topts.WorkerID == "" {
		topts.WorkerID = id + "-worker"
	}
	if _, ok := topts.Openers["ssh"]; !ok {
		// ssh= works out of the box: agent or ~/.ssh keys, host keys
		// checked against ~/.ssh/known_hosts. WithTransportOptions with
		// sshtransport.Register sets other defaults.
		openers := map[string]transport.Opener{"ssh": &sshtransport.Opener{}}
		for k, v := range topts.Openers {
			openers[k] = v
		}
		topts.Openers = openers
	}
	conn, err := transport.Open(ctx, s, topts)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", id, err)
	}
	g := New(conn, Master, append(opts, WithID(id))...)
	if s.Chdir != "" || s.Nice != "" || len(s.Env) > 0 {
		if err := g.setupEnv(ctx, s); err != nil {
			_ = g.Exit(context.Background())
			return nil, fmt.Errorf("gateway %s: applying chdir/nice/env: %w", id, err)
		}
	}
	return g, nil
}

// setupEnv applies chdir=, nice= and env: with SetupExec: Python workers
// run SetupSource, the Go worker its native version.
func (g *Gateway) setupEnv(ctx context.Context, s *xspec.Spec) error {
	e, ok, err := SetupExec(s)
	if err != nil || !ok {
		return err
	}
	ch, err := g.RemoteExec(ctx, e)
	if err != nil {
		return err
	}
	return ch.WaitClose(ctx)
}

// Group is a set of master gateways started and terminated together.
// Gateways opened without an id get gw0, gw1, ... in order.
type Group struct {
	opts []Option
	via  map[*Gateway]string // the hop's id of gateways opened with via=

	mu   sync.Mutex
	gws  []*Gateway
	next int
}

// NewGroup returns an empty group; opts apply to every gateway it opens.
func NewGroup(opts ...Option) *Group { return &Group{opts: opts} }

// Open starts one gateway per xspec, in parallel, and adds them to the
// group. An xspec with via=ID is opened with OpenVia through the group's
// gateway ID, which must have been opened by an earlier call. If any fails, the ones that started are terminated and the
// errors are returned joined; the group is left as it was.
func (gr *Group) Open(ctx context.Context, xspecs ...string) ([]*Gateway, error) {
	specs := make([]*xspec.Spec, len(xspecs))
	for i, x := range xspecs {
		s, err := xspec.Parse(x)
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			return nil, err
		}
		specs[i] = s
	}
	ids := make([]string, len(specs))
	gr.mu.Lock()
	for i, s := range specs {
		if s.ID != "" {
			ids[i] = s.ID
			continue
		}
		ids[i] = "gw" + strconv.Itoa(gr.next)
		gr.next++
	}
	gr.mu.Unlock()
	gws := make([]*Gateway, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i := range specs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			gws[i], errs[i] = gr.openOne(ctx, specs[i], append(append([]Option(nil), gr.opts...), WithID(ids[i]))...)
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		var cleanup sync.WaitGroup
		for _, g := range gws {
			if g != nil {
				cleanup.Add(1)
				go func(g *Gateway) { defer cleanup.Done(); _ = g.Exit(context.Background()) }(g)
			}
		}
		cleanup.Wait()
		return nil, err
	}
	gr.mu.Lock()
	gr.gws = append(gr.gws, gws...)
	gr.mu.Unlock()
	return gws, nil
}

// Gateways returns the group's gateways in the order they were opened.
func (gr *Group) Gateways() []*Gateway {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	return append([]*Gateway(nil), gr.gws...)
}

// WorkerExit is how one worker ended during Group.Terminate.
type WorkerExit struct {
	ID          string
	Pid         int
	Stage       ExitStage
	Status      transport.ExitStatus
	StatusKnown bool
	Err         error // nil when the worker ended by itself
}

// TerminateReport lists every worker of a Group.Terminate in group order.
type TerminateReport struct {
	Workers []WorkerExit
}

// Forced returns the workers that needed a signal (or could not be reaped).
func (r TerminateReport) Forced() []WorkerExit {
	var out []WorkerExit
	for _, w := range r.Workers {
		if w.Stage != StageTerminate {
			out = append(out, w)
		}
	}
	return out
}

// String describes TerminateReport for logs and messages.
func (r TerminateReport) String() string {
	s := fmt.Sprintf("%d workers terminated", len(r.Workers))
	for _, w := range r.Forced() {
		s += fmt.Sprintf("; %s (pid %d) needed %s", w.ID, w.Pid, w.Stage)
	}
	return s
}

// Terminate ends every gateway of the group in parallel: each gets
// GATEWAY_TERMINATE at once, then SIGTERM after grace, then SIGKILL after
// another grace (see Gateway.Shutdown); ctx bounds only the first wait.
// The group is empty afterwards.
func (gr *Group) Terminate(ctx context.Context, grace time.Duration) TerminateReport {
	gr.mu.Lock()
	gws := gr.gws
	gr.gws = nil
	gr.mu.Unlock()
	rep := TerminateReport{Workers: make([]WorkerExit, len(gws))}
	// Gateways opened through a hop end before the hop (BOOT-VIA-7).
	for _, wave := range gr.terminationWaves(gws) {
		var wg sync.WaitGroup
		for _, i := range wave {
			wg.Add(1)
			go func(i int, g *Gateway) {
				defer wg.Done()
				stage, err := g.Shutdown(ctx, grace)
				st, ok := g.ExitStatus()
				rep.Workers[i] = WorkerExit{ID: g.ID(), Pid: g.Pid(), Stage: stage, Status: st, StatusKnown: ok, Err: err}
			}(i, gws[i])
		}
		wg.Wait()
	}
	return rep
}
