package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Workload sizes one channel benchmark run.
type Workload struct {
	Startups   int       `json:"startups"`   // gateways opened for the start-up latency
	Groups     []int     `json:"groups"`     // group sizes for group start-up
	RoundTrips int       `json:"roundtrips"` // small-item round trips per sample
	Execs      int       `json:"execs"`      // remote executions per sample (remote_exec, a round trip, close)
	OneWay     OneWay    `json:"oneway"`
	Bulk       []BulkRun `json:"bulk"`
	Repeats    int       `json:"repeats"` // samples per figure (after one warm-up)
}

// OneWay is the one-way small-message workload: the worker streams Count
// items of Size bytes to the master.
type OneWay struct {
	Count int `json:"count"`
	Size  int `json:"size"`
}

// BulkRun streams about Bytes bytes in items of Size bytes.
type BulkRun struct {
	Size  int `json:"size"`
	Bytes int `json:"bytes"`
}

// DefaultWorkload is the full run; QuickWorkload a short one for CI.
func DefaultWorkload() Workload {
	return Workload{Startups: 15, Groups: []int{1, 8, 32}, RoundTrips: 5000, Execs: 300,
		OneWay:  OneWay{Count: 100000, Size: 16},
		Bulk:    []BulkRun{{1 << 10, 32 << 20}, {64 << 10, 256 << 20}, {1 << 20, 256 << 20}},
		Repeats: 3}
}

// QuickWorkload is small enough for a test run.
func QuickWorkload() Workload {
	return Workload{Startups: 3, Groups: []int{1, 4}, RoundTrips: 300, Execs: 30,
		OneWay:  OneWay{Count: 3000, Size: 16},
		Bulk:    []BulkRun{{1 << 10, 1 << 20}, {64 << 10, 8 << 20}, {1 << 20, 16 << 20}},
		Repeats: 1}
}

