package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/transport/sshtransport"
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
	// remaining cases are not attempted (they are blocked).
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
	// Timeout bounds each case that sets no Timeout. When 0, it is
	// DefaultTimeout, and every deadline (cases' own ones and the health
	// check's) is scaled by the target's round-trip time measured at
	// start, between 1x (up to 10 ms) and 4x.
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
	// SSH gives the keys, agent use and known_hosts files of ssh=
	// targets. The zero value uses the agent at SSH_AUTH_SOCK and the
	// files of ~/.ssh, and checks host keys against ~/.ssh/known_hosts.
	SSH sshtransport.Defaults
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
	// Slow marks a case that took more than half its deadline, or passed
	// only when retried after timing out; reports list these apart from
	// failures.
	Slow bool
	// Attempts is 2 when the case timed out and was run again, else 1
	// (0 in results built by hand means 1).
	Attempts int
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
	// Interrupted says why the run ended before its last case (an
	// interrupt, the run's time limit), or is "".
	Interrupted string
	// Blocked says why the remaining cases were not run (the target
	// failed the same way case after case), or is "".
	Blocked string
	// RTT is the target's STATUS round-trip time measured at start (0
	// when it did not answer), and TimeoutScale the factor applied to
	// deadlines because of it (1 when Options.Timeout was given).
	RTT          time.Duration
	TimeoutScale float64
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
// It returns an error only for harness problems: an invalid case list or
// options (with a nil result), or a target that cannot be started at all
// (a *StartError, with a result whose cases are all blocked). Conformance
// failures are in the result. When ctx ends (an interrupt, a time limit)
// the running case and the rest are marked Interrupted and the result so
// far is returned with Result.Interrupted set.
func Run(ctx context.Context, opts Options, cases []Case, rep Reporter) (*Result, error) {
	if err := CheckCases(cases); err != nil {
		return nil, err
	}
	if err := opts.Select.Validate(); err != nil {
		return nil, err
	}
	if err := CheckProfiles(opts.Select.Profiles, cases); err != nil {
		return nil, err
	}
	if opts.Target == "" && opts.Open == nil {
		return nil, errors.New("conformance: no target given")
	}
	autoTimeout := opts.Timeout <= 0
	if autoTimeout {
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
	r := &runner{opts: opts, tr: newTracer(time.Now(), opts.Trace), scale: 1, autoTimeout: autoTimeout}
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
		if opts.Select.Selects(c) {
			selected = append(selected, c)
		}
	}

	r.tr.beginCase("(setup)")
	// From here on every way the run ends returns the result so far, so
	// that reports can be written with what ran and why it stopped.
	finish := func(err error) (*Result, error) {
		res.Duration = time.Since(res.Started)
		if err == nil && r.tr.werr != nil {
			err = fmt.Errorf("writing the trace: %w", r.tr.werr)
		}
		if rep != nil {
			rep.End(res)
		}
		return res, err
	}
	sess, err := r.open(ctx)
	if err != nil {
		// No case can run: each is blocked by the broken start, and the
		// harness error is returned with the result.
		how := "the target could not be started: " + err.Error()
		if ctx.Err() != nil {
			res.Interrupted = interruption(ctx)
		} else {
			res.Blocked = how
		}
		if rep != nil {
			rep.Begin(len(selected), res)
		}
		for i := range selected {
			cr := baseResult(&selected[i])
			if res.Interrupted != "" {
				cr.Outcome, cr.Message = verdict(observations{Interrupted: res.Interrupted})
			} else {
				cr.Outcome, cr.Message = verdict(observations{Blocked: how})
			}
			res.Cases = append(res.Cases, cr)
			if rep != nil {
				rep.CaseDone(i+1, len(selected), cr)
			}
		}
		return finish(err)
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
		r.info.Style = targetStyle(opts.Target, opts.Style)
	}
	res.Implementation = r.info.Implementation
	r.calibrate(ctx)
	res.RTT, res.TimeoutScale = r.rtt, r.scale
	if rep != nil {
		rep.Begin(len(selected), res)
	}

	var streak failClass
	streakN := 0
	blocked := ""
	for i := range selected {
		c := &selected[i]
		var cr CaseResult
		switch {
		case ctx.Err() != nil:
			cr = baseResult(c)
			cr.Outcome, cr.Message = verdict(observations{Interrupted: "not run: " + interruption(ctx)})
		case blocked != "":
			cr = baseResult(c)
			cr.Outcome, cr.Message = verdict(observations{Blocked: blocked})
		default:
			var class failClass
			cr, class = r.runCase(ctx, c, 1)
			if cr.Outcome == Timeout && known[c.ID] == nil && ctx.Err() == nil {
				// One more try on a fresh session, with twice the
				// deadline, before calling it a timeout: a loaded machine
				// can make one attempt slow.
				first := cr
				r.tr.note("case timed out; retrying once on a fresh session")
				if r.sess != nil {
					r.sess.markSpent()
				}
				cr, class = r.runCase(ctx, c, retryFactor)
				cr.Attempts = 2
				cr.Duration += first.Duration
				if cr.Outcome != Timeout {
					cr.Slow = true
					cr.Logs = append([]string{"attempt 1 timed out: " + first.Message}, cr.Logs...)
				}
			}
			switch {
			case class == "":
				streak, streakN = "", 0
			case class == streak:
				streakN++
			default:
				streak, streakN = class, 1
			}
			if streakN >= streak.limit() {
				blocked = r.blockedBy(streak, streakN)
				r.tr.note("early verdict: %s", blocked)
			}
		}
		if k := known[c.ID]; k != nil {
			applyKnown(&cr, k)
		}
		if cr.Outcome == Pass || cr.Outcome == Skip {
			cr.Trace = nil
		}
		if !cr.Slow && cr.Outcome != Timeout && cr.Outcome != Interrupted && cr.Outcome != Blocked {
			cr.Slow = cr.Duration > r.caseTimeout(c)/2
		}
		res.Cases = append(res.Cases, cr)
		if rep != nil {
			rep.CaseDone(i+1, len(selected), cr)
		}
	}
	if ctx.Err() != nil {
		res.Interrupted = interruption(ctx)
	} else if blocked != "" {
		res.Blocked = blocked
	}
	if r.sess != nil {
		r.tr.beginCase("(teardown)")
		st := r.sess.terminate(context.WithoutCancel(ctx))
		if st != nil {
			r.tr.note("target %s", describeStatus(*st))
		}
		r.sess = nil
	}
	return finish(nil)
}

