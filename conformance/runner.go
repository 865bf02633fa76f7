package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// SuiteVersion is the version of this conformance suite.
const SuiteVersion = "0.1.0"

// Schema is the schema id of the JSON report.
const Schema = "execnet-conform/run/v1"

// Defaults for Options.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultBootstrapTimeout = 10 * time.Second
	DefaultCount            = 100
	// healthTimeout bounds the STATUS round trip after each case.
	healthTimeout = 2 * time.Second
	// graceAfterDeadline is how long a case may take to return after its
	// deadline before the runner kills the session to unblock it.
	graceAfterDeadline = 250 * time.Millisecond
	// maxRestartFailures: after this many failed restarts in a row the
	// remaining cases are not attempted.
	maxRestartFailures = 2
)

// Options configure a run.
type Options struct {
	// Target is the xspec of the implementation under test, e.g.
	// "popen//python=/usr/bin/python3". Required unless Open is set.
	Target string
	// Style is the bootstrap style for Python targets: "import" (the
	// default: the interpreter's own execnet is tested) or "exec".
	Style string
	// Select chooses the cases to run.
	Select Selector
	// Timeout bounds each case that sets no Timeout (default 5s).
	Timeout time.Duration
	// BootstrapTimeout bounds starting the target (default 10s).
	BootstrapTimeout time.Duration
	// KnownFailing lists the cases the target is known to fail.
	KnownFailing []KnownFailure
	// Seed and Count feed property cases (Count default 100).
	Seed  int64
	Count int
	// Trace, when set, receives the decoded wire log of the whole run.
	Trace io.Writer
	// Env is the environment of a popen target. nil means
	// TargetEnv(os.Environ(), nil): a target is untrusted and gets no
	// variables that may hold secrets (SEC-RUN-2).
	Env []string
	// InheritEnv passes the runner's whole environment instead.
	InheritEnv bool
	// Open, when set, starts a target session instead of Target; for
	// embedding and tests. It must return a bootstrapped connection.
	Open func(ctx context.Context) (transport.Conn, error)
}

// CaseResult is the verdict of one case.
type CaseResult struct {
	ID          string
	Clauses     []string
	Level       Level
	Description string
	Outcome     Outcome
	// Message explains a non-pass outcome (expected vs got).
	Message string
	// Logs are the case's Logf messages.
	Logs     []string
	Duration time.Duration
	// Known is the matching known-failing entry, if the case is listed.
	Known *KnownFailure
	// Trace holds the case's recent frames and events for outcomes other
	// than pass and skip.
	Trace []TraceEntry
}

// Section returns the first path element of the case id.
func (r CaseResult) Section() string {
	s, _, _ := strings.Cut(r.ID, "/")
	return s
}

// Result is the outcome of a run.
type Result struct {
	SuiteVersion string
	SpecVersion  string
	Target       string
	// Implementation is the target's conform_info reply.
	Implementation map[string]string
	Seed           int64
	Count          int
	Started        time.Time
	Duration       time.Duration
	Cases          []CaseResult
	// Stale lists known-failing entries naming cases that do not exist.
	Stale []KnownFailure
}

// Counts returns the number of cases per outcome.
func (r *Result) Counts() map[Outcome]int {
	m := map[Outcome]int{}
	for _, o := range Outcomes() {
		m[o] = 0
	}
	for _, c := range r.Cases {
		m[c.Outcome]++
	}
	return m
}

// OK reports whether the run had no unexpected outcome and no stale
// known-failing entry.
func (r *Result) OK() bool {
	if len(r.Stale) > 0 {
		return false
	}
	for _, c := range r.Cases {
		if c.Outcome.Unexpected() {
			return false
		}
	}
	return true
}

// Reporter receives progress while a run goes on.
type Reporter interface {
	// Begin is called once the target is up, with the number of cases.
	Begin(total int, res *Result)
	// CaseDone is called after each case (n counts from 1).
	CaseDone(n, total int, r CaseResult)
	// End is called with the final result.
	End(res *Result)
}

// CheckCases validates a case list: non-empty unique ids, a Run function
// and a known level for each case. Errors match ErrBadCase.
func CheckCases(cases []Case) error {
	seen := map[string]bool{}
	for i, c := range cases {
		switch {
		case c.ID == "" || strings.TrimSpace(c.ID) != c.ID || strings.Contains(c.ID, "//"):
			return fmt.Errorf("%w: case %d has a bad id %q", ErrBadCase, i, c.ID)
		case seen[c.ID]:
			return fmt.Errorf("%w: duplicate case id %q", ErrBadCase, c.ID)
		case c.Run == nil:
			return fmt.Errorf("%w: case %s has no Run function", ErrBadCase, c.ID)
		case c.Level != MUST && c.Level != SHOULD && c.Level != MAY:
			return fmt.Errorf("%w: case %s has level %q (want MUST, SHOULD or MAY)", ErrBadCase, c.ID, c.Level)
		}
		seen[c.ID] = true
	}
	return nil
}