// Stat is a median with its samples.
type Stat struct {
	Median  float64   `json:"median"`
	P95     float64   `json:"p95,omitempty"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
}

func stat(xs []float64) Stat {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return Stat{}
	}
	p95 := s[min(len(s)-1, int(0.95*float64(len(s)-1)+0.5))]
	return Stat{Median: s[len(s)/2], P95: p95, Min: s[0], Max: s[len(s)-1], Samples: xs}
}

// PairResult holds the figures of one master-worker pair.
type PairResult struct {
	Pair       string          `json:"pair"`
	Master     string          `json:"master"`
	Worker     string          `json:"worker"`
	StartupS   Stat            `json:"startup_s"`
	GroupS     map[string]Stat `json:"group_s"`
	RoundTrips Stat            `json:"roundtrips_per_s"`
	ExecsPerS  Stat            `json:"execs_per_s"` // sequential remote executions (Workload.Execs)
	OneWay     Stat            `json:"oneway_per_s"`
	BulkMiBps  map[string]Stat `json:"bulk_mib_per_s"`
	Error      string          `json:"error,omitempty"`
}

// RoundTripsPerExec is what one sequential execution costs in the
// pair's own round trips of the same run: round trips per second over
// executions per second (0 when either is missing).
func (p *PairResult) RoundTripsPerExec() float64 {
	if p.RoundTrips.Median <= 0 || p.ExecsPerS.Median <= 0 {
		return 0
	}
	return p.RoundTrips.Median / p.ExecsPerS.Median
}

func procExec(name string, kw ...codec.Item) (gateway.Exec, error) {
	src, err := profile.Source(name)
	if err != nil {
		return gateway.Exec{}, err
	}
	d, err := codec.NewDict(kw...)
	if err != nil {
		return gateway.Exec{}, err
	}
	return gateway.Exec{Source: src, FileName: profile.FileName, CallName: name, Kwargs: d}, nil
}

func kw(name string, v int) codec.Item { return codec.Item{Key: codec.Str(name), Value: codec.Int(v)} }

// GroupSamples is how many times a group of n workers is opened for its
// median: repeats for large groups, more for small ones (eight times
// repeats for one worker), whose single start-ups are cheap and whose
// medians of three varied by 10% from run to run. The Python master
// (py/channel_bench.py) uses the same rule.
func GroupSamples(repeats, n int) int {
	return max(1, repeats) * max(1, 8/max(1, n))
}

// GoMaster measures a Go master against the worker that spec starts.
func GoMaster(ctx context.Context, pair, spec string, w Workload, progress func(string), gopts ...gateway.Option) (*PairResult, error) {
	res := &PairResult{Pair: pair, Master: "go", Worker: spec, GroupS: map[string]Stat{}, BulkMiBps: map[string]Stat{}}
	echo, err := procExec(profile.Echo)
	if err != nil {
		return nil, err
	}
	progress(pair + ": start-up")
	var lat []float64
	for i := 0; i < w.Startups+1; i++ {
		t0 := time.Now()
		g, err := gateway.Open(ctx, spec, gopts...)
		if err != nil {
			return nil, err
		}
		ch, err := g.RemoteExec(ctx, echo)
		if err == nil {
			err = ch.Send(ctx, codec.Int(1))
		}
		if err == nil {
			_, err = ch.Receive(ctx)
		}
		d := time.Since(t0).Seconds()
		_ = g.Exit(ctx)
		if err != nil {
			return nil, err
		}
		if i > 0 { // the first is a warm-up (page cache, interpreter caches)
			lat = append(lat, d)
		}
	}
	res.StartupS = stat(lat)

	for _, n := range w.Groups {
		progress(fmt.Sprintf("%s: group of %d", pair, n))
		var xs []float64
		for r := 0; r < GroupSamples(w.Repeats, n); r++ {
			specs := make([]string, n)
			for i := range specs {
				specs[i] = spec
			}
			t0 := time.Now()
			grp := gateway.NewGroup(gopts...)
			gws, err := grp.Open(ctx, specs...)
			if err != nil {
				return nil, err
			}
			var chans []*gateway.Channel
			for _, g := range gws {
				ch, err := g.RemoteExec(ctx, echo)
				if err != nil {
					grp.Terminate(ctx, 5*time.Second)
					return nil, err
				}
				if err := ch.Send(ctx, codec.Int(1)); err != nil {
					grp.Terminate(ctx, 5*time.Second)
					return nil, err
				}
				chans = append(chans, ch)
			}
			for _, ch := range chans {
				if _, err := ch.Receive(ctx); err != nil {
					grp.Terminate(ctx, 5*time.Second)
					return nil, err
				}
			}
			xs = append(xs, time.Since(t0).Seconds())
			grp.Terminate(ctx, 5*time.Second)
		}
		res.GroupS[strconv.Itoa(n)] = stat(xs)
	}

	g, err := gateway.Open(ctx, spec, gopts...)
	if err != nil {
		return nil, err
	}
	defer g.Exit(context.Background())

	// Round trips and sequential executions are measured in turns, a
	// sample of each per repeat, so that both see the same load on the
	// machine: their ratio (WriteText's round trips per execution) is
	// then a figure of one moment, not of two. The first turn is a
	// warm-up.
	progress(pair + ": round trips")
	progress(pair + ": executions, in turns with the round trips")
	roundTrips := func() (float64, error) {
		ch, err := g.RemoteExec(ctx, echo)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		for i := 0; i < w.RoundTrips; i++ {
			if err := ch.Send(ctx, codec.Int(i)); err != nil {
				return 0, err
			}
			if _, err := ch.Receive(ctx); err != nil {
				return 0, err
			}
		}
		d := time.Since(t0).Seconds()
		_ = ch.Close()
		_ = ch.WaitClose(ctx)
		return float64(w.RoundTrips) / d, nil
	}
	execs := func() (float64, error) {
		t0 := time.Now()
		for i := 0; i < w.Execs; i++ {
			ch, err := g.RemoteExec(ctx, echo)
			if err != nil {
				return 0, err
			}
			if err := ch.Send(ctx, codec.Int(i)); err != nil {
				return 0, err
			}
			if _, err := ch.Receive(ctx); err != nil {
				return 0, err
			}
			if err := ch.Close(); err != nil {
				return 0, err
			}
			if err := ch.WaitClose(ctx); err != nil {
				return 0, err
			}
		}
		return float64(w.Execs) / time.Since(t0).Seconds(), nil
	}
	var rts, exs []float64
	for r := 0; r < max(1, w.Repeats)+1; r++ {
		rt, err := roundTrips()
		if err != nil {
			return nil, err
		}
		ex := 0.0
		if w.Execs > 0 {
			if ex, err = execs(); err != nil {
				return nil, err
			}
		}
		if r > 0 {
			rts = append(rts, rt)
			if w.Execs > 0 {
				exs = append(exs, ex)
			}
		}
	}
	res.RoundTrips = stat(rts)
	res.ExecsPerS = stat(exs)

	stream := func(count, size int) (float64, error) {
		e, err := procExec(profile.Stream, kw("count", count), kw("size", size))
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		ch, err := g.RemoteExec(ctx, e)
		if err != nil {
			return 0, err
		}
		for i := 0; i < count; i++ {
			v, err := ch.Receive(ctx)
			if err != nil {
				return 0, err
			}
			if b, ok := v.(codec.Bytes); !ok || len(b) != size {
				return 0, fmt.Errorf("conform_stream sent %s, want %d bytes", codec.Repr(v), size)
			}
			// The item is checked and dropped: its memory may carry the
			// next one (as the raw pipe reuses its buffer).
			g.Recycle(v)
		}
		if err := ch.WaitClose(ctx); err != nil {
			return 0, err
		}
		return time.Since(t0).Seconds(), nil
	}
	progress(pair + ": one-way")
	var ows []float64
	for r := 0; r < max(1, w.Repeats)+1; r++ {
		d, err := stream(w.OneWay.Count, w.OneWay.Size)
		if err != nil {
			return nil, err
		}
		if r > 0 {
			ows = append(ows, float64(w.OneWay.Count)/d)
		}
	}
	res.OneWay = stat(ows)

	for _, b := range w.Bulk {
		progress(fmt.Sprintf("%s: bulk %s", pair, sizeName(b.Size)))
		count := max(1, b.Bytes/b.Size)
		var xs []float64
		for r := 0; r < max(1, w.Repeats)+1; r++ {
			d, err := stream(count, b.Size)
			if err != nil {
				return nil, err
			}
			if r > 0 {
				xs = append(xs, float64(count*b.Size)/d/(1<<20))
			}
		}
		res.BulkMiBps[strconv.Itoa(b.Size)] = stat(xs)
	}
	return res, nil
}

// PythonMaster measures a Python execnet master (interpreter python)
// against the worker that spec starts, with bench/py/channel_bench.py.
func PythonMaster(ctx context.Context, pair, python, spec string, w Workload, progress func(string)) (*PairResult, error) {
	script, err := pyScripts.ReadFile("py/channel_bench.py")
	if err != nil {
		return nil, err
	}
	progress(pair + ": running the Python master")
	dir, err := os.MkdirTemp("", "execnet-conform-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	profPath := filepath.Join(dir, "conform_profile.py")
	if err := os.WriteFile(profPath, []byte(profile.Script()), 0o644); err != nil {
		return nil, err
	}
	req := map[string]any{"spec": spec, "profile_path": profPath, "startups": w.Startups,
		"groups": w.Groups, "roundtrips": w.RoundTrips, "execs": w.Execs, "oneway": w.OneWay, "bulk": w.Bulk, "repeats": w.Repeats}
	in, _ := json.Marshal(req)
	cmd := exec.CommandContext(ctx, python, "-c", string(script))
	cmd.Stdin = bytes.NewReader(in)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s master: %w: %s", python, err, tail(stderr.String(), 2000))
	}
	var raw struct {
		StartupS   Stat            `json:"startup_s"`
		GroupS     map[string]Stat `json:"group_s"`
		RoundTrips Stat            `json:"roundtrips_per_s"`
		ExecsPerS  Stat            `json:"execs_per_s"`
		OneWay     Stat            `json:"oneway_per_s"`
		Bulk       map[string]Stat `json:"bulk_mib_per_s"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("%s master output: %w", python, err)
	}
	return &PairResult{Pair: pair, Master: python, Worker: spec, StartupS: fill(raw.StartupS), GroupS: fillMap(raw.GroupS),
		RoundTrips: fill(raw.RoundTrips), ExecsPerS: fill(raw.ExecsPerS), OneWay: fill(raw.OneWay), BulkMiBps: fillMap(raw.Bulk)}, nil
}

