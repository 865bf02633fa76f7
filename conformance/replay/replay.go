// Package replay plays the master's side of a recorded session (a trace
// written by tap) against another worker and compares the worker's answers
// with the recorded ones.
//
//	tr, _ := trace.Read(f)
//	res, err := replay.Run(ctx, tr, replay.Options{Target: "popen//python=/usr/bin/python3"})
//	if len(res.Divergences) > 0 { fmt.Println(res.Divergences[0]) }
//
// # How a session is replayed
//
// The target is started and bootstrapped by the reference transport (the
// import style for Python targets, so the interpreter's own execnet
// serves, not the recorded master's). Then the recorded master frames are
// sent verbatim, in order; before each one, replay waits until the worker
// has sent, on every channel, as many frames as the recording shows before
// that master frame (bounded by Options.Wait); before GATEWAY_TERMINATE,
// which nothing answers, it waits for every worker frame of the
// recording. After the last master frame it waits the same way for the
// rest, then for the end of the stream.
//
// # How answers are compared
//
// Per channel, in order: the frames of different channels may interleave
// differently from run to run, the frames of one channel may not. Two
// frames agree when code and channel are equal and their payloads agree
// after normalisation:
//
//   - payloads are decoded (reference codec, channel strconfig) and
//     compared as Python literals (codec.Repr);
//   - an error text (CHANNEL_CLOSE_ERROR) that is a Python traceback is
//     cut to its last line, the exception (normalize.Traceback);
//   - the rules of package normalize then replace process ids, object
//     addresses, durations, traceback file paths and line numbers, and
//     channel numbers in texts;
//   - the reply to STATUS is compared by its keys: the counts depend on
//     how far executions had got;
//   - a float under a dict key that names a time (duration, elapsed,
//     time, timestamp, start, stop, also with a prefix such as
//     "setup_duration") becomes "<timing>": pytest-xdist's test reports
//     carry how long each phase took; an int under a key that names a
//     process id (pid, ppid, worker_pid) becomes "<pid>";
//   - a payload recorded only by prefix and SHA-256 (larger than the
//     recorder's limit) is compared by SHA-256, without normalisation;
//   - a CHANNEL_CLOSE or CHANNEL_LAST_MESSAGE that only one session has
//     and that came after GATEWAY_TERMINATE there is ignored: whether a
//     worker's closes leave before the connection ends as it shuts down
//     depends on timing;
//   - so is one that only the replayed worker sends, as the last frame of
//     a channel the recorded worker never ended, in a recorded session
//     that ended with GATEWAY_TERMINATE: the recorded master terminated
//     while that execution was still ending, and whether its close got
//     out first is timing (pytest-xdist terminates right after its
//     workers' last report);
//   - a worker's CHANNEL_CLOSE that only one session has, as the last
//     frame of a channel the master sent CHANNEL_CLOSE or
//     CHANNEL_LAST_MESSAGE on, is ignored: in execnet a race between the
//     receiver thread and the ending execution decides whether it is sent
//     (SPEC.md Appendix B, DEV-54).
//
// A number sent as a plain value (an execution that sends os.getpid())
// is not normalised: replay cannot know what it means. The replayed
// worker runs in replay's working directory: replay from the directory
// the session was recorded in when the worker reports its cwd
// (pytest-xdist does).
//
// The replayed traffic is also judged by the protocol monitor; its
// findings on the worker's frames are part of the result.
package replay

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/normalize"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/transport/sshtransport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Options configure a replay.
type Options struct {
	// Target is the worker's xspec (required).
	Target string
	// Env is a popen worker's environment (nil: inherit).
	Env []string
	// Wait bounds each wait for the worker's frames (default 5s).
	Wait time.Duration
	// BootstrapTimeout bounds starting the worker (default 10s).
	BootstrapTimeout time.Duration
	// Stderr receives the worker's standard error (nil: discarded).
	Stderr io.Writer
}

// FrameView is one frame as a divergence shows it.
type FrameView struct {
	Index      int    `json:"index"` // the frame's number among the worker's frames, from 1
	Code       string `json:"code"`
	Channel    int32  `json:"channel"`
	Length     int    `json:"length"`
	Repr       string `json:"repr"`       // decoded payload (shortened), or why it does not decode
	Normalized string `json:"normalized"` // what was compared
}