// failClass names a way a target can fail systematically; the run stops
// trying cases after a streak of failures of one class.
type failClass string

const (
	failStart  failClass = "start"  // the target cannot be (re)started
	failDesync failClass = "desync" // the runner cannot parse its stream
	failStatus failClass = "status" // it does not answer STATUS
)

// systematicStreak is how many cases in a row must fail the same way
// before the remaining cases are blocked (restarts: maxRestartFailures).
const systematicStreak = 3

func (c failClass) limit() int {
	switch c {
	case "":
		return math.MaxInt
	case failStart:
		return maxRestartFailures
	}
	return systematicStreak
}

// blockedBy is the message of the cases blocked after a streak.
func (r *runner) blockedBy(c failClass, n int) string {
	switch c {
	case failStart:
		return fmt.Sprintf("the target could not be restarted %d times in a row: %v", n, r.lastStartErr)
	case failDesync:
		return fmt.Sprintf("the runner could not parse the target's stream in %d cases in a row (see the first of them)", n)
	}
	return fmt.Sprintf("the target did not answer STATUS after %d cases in a row", n)
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
	// rtt is the target's STATUS round-trip time measured at start, and
	// scale the factor deadlines are multiplied by (1 when Timeout was
	// given or the target is fast).
	rtt   time.Duration
	scale float64
	// lastStartErr is the last failed restart's error.
	lastStartErr error
	// autoTimeout: Options.Timeout was not given, so deadlines scale.
	autoTimeout bool
}

// Deadline scaling from the target's round-trip time (Options.Timeout).
const (
	// rttSamples STATUS round trips are measured at start; the median
	// counts.
	rttSamples = 5
	// rttReference is the round-trip time up to which deadlines are not
	// scaled; a slower target gets deadlines scaled by rtt/rttReference.
	rttReference = 10 * time.Millisecond
	// maxScale caps the scaling.
	maxScale = 4.0
)

// calibrate measures the target's STATUS round-trip time on the first
// session and, unless Options.Timeout was given, scales deadlines by it.
// A target that does not answer STATUS keeps unscaled deadlines (its
// cases will show why).
func (r *runner) calibrate(ctx context.Context) {
	var samples []time.Duration
	for range rttSamples {
		sctx, cancel := context.WithTimeout(ctx, healthTimeout)
		t0 := time.Now()
		_, err := r.sess.status(sctx)
		d := time.Since(t0)
		cancel()
		if err != nil {
			r.tr.note("round-trip time: STATUS failed: %v", err)
			return
		}
		samples = append(samples, d)
	}
	slices.Sort(samples)
	r.rtt = samples[len(samples)/2]
	if r.autoTimeout {
		r.scale = min(maxScale, max(1, float64(r.rtt)/float64(rttReference)))
	}
	r.tr.note("round-trip time %v (median of %d STATUS); deadlines scaled by %.2f", r.rtt, len(samples), r.scale)
}

// caseTimeout is the deadline of case c: its own Timeout or the run's,
// scaled by the target's round-trip time when Options.Timeout was not
// given.
func (r *runner) caseTimeout(c *Case) time.Duration {
	d := c.Timeout
	if d <= 0 {
		d = r.opts.Timeout
	}
	return time.Duration(float64(d) * r.scale)
}