func fill(s Stat) Stat { return stat(s.Samples) }

func fillMap(m map[string]Stat) map[string]Stat {
	out := map[string]Stat{}
	for k, v := range m {
		out[k] = fill(v)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// RawPipe measures the physical limit with the same process layout: a
// child process (self, started with args) writes count items of size
// bytes to a pipe, one write per item, and this process reads them. It
// returns MiB/s and items/s, timed from the first bytes read to the end
// of the stream: the child's start (exec and runtime start-up, a few
// milliseconds) is not part of the figure, as a gateway's start is not
// part of its throughput. With poller false both processes use
// blocking system calls; with poller true the pipe is non-blocking and
// both wait in Go's network poller, as the gateways do.
func RawPipe(ctx context.Context, self []string, count, size int, poller bool) (mibps, perSec float64, err error) {
	args := append(append([]string(nil), self[1:]...), strconv.Itoa(count), strconv.Itoa(size))
	cmd := exec.CommandContext(ctx, self[0], args...)
	out, cw, err := newPipe(poller)
	if err != nil {
		return 0, 0, err
	}
	defer out.Close()
	growPipes(out)
	cmd.Stdout = cw
	err = cmd.Start()
	cw.Close()
	if err != nil {
		return 0, 0, err
	}
	// Read into one buffer directly: io.Copy to io.Discard would read in
	// 8 KiB pieces (Discard's ReadFrom) and understate the pipe.
	buf := make([]byte, max(size, 64<<10))
	start := time.Now()
	var t0 time.Time
	var n, first int64
	for {
		k, rerr := out.Read(buf)
		if k > 0 && first == 0 {
			t0, first = time.Now(), int64(k) // the clock starts with the first bytes
		}
		n += int64(k)
		if rerr != nil {
			if rerr != io.EOF {
				err = rerr
			}
			break
		}
	}
	end := time.Now()
	werr := cmd.Wait()
	if err == nil {
		err = werr
	}
	if err == nil && n != int64(count)*int64(size) {
		err = fmt.Errorf("raw pipe: got %d bytes, want %d", n, count*size)
	}
	timed := n - first // the bytes read after the clock started
	d := end.Sub(t0).Seconds()
	if timed == 0 || d <= 0 {
		timed, d = n, end.Sub(start).Seconds() // all in one read: spawn included
	}
	return float64(timed) / d / (1 << 20), float64(timed) / float64(size) / d, err
}

// PipeSource is the child side of RawPipe: it writes count items of size
// bytes to w, one Write per item.
func PipeSource(w io.Writer, count, size int) error {
	item := make([]byte, size)
	for i := range item {
		item[i] = byte(i % profile.StreamModulus)
	}
	for i := 0; i < count; i++ {
		if _, err := w.Write(item); err != nil {
			return err
		}
	}
	return nil
}

// RawPipeRoundTrips measures round trips of size-byte items through a
// child process that echoes what it reads (PipeEcho), the limit for
// request/response traffic. poller is as for RawPipe.
func RawPipeRoundTrips(ctx context.Context, self []string, count, size int, poller bool) (float64, error) {
	cmd := exec.CommandContext(ctx, self[0], self[1:]...)
	cr, in, err := newPipe(poller)
	if err != nil {
		return 0, err
	}
	out, cw, err := newPipe(poller)
	if err != nil {
		cr.Close()
		in.Close()
		return 0, err
	}
	defer out.Close()
	growPipes(in, out)
	cmd.Stdin, cmd.Stdout = cr, cw
	err = cmd.Start()
	cr.Close()
	cw.Close()
	if err != nil {
		in.Close()
		return 0, err
	}
	item := make([]byte, size)
	back := make([]byte, size)
	t0 := time.Now()
	for i := 0; i < count; i++ {
		if _, err = in.Write(item); err != nil {
			break
		}
		if _, err = io.ReadFull(out, back); err != nil {
			break
		}
	}
	d := time.Since(t0).Seconds()
	in.Close()
	werr := cmd.Wait()
	if err == nil {
		err = werr
	}
	return float64(count) / d, err
}

// PipeEcho is the child side of RawPipeRoundTrips.
func PipeEcho(r io.Reader, w io.Writer, size int) error {
	buf := make([]byte, size)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
}

// growPipes gives the raw pipes the buffer size the popen transport asks
// for its own (transport.PipeSize), so that the limit is measured on the
// same kind of pipe the gateways use.
func growPipes(ps ...any) {
	for _, p := range ps {
		if f, ok := p.(syscall.Conn); ok {
			transport.GrowPipe(f, transport.PipeSize)
		}
	}
}

// newPipe returns a non-blocking pipe (os.Pipe: Go's poller) or a
// blocking one (rawPipe).
func newPipe(poller bool) (r, w *os.File, err error) {
	if poller {
		return os.Pipe()
	}
	return rawPipe()
}