func (v *FrameView) String() string {
	if v == nil {
		return "(none)"
	}
	s := fmt.Sprintf("%s ch=%d len=%d", v.Code, v.Channel, v.Length)
	if v.Repr != "" {
		s += " = " + v.Repr
	}
	return s
}

// Divergence is one place where the worker answered otherwise than the
// recorded one.
type Divergence struct {
	Channel int32 `json:"channel"`
	// Position is the frame's number among the worker's frames on that
	// channel, from 1.
	Position int        `json:"position"`
	Recorded *FrameView `json:"recorded,omitempty"` // nil: the replayed worker sent an extra frame
	Replayed *FrameView `json:"replayed,omitempty"` // nil: the replayed worker did not send it
	Clause   string     `json:"clause"`
	Reason   string     `json:"reason"`
	at       int64      // recording time of the recorded frame (ordering)
}

func (d Divergence) String() string {
	return fmt.Sprintf("channel %d, worker frame %d on it [%s]: %s\n  recorded: %s\n  replayed: %s",
		d.Channel, d.Position, d.Clause, d.Reason, d.Recorded, d.Replayed)
}

// Result is the outcome of a replay.
type Result struct {
	Target       string
	MasterSent   int
	WorkerFrames int
	Recorded     int // worker frames in the trace
	// Divergences, the earliest (by the recording) first.
	Divergences []Divergence
	// Findings of the protocol monitor on the replayed worker's traffic
	// (those on the master's frames are the recording's own).
	Findings []monitor.Finding
}

// ErrNotReplayable is matched (errors.Is) when a trace lacks what replay
// needs (no frames, a truncated master frame).
var ErrNotReplayable = errors.New("replay: trace cannot be replayed")

// recorded is one frame of the trace.
type recorded struct {
	rec trace.Record
	f   frame.Frame // for master frames, and worker frames with a whole payload
}

// Run replays the trace against opts.Target.
func Run(ctx context.Context, tr *trace.Trace, opts Options) (*Result, error) {
	if opts.Target == "" {
		return nil, errors.New("replay: no target")
	}
	if opts.Wait <= 0 {
		opts.Wait = 5 * time.Second
	}
	if opts.BootstrapTimeout <= 0 {
		opts.BootstrapTimeout = 10 * time.Second
	}
	recs := make([]trace.Record, 0, len(tr.Records))
	for _, r := range tr.Records {
		if r.Kind == trace.KindFrame {
			recs = append(recs, r)
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Micros < recs[j].Micros })
	var seq []recorded
	masters := 0
	for _, r := range recs {
		x := recorded{rec: r}
		if r.From == monitor.Master {
			f, err := r.Frame()
			if err != nil {
				return nil, fmt.Errorf("%w: %w (record with --max-payload 0)", ErrNotReplayable, err)
			}
			x.f = f
			masters++
		} else if !r.Truncated {
			f, err := r.Frame()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrNotReplayable, err)
			}
			x.f = f
		}
		seq = append(seq, x)
	}
	if masters == 0 {
		return nil, fmt.Errorf("%w: no master frames", ErrNotReplayable)
	}

	xs, err := xspec.Parse(opts.Target)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	topts := transport.Options{BootstrapTimeout: opts.BootstrapTimeout, Style: transport.StyleImport, Stderr: stderr, Env: opts.Env}
	sshtransport.Register(&topts, sshtransport.Defaults{})
	conn, err := transport.Open(ctx, xs, topts)
	if err != nil {
		return nil, fmt.Errorf("replay: starting %s: %w", opts.Target, err)
	}
	defer func() {
		_ = conn.Close()
		if p := conn.Process(); p != nil {
			_ = p.Kill()
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = p.Wait(wctx)
			cancel()
		}
	}()

	mon := monitor.New(monitor.Options{})
	rd := newReceiver(conn, mon)
	res := &Result{Target: opts.Target}

	// want[c] counts the recorded worker frames on channel c so far; all
	// counts them all.
	want, all := map[int32]int{}, map[int32]int{}
	for _, x := range seq {
		if x.rec.From != monitor.Master {
			all[x.rec.Channel]++
			res.Recorded++
		}
	}
	w := bufio.NewWriter(conn)
	for _, x := range seq {
		if x.rec.From != monitor.Master {
			want[x.rec.Channel]++
			continue
		}
		if x.f.Code == spec.MsgGatewayTerminate {
			// Nothing answers GATEWAY_TERMINATE (MSG-TERM-2): worker
			// frames recorded after it were already under way, and a
			// worker told to end sooner than the recorded one may drop
			// them. Wait for all of them first.
			rd.waitFor(ctx, all, opts.Wait)
		}
		rd.waitFor(ctx, want, opts.Wait)
		if x.f.Code == spec.MsgGatewayTerminate {
			rd.markTerminate()
		}
		b := frame.Append(nil, x.f)
		// A write error means the worker is gone; what it did not answer
		// shows as divergences.
		_, _ = w.Write(b)
		_ = w.Flush()
		mon.Write(monitor.Master, b)
		res.MasterSent++
		if x.f.Code == spec.MsgGatewayTerminate {
			break
		}
	}
	_ = conn.CloseWrite()
	mon.Close(monitor.Master)
	rd.waitFor(ctx, want, opts.Wait)
	rd.waitEnd(ctx, opts.Wait)
	_ = conn.Close()
	got := rd.frames()
	res.WorkerFrames = len(got)
	mon.Close(monitor.Worker)
	for _, f := range mon.Wait() {
		// The master frames are the recording's: their findings are in
		// the trace already.
		if f.From == monitor.Worker {
			res.Findings = append(res.Findings, f)
		}
	}
	res.Divergences = compareFrames(seq, got)
	return res, nil
}