// Run runs the selected cases against the target and returns the result.
// It returns an error (with a partial or nil result) only for harness
// problems: an invalid case list or options, or a target that cannot be
// started at all (a *StartError). Conformance failures are in the result.
func Run(ctx context.Context, opts Options, cases []Case, rep Reporter) (*Result, error) {
	if err := CheckCases(cases); err != nil {
		return nil, err
	}
	if err := opts.Select.Validate(); err != nil {
		return nil, err
	}
	if opts.Target == "" && opts.Open == nil {
		return nil, errors.New("conformance: no target given")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.BootstrapTimeout <= 0 {
		opts.BootstrapTimeout = DefaultBootstrapTimeout
	}
	if opts.Count <= 0 {
		opts.Count = DefaultCount
	}
	if opts.Style == "" {
		opts.Style = "import"
	}
	switch {
	case opts.InheritEnv:
		opts.Env = nil
	case opts.Env == nil:
		opts.Env = TargetEnv(os.Environ(), nil)
	}
	r := &runner{opts: opts, tr: newTracer(time.Now(), opts.Trace)}
	res := &Result{
		SuiteVersion: SuiteVersion,
		SpecVersion:  spec.Version,
		Target:       opts.Target,
		Seed:         opts.Seed,
		Count:        opts.Count,
		Started:      r.tr.start,
	}
	known, used := matchKnown(opts.KnownFailing, cases)
	for i, k := range opts.KnownFailing {
		if !used[i] {
			res.Stale = append(res.Stale, k)
		}
	}
	var selected []Case
	for _, c := range cases {
		if opts.Select.Match(c.ID) {
			selected = append(selected, c)
		}
	}

	r.tr.beginCase("(setup)")
	sess, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r.sess != nil {
			r.sess.terminate(ctx)
		}
	}()
	r.sess = sess
	r.info = TargetInfo{Spec: opts.Target, Implementation: r.fetchInfo(ctx), Pid: r.pid()}
	if opts.Open == nil {
		r.info.Kind = targetKind(opts.Target)
	}
	res.Implementation = r.info.Implementation
	if rep != nil {
		rep.Begin(len(selected), res)
	}

	restartFailures := 0
	var lastStartErr error
	for i := range selected {
		c := &selected[i]
		var cr CaseResult
		switch {
		case ctx.Err() != nil:
			cr = baseResult(c)
			cr.Outcome = Skip
			cr.Message = "not run: " + ctx.Err().Error()
		case restartFailures >= maxRestartFailures:
			cr = baseResult(c)
			cr.Outcome = Crash
			cr.Message = fmt.Sprintf("not run: the target could not be restarted: %v", lastStartErr)
		default:
			cr, lastStartErr = r.runCase(ctx, c)
			if lastStartErr != nil {
				restartFailures++
			} else {
				restartFailures = 0
			}
		}
		if k := known[c.ID]; k != nil {
			applyKnown(&cr, k)
		}
		if cr.Outcome == Pass || cr.Outcome == Skip {
			cr.Trace = nil
		}
		res.Cases = append(res.Cases, cr)
		if rep != nil {
			rep.CaseDone(i+1, len(selected), cr)
		}
	}
	if r.sess != nil {
		r.tr.beginCase("(teardown)")
		st := r.sess.terminate(ctx)
		if st != nil {
			r.tr.note("target %s", describeStatus(*st))
		}
		r.sess = nil
	}
	res.Duration = time.Since(res.Started)
	if r.tr.werr != nil {
		return res, fmt.Errorf("writing the trace: %w", r.tr.werr)
	}
	if rep != nil {
		rep.End(res)
	}
	return res, nil
}

func baseResult(c *Case) CaseResult {
	return CaseResult{ID: c.ID, Clauses: uniqueClauses(c.Clauses), Level: c.Level, Description: c.Description}
}