// healthTimeout bounds the STATUS round trip after a case.
func (r *runner) healthTimeout() time.Duration {
	return time.Duration(float64(healthTimeout) * r.scale)
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
		conn, err = openTarget(ctx, &r.opts, stderr, "", nil)
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

// retryFactor multiplies the deadline of the second attempt of a case
// that timed out.
const retryFactor = 2

// runCase runs one case with its deadline times factor, opening a session
// first when needed, gathers what it observed and asks verdict for the
// outcome. It also returns the class of a systematic failure the case
// showed ("" for none), for the run's early verdict.
func (r *runner) runCase(ctx context.Context, c *Case, factor float64) (cr CaseResult, class failClass) {
	cr = baseResult(c)
	r.tr.beginCase(c.ID)
	start := time.Now()
	defer func() { cr.Duration = time.Since(start) }()
	var o observations

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
			if ctx.Err() != nil {
				o.Interrupted = interruption(ctx)
			} else {
				o.StartFailed = err.Error()
				class = failStart
				r.lastStartErr = err
			}
			cr.Outcome, cr.Message = verdict(o)
			cr.Trace = r.tr.entries()
			return cr, class
		}
		r.sess = s
		r.info.Pid = r.pid()
	}
	sess := r.sess
	sess.beginCase()

	timeout := time.Duration(float64(r.caseTimeout(c)) * factor)
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
	select {
	case end = <-done:
	case <-cctx.Done():
		select {
		case end = <-done:
		case <-time.After(graceAfterDeadline):
			// The case is blocked where the context cannot reach (a
			// write the target does not read): kill the session.
			o.Hung = true
			r.tr.note("case did not return after its deadline; killing the target")
			sess.kill(context.WithoutCancel(ctx))
			select {
			case end = <-done:
			case <-time.After(5 * time.Second):
				r.tr.note("case goroutine still blocked; abandoning it")
			}
		}
	}
	if end.panicMsg != nil {
		t.Errorf("%v", end.panicMsg)
	}

	o.Late = o.Hung || end.at.After(deadline)
	o.Deadline = timeout
	o.Deliberate = sess.deliberate()
	t.mu.Lock()
	o.Failed, o.Skipped, o.SkipMessage = t.failed, t.skipped, t.skipMsg
	o.Messages = t.msgs
	o.WaitTimedOut, o.WaitSawEnd, o.EndExpected = t.timedOut, t.connEnded, t.endedOK
	cr.Logs = t.logs
	t.mu.Unlock()
	if ctx.Err() != nil {
		o.Interrupted = interruption(ctx)
	}
	if err := sess.endedErr(); err != nil && !o.Deliberate && !o.EndExpected && !o.Hung {
		o.SessionEnded = sess.endedError(ctx).Error()
	}

	// Health check: a session the case did not end on purpose must still
	// answer STATUS; otherwise the case is blamed.
	if out, _ := caseVerdict(o); out == Timeout || out == Interrupted {
		sess.markSpent()
	} else if !sess.isSpent() {
		o.Health, o.HealthMessage = r.healthCheck(ctx, sess, timeout)
	}
	if fault, findings := sess.faults(); fault != nil || len(findings) > 0 {
		if fault != nil {
			o.Desync = fault.Error()
		}
		for _, f := range findings {
			o.Findings = append(o.Findings, f.Error())
		}
	}

	cr.Outcome, cr.Message = verdict(o)
	switch {
	case o.Desync != "":
		class = failDesync
	case o.Health == healthNoAnswer:
		class = failStatus
	}
	cr.Trace = r.tr.entries()
	return cr, class
}

// healthCheck makes the STATUS round trip after a case, bounded by the
// shorter of the health-check bound and the case deadline.
func (r *runner) healthCheck(ctx context.Context, sess *session, timeout time.Duration) (health, string) {
	hctx, cancel := context.WithTimeout(ctx, min(r.healthTimeout(), timeout))
	defer cancel()
	r.tr.note("health check: STATUS")
	_, err := sess.status(hctx)
	if err == nil {
		return healthOK, ""
	}
	sess.markSpent()
	switch {
	case errors.Is(err, ErrConnEnded):
		return healthEnded, err.Error()
	case errors.Is(err, ErrTimeout):
		return healthNoAnswer, err.Error()
	}
	return healthWrong, err.Error()
}

// interruption says why the run's context ended.
func interruption(ctx context.Context) string {
	cause := context.Cause(ctx)
	switch {
	case cause == nil:
		return "the run was interrupted"
	case errors.Is(cause, context.DeadlineExceeded) && cause == ctx.Err():
		return "the run's time limit passed"
	case cause == context.Canceled:
		return "the run was interrupted"
	}
	return cause.Error()
}