// received is one frame the replayed worker sent.
type received struct {
	f frame.Frame
	// afterTerm: read after replay sent GATEWAY_TERMINATE.
	afterTerm bool
}

// receiver reads the worker's frames.
type receiver struct {
	mu       sync.Mutex
	got      []received
	count    map[int32]int
	done     bool
	termSent bool
	notify   chan struct{}
}

// markTerminate notes that GATEWAY_TERMINATE is about to be sent.
func (r *receiver) markTerminate() {
	r.mu.Lock()
	r.termSent = true
	r.mu.Unlock()
}

func newReceiver(conn transport.Conn, mon *monitor.Monitor) *receiver {
	r := &receiver{count: map[int32]int{}, notify: make(chan struct{})}
	go func() {
		fr := frame.NewReader(bufio.NewReaderSize(conn, 64<<10))
		for {
			f, err := fr.ReadFrame()
			r.mu.Lock()
			if err != nil {
				r.done = true
			} else {
				mon.Write(monitor.Worker, frame.Append(nil, f))
				r.got = append(r.got, received{f: f, afterTerm: r.termSent})
				r.count[f.Channel]++
			}
			close(r.notify)
			r.notify = make(chan struct{})
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

// waitFor waits until the worker has sent want[c] frames on every channel
// c, the stream ended, or wait passed.
func (r *receiver) waitFor(ctx context.Context, want map[int32]int, wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		r.mu.Lock()
		ok := r.done
		if !ok {
			ok = true
			for c, n := range want {
				if r.count[c] < n {
					ok = false
					break
				}
			}
		}
		notify := r.notify
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-notify:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (r *receiver) waitEnd(ctx context.Context, wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		r.mu.Lock()
		done, notify := r.done, r.notify
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-notify:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (r *receiver) frames() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// compareFrames compares the recorded and replayed worker frames per
// channel, keeping the first divergence of each channel.
func compareFrames(seq []recorded, got []received) []Divergence {
	// The recorded frames after the master's GATEWAY_TERMINATE.
	termAt := int64(-1)
	for _, x := range seq {
		if x.rec.From == monitor.Master && x.f.Code == spec.MsgGatewayTerminate {
			termAt = x.rec.Micros
			break
		}
	}
	recAfterTerm := func(x recorded) bool { return termAt >= 0 && x.rec.Micros > termAt }
	recClosed := map[int32]bool{} // channels the recorded worker ended (CHANNEL_CLOSE, LAST_MESSAGE)
	statusIDs := map[int32]bool{}
	reconf := map[int32]bool{}      // channels the master reconfigured (0: the gateway default)
	masterEnded := map[int32]bool{} // channels the master sent CHANNEL_CLOSE or LAST_MESSAGE on
	recByCh := map[int32][]recorded{}
	var order []int32
	seen := map[int32]bool{}
	for _, x := range seq {
		if x.rec.From == monitor.Master {
			switch x.f.Code {
			case spec.MsgStatus:
				statusIDs[x.f.Channel] = true
			case spec.MsgReconfigure:
				reconf[x.f.Channel] = true
			case spec.MsgChannelClose, spec.MsgChannelLastMessage:
				masterEnded[x.f.Channel] = true
			}
			continue
		}
		c := x.rec.Channel
		if !seen[c] {
			seen[c] = true
			order = append(order, c)
		}
		recByCh[c] = append(recByCh[c], x)
		if closing(x.rec.Code) {
			recClosed[c] = true
		}
	}
	gotByCh := map[int32][]frame.Frame{}
	gotAfterTerm := map[int32][]bool{}
	gotIndex := map[int32][]int{}
	for i, g := range got {
		c := g.f.Channel
		if !seen[c] {
			seen[c] = true
			order = append(order, c)
		}
		gotByCh[c] = append(gotByCh[c], g.f)
		gotAfterTerm[c] = append(gotAfterTerm[c], g.afterTerm)
		gotIndex[c] = append(gotIndex[c], i+1)
	}
	var out []Divergence
	for _, c := range order {
		rs, gs := recByCh[c], gotByCh[c]
		for i := 0; i < max(len(rs), len(gs)); i++ {
			var d *Divergence
			switch {
			case i >= len(gs) && recAfterTerm(rs[i]) && closing(rs[i].rec.Code):
				continue // see shutdownLeniency
			case i >= len(rs) && gotAfterTerm[c][i] && closing(gs[i].Code.String()):
				continue
			case i >= len(rs) && i == len(gs)-1 && termAt >= 0 && !recClosed[c] && closing(gs[i].Code.String()):
				// The recorded session was terminated with this channel's
				// execution still ending; its close may have been cut off.
				continue
			case i >= len(gs) && masterEnded[c] && rs[i].rec.Code == spec.MsgChannelClose.String(),
				i >= len(rs) && masterEnded[c] && gs[i].Code == spec.MsgChannelClose:
				continue // DEV-54: a race in execnet's worker decides whether this close is sent
			case i >= len(gs):
				rv := recordedView(rs[i], statusIDs[c])
				d = &Divergence{Recorded: rv, Reason: "the replayed worker did not send this frame", Clause: clauseFor(rs[i].rec.Code, statusIDs[c])}
				d.at = rs[i].rec.Micros
			case i >= len(rs):
				gv := view(gotIndex[c][i], gs[i], statusIDs[c])
				d = &Divergence{Replayed: gv, Reason: "the replayed worker sent a frame the recorded one did not", Clause: clauseFor(gs[i].Code.String(), statusIDs[c])}
				d.at = 1<<62 + int64(gotIndex[c][i])
			default:
				rv := recordedView(rs[i], statusIDs[c])
				gv := view(gotIndex[c][i], gs[i], statusIDs[c])
				reason := ""
				switch {
				case rv.Code != gv.Code:
					reason = fmt.Sprintf("%s instead of %s", gv.Code, rv.Code)
				case rs[i].rec.Truncated:
					sum := sha256.Sum256(gs[i].Payload)
					if hex.EncodeToString(sum[:]) != rs[i].rec.SHA256 {
						reason = "the payload differs (compared by SHA-256: the recording kept only a prefix)"
					}
				case rv.Normalized != gv.Normalized:
					reason = "the payload differs after normalisation"
				}
				if reason != "" {
					d = &Divergence{Recorded: rv, Replayed: gv, Reason: reason, Clause: clauseFor(rv.Code, statusIDs[c])}
					if rv.Code == gv.Code && rv.Code == spec.MsgChannelData.String() && (reconf[c] || reconf[0]) {
						// The channel's string configuration decides how
						// text travels.
						d.Clause = "SER-STRC-2"
					}
					d.at = rs[i].rec.Micros
				}
			}
			if d != nil {
				d.Channel, d.Position = c, i+1
				out = append(out, *d)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

// closing reports whether a code ends a channel's traffic from the
// worker: a CHANNEL_CLOSE or CHANNEL_LAST_MESSAGE that a worker sends as it
// shuts down may or may not leave before the connection ends, depending
// on timing. Such a frame that only one of the two sessions has, and that
// came after GATEWAY_TERMINATE in that session, is not a divergence.
func closing(code string) bool {
	return code == spec.MsgChannelClose.String() || code == spec.MsgChannelLastMessage.String()
}

// clauseFor names the clause a divergent worker frame touches.
func clauseFor(code string, status bool) string {
	switch {
	case status:
		return "MSG-STATUS-2"
	case code == spec.MsgChannelData.String():
		return "MSG-DATA-1"
	case code == spec.MsgChannelClose.String():
		return "MSG-EXEC-5"
	case code == spec.MsgChannelCloseError.String():
		return "MSG-EXEC-6"
	case code == spec.MsgChannelLastMessage.String():
		return "MSG-LAST-1"
	}
	return "FRM-CODE-1"
}

func recordedView(x recorded, status bool) *FrameView {
	if x.rec.Truncated {
		return &FrameView{Index: x.rec.Index, Code: x.rec.Code, Channel: x.rec.Channel, Length: x.rec.Length,
			Repr: x.rec.Repr, Normalized: "sha256:" + x.rec.SHA256}
	}
	v := view(x.rec.Index, x.f, status)
	return v
}

// view decodes and normalises a worker frame.
func view(index int, f frame.Frame, status bool) *FrameView {
	v := &FrameView{Index: index, Code: f.Code.String(), Channel: f.Channel, Length: len(f.Payload)}
	if len(f.Payload) == 0 {
		return v
	}
	val, err := codec.Loads(f.Payload)
	if err != nil {
		v.Repr = "<undecodable: " + err.Error() + ">"
		v.Normalized = "hex:" + hex.EncodeToString(f.Payload)
		return v
	}
	v.Repr = trace.Repr(f.Code, val)
	v.Normalized = Normalize(f.Code, val, status)
	return v
}

// Normalize renders a decoded worker payload for comparison, applying
// the rules in the package documentation; status says the frame answers a
// STATUS request.
func Normalize(code spec.MsgCode, v codec.Value, status bool) string {
	if d, ok := v.(*codec.Dict); ok && status {
		keys := make([]string, 0, d.Len())
		for _, it := range d.Items() {
			keys = append(keys, codec.Repr(it.Key))
		}
		return "status keys " + strings.Join(keys, ", ")
	}
	if s, ok := v.(codec.Str); ok && code == spec.MsgChannelCloseError {
		return normalize.Text(normalize.Traceback(string(s)))
	}
	return normalize.Text(codec.Repr(timings(v)))
}

// timingKey matches dict keys that name a time or a duration, pidKey
// those that name a process id.
var (
	timingKey = regexp.MustCompile(`(?i)(^|_)(duration|elapsed|time|timestamp|start|stop)s?$`)
	pidKey    = regexp.MustCompile(`(?i)(^|_)p?pid$`)
)

// timings returns v with every float stored under a dict key that names a
// time (duration, elapsed, time, timestamp, start, stop; as pytest's test
// reports carry) replaced by the text "<timing>", and every int under a
// key that names a process id (pid, ppid, worker_pid) by "<pid>".
func timings(v codec.Value) codec.Value {
	switch x := v.(type) {
	case codec.Tuple:
		out := make(codec.Tuple, len(x))
		for i, e := range x {
			out[i] = timings(e)
		}
		return out
	case codec.List:
		out := make(codec.List, len(x))
		for i, e := range x {
			out[i] = timings(e)
		}
		return out
	case *codec.Dict:
		items := x.Items()
		out := make([]codec.Item, len(items))
		for i, it := range items {
			out[i] = codec.Item{Key: it.Key, Value: timings(it.Value)}
			k, ok := it.Key.(codec.Str)
			if !ok {
				continue
			}
			switch it.Value.(type) {
			case codec.Float:
				if timingKey.MatchString(string(k)) {
					out[i].Value = codec.Str("<timing>")
				}
			case codec.Int:
				if pidKey.MatchString(string(k)) {
					out[i].Value = codec.Str("<pid>")
				}
			}
		}
		d, err := codec.NewDict(out...)
		if err != nil {
			return v
		}
		return d
	}
	return v
}