// uniqueClauses drops repeated anchors (cases may cite one clause under
// two names), keeping the first occurrence.
func uniqueClauses(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// applyKnown turns a listed case's outcome into xfail, xpass or a failure
// that does not match the listed one.
func applyKnown(cr *CaseResult, k *KnownFailure) {
	cr.Known = k
	switch {
	case cr.Outcome == Pass && k.MayPass:
		cr.Message = fmt.Sprintf("listed as known-failing (%s, %s:%d: %s), may pass: passed this time",
			k.Deviation, k.File, k.Line, k.Reason)
	case cr.Outcome == Pass:
		cr.Outcome = XPass
		cr.Message = fmt.Sprintf("listed as known-failing (%s, %s:%d: %s) but passed; remove the entry",
			k.Deviation, k.File, k.Line, k.Reason)
	case cr.Outcome.failing() && k.matches(cr.Outcome, cr.Message):
		cr.Outcome = XFail
		cr.Message = fmt.Sprintf("known failure %s (%s): %s", k.Deviation, k.Reason, cr.Message)
	case cr.Outcome.failing():
		want := "a plain failure"
		if k.Match != nil {
			want = "a message matching /" + k.Match.String() + "/"
		}
		cr.Message = fmt.Sprintf("failed differently than listed in %s:%d (%s expects %s): %s: %s",
			k.File, k.Line, k.Deviation, want, cr.Outcome, cr.Message)
	}
}

// runner holds the state of one run.
type runner struct {
	opts Options
	tr   *tracer
	sess *session
	info TargetInfo
}

func (r *runner) pid() int {
	if r.sess == nil {
		return 0
	}
	if p := r.sess.conn.Process(); p != nil {
		return p.Pid()
	}
	return 0
}

// open starts a new target session.
func (r *runner) open(ctx context.Context) (*session, error) {
	stderr := newTailBuffer(4096)
	var conn transport.Conn
	var err error
	if r.opts.Open != nil {
		bctx, cancel := context.WithTimeout(ctx, r.opts.BootstrapTimeout)
		conn, err = r.opts.Open(bctx)
		cancel()
	} else {
		conn, err = openTarget(ctx, r.opts.Target, r.opts.Style, r.opts.BootstrapTimeout, stderr, r.opts.Env)
	}
	if err != nil {
		r.tr.note("target could not be started: %v", err)
		return nil, &StartError{Target: r.opts.Target, Err: err}
	}
	s := newSession(conn, stderr, r.tr)
	if p := conn.Process(); p != nil {
		r.tr.note("target started (pid %d)", p.Pid())
	} else {
		r.tr.note("target connected")
	}
	return s, nil
}

// fetchInfo runs conform_info on the first session. A target that does
// not answer it gets an empty map; the cases will show what is wrong.
func (r *runner) fetchInfo(ctx context.Context) map[string]string {
	info := map[string]string{}
	payload, err := profile.Payload(profile.Info, nil)
	if err != nil {
		r.tr.note("conform_info: %v", err)
		return info
	}
	b, err := dumps(payload)
	if err != nil {
		r.tr.note("conform_info: %v", err)
		return info
	}
	ictx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	id, err := r.sess.newChannelID()
	if err != nil {
		r.tr.note("conform_info: %v", err)
		return info
	}
	if err := r.sess.send(frame.Frame{Code: spec.MsgChannelExec, Channel: id, Payload: b}); err != nil {
		r.tr.note("conform_info: %v", err)
		return info
	}
	f, err := r.sess.recv(ictx, id, "the conform_info reply")
	if err != nil || f.Code != spec.MsgChannelData {
		r.tr.note("conform_info: no reply (%v)", errOr(err, f))
		return info
	}
	v, err := loads(f.Payload)
	d, ok := v.(*codec.Dict)
	if err != nil || !ok {
		r.tr.note("conform_info: reply is not a dict")
		return info
	}
	for _, it := range d.Items() {
		k, ok := it.Key.(codec.Str)
		if !ok {
			continue
		}
		if s, ok := it.Value.(codec.Str); ok {
			info[string(k)] = string(s)
		} else {
			info[string(k)] = repr(it.Value)
		}
	}
	return info
}

func errOr(err error, f frame.Frame) any {
	if err != nil {
		return err
	}
	return f
}

// runCase runs one case, opening a session first when needed. The error
// is non-nil only when a new session could not be started.
func (r *runner) runCase(ctx context.Context, c *Case) (cr CaseResult, startErr error) {
	cr = baseResult(c)
	r.tr.beginCase(c.ID)
	start := time.Now()
	defer func() { cr.Duration = time.Since(start) }()

	if r.sess != nil && (c.Fresh || r.sess.isSpent()) {
		r.tr.note("restarting the target for a fresh session")
		r.sess.kill(ctx)
		r.sess = nil
	}
	if r.sess == nil {
		s, err := r.open(ctx)
		if err != nil && ctx.Err() == nil {
			// One retry: a restart can fail for reasons that are not the
			// target's (a loaded machine), and blaming the case is harsh.
			r.tr.note("restart failed, retrying once")
			s, err = r.open(ctx)
		}
		if err != nil {
			cr.Outcome = Crash
			cr.Message = err.Error()
			cr.Trace = r.tr.entries()
			return cr, err
		}
		r.sess = s
		r.info.Pid = r.pid()
	}
	sess := r.sess
	sess.beginCase()

	timeout := c.Timeout
	if timeout <= 0 {
		timeout = r.opts.Timeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := &T{ctx: cctx, sess: sess, c: c, seed: r.opts.Seed, count: r.opts.Count, info: r.info, dial: r.dialSplit}

	// The case goroutine reports its panic (if any) and when it ended.
	type ending struct {
		panicMsg any
		at       time.Time
	}
	done := make(chan ending, 1)
	go func() {
		finished := false
		defer func() {
			e := ending{at: time.Now()}
			if !finished {
				if p := recover(); p != nil {
					e.panicMsg = fmt.Sprintf("case panicked: %v\n%s", p, debug.Stack())
				} // else runtime.Goexit from Fatalf or Skipf
			}
			done <- e
		}()
		c.Run(t)
		finished = true
	}()

	deadline, _ := cctx.Deadline()
	var end ending
	hung := false
	select {
	case end = <-done:
	case <-cctx.Done():
		select {
		case end = <-done:
		case <-time.After(graceAfterDeadline):
			// The case is blocked where the context cannot reach (a
			// write the target does not read): kill the session.
			hung = true
			r.tr.note("case did not return after its deadline; killing the target")
			sess.kill(context.WithoutCancel(ctx))
			select {
			case end = <-done:
			case <-time.After(5 * time.Second):
				r.tr.note("case goroutine still blocked; abandoning it")
			}
		}
	}
	late := hung || end.at.After(deadline)
	panicMsg := end.panicMsg
	if panicMsg != nil {
		t.Errorf("%v", panicMsg)
	}

	deliberate := sess.deliberate()
	t.mu.Lock()
	failed, skipped, msgs := t.failed, t.skipped, t.msgs
	timedOut, connEnded, endedOK := t.timedOut, t.connEnded, t.endedOK
	cr.Logs = t.logs
	skipMsg := t.skipMsg
	t.mu.Unlock()

	switch {
	case ctx.Err() != nil:
		// The run was interrupted: no verdict.
		cr.Outcome = Skip
		cr.Message = "interrupted: " + ctx.Err().Error()
		sess.markSpent()
	case late && (hung || timedOut || (!failed && !skipped)):
		cr.Outcome = Timeout
		cr.Message = joinMsgs(msgs, fmt.Sprintf("the case did not finish within %v", timeout))
		sess.markSpent()
	case failed && !deliberate && (connEnded || (sess.endedErr() != nil && !endedOK)):
		cr.Outcome = Crash
		cr.Message = joinMsgs(msgs, "")
		if !connEnded {
			cr.Message += "; " + sess.endedError(ctx).Error()
		}
	case failed:
		cr.Outcome = Fail
		cr.Message = joinMsgs(msgs, "")
	case !skipped && !deliberate && sess.endedErr() != nil && !endedOK:
		// The case did not fail, but the connection ended without the
		// case expecting it (ExpectEnd): the target crashed.
		cr.Outcome = Crash
		cr.Message = "during the case the " + sess.endedError(ctx).Error()
	case skipped:
		cr.Outcome = Skip
		cr.Message = skipMsg
	default:
		cr.Outcome = Pass
	}

	// Health check: a session the case did not end on purpose must still
	// answer STATUS; otherwise the case is blamed.
	if !sess.isSpent() && cr.Outcome != Timeout && ctx.Err() == nil {
		hctx, hcancel := context.WithTimeout(ctx, min(healthTimeout, timeout))
		r.tr.note("health check: STATUS")
		_, err := sess.status(hctx)
		hcancel()
		if err != nil {
			sess.markSpent()
			var what string
			switch {
			case errors.Is(err, ErrConnEnded):
				if cr.Outcome == Pass || cr.Outcome == Fail || cr.Outcome == Skip {
					cr.Outcome = Crash
				}
				what = "after the case (health check): " + err.Error()
			case errors.Is(err, ErrTimeout):
				if cr.Outcome == Pass || cr.Outcome == Fail || cr.Outcome == Skip {
					cr.Outcome = Timeout
				}
				what = "after the case the target did not answer STATUS: " + err.Error()
			default:
				if cr.Outcome == Pass || cr.Outcome == Skip {
					cr.Outcome = Fail
				}
				what = "after the case the target answered STATUS wrongly: " + err.Error()
			}
			cr.Message += sep(cr.Message) + what
		}
	}
	cr.Trace = r.tr.entries()
	return cr, nil
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return "; "
}

func joinMsgs(msgs []string, fallback string) string {
	var nonEmpty []string
	for _, m := range msgs {
		if m != "" {
			nonEmpty = append(nonEmpty, m)
		}
	}
	if len(nonEmpty) == 0 {
		return fallback
	}
	return strings.Join(nonEmpty, "; ")
}
