//go:build unix

package codec_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// cpuTime returns the CPU time this process has used (all threads, GC
// included). The benchmarks report it per operation as cpu-ns/op, which,
// unlike ns/op, does not grow when other processes compete for the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op b.N times and reports cpu-ns/op besides ns/op.
func measure(b *testing.B, op func() error) {
	b.ReportAllocs()
	start := cpuTime()
	n := 0
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

// benchValue is one benchmark value as a codec value and as the same data
// in plain Go types for msgpack/v5.
type benchValue struct {
	name   string
	v      codec.Value
	native any
}

// benchValues are the values of the codec benchmarks: a lone int and a
// lone str, then the values every comparison in this project uses
// (bench.Values: small scalars, a 1 KiB mixed dict, a 1 MiB bytes value, a
// list of 10,000 ints and report-like nested dicts).
func benchValues() []benchValue {
	out := []benchValue{
		{"int", codec.Int(42), int64(42)},
		{"str", codec.Str("hello world"), "hello world"},
	}
	for _, v := range bench.Values() {
		out = append(out, benchValue{v.Name, v.Codec, v.Native})
	}
	return out
}

// benchEach runs op on every benchmark value, with SetBytes from the
// value's encoding by encode.
func benchEach(b *testing.B, encode func(benchValue) ([]byte, error), op func(bv benchValue, enc []byte) error) {
	for _, bv := range benchValues() {
		b.Run(bv.name, func(b *testing.B) {
			enc, err := encode(bv)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			measure(b, func() error { return op(bv, enc) })
		})
	}
}

func dumpsValue(bv benchValue) ([]byte, error)   { return codec.Dumps(bv.v) }
func msgpackValue(bv benchValue) ([]byte, error) { return msgpack.Marshal(bv.native) }

func BenchmarkDumps(b *testing.B) {
	benchEach(b, dumpsValue, func(bv benchValue, _ []byte) error { _, err := codec.Dumps(bv.v); return err })
}

func BenchmarkLoads(b *testing.B) {
	benchEach(b, dumpsValue, func(_ benchValue, enc []byte) error { _, err := codec.Loads(enc); return err })
}

func BenchmarkMsgpackMarshal(b *testing.B) {
	benchEach(b, msgpackValue, func(bv benchValue, _ []byte) error { _, err := msgpack.Marshal(bv.native); return err })
}

func BenchmarkMsgpackUnmarshal(b *testing.B) {
	benchEach(b, msgpackValue, func(_ benchValue, enc []byte) error { var out any; return msgpack.Unmarshal(enc, &out) })
}

// timeitScript times execnet's dumps_internal and loads_internal on each
// literal (one JSON string per stdin line) and prints, per literal, the
// best per-call time of both in nanoseconds as a JSON list: wall time for
// dumps and loads, then process CPU time for dumps and loads.
const timeitScript = `
import sys, json, time, timeit
from execnet import gateway_base as g
for line in sys.stdin:
    v = eval(json.loads(line), {"__builtins__": {}})
    data = g.dumps_internal(v)
    res = []
    for timer in (timeit.default_timer, time.process_time):
        for stmt in (lambda: g.dumps_internal(v), lambda: g.loads_internal(data)):
            t = timeit.Timer(stmt, timer=timer)
            n, _ = t.autorange()
            n = max(n, 20)
            res.append(min(t.repeat(3, n)) / n * 1e9)
    print(json.dumps(res), flush=True)
`

// BenchmarkExecnetPython reports the time real execnet on CPython takes to
// dumps_internal / loads_internal the same values, from Python's timeit
// (py-ns/op: wall time; py-cpu-ns/op: process CPU time), not from b.N.
func BenchmarkExecnetPython(b *testing.B) {
	py := peers.CPython(b)
	values := benchValues()
	var in strings.Builder
	for _, bv := range values {
		lit, _ := json.Marshal(codec.Repr(bv.v))
		in.Write(lit)
		in.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", timeitScript)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("python: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, bv := range values {
		var ns [4]float64
		if i >= len(lines) || json.Unmarshal([]byte(lines[i]), &ns) != nil {
			b.Fatalf("bad python output %q", out)
		}
		for j, op := range []string{"dumps", "loads"} {
			b.Run(bv.name+"/"+op, func(b *testing.B) {
				for b.Loop() {
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(ns[j], "py-ns/op")
				b.ReportMetric(ns[2+j], "py-cpu-ns/op")
			})
		}
	}
}

// BenchmarkLoadsZeroCopy decodes with Decoder.ZeroCopy: bytes and str
// values share the input's memory.
func BenchmarkLoadsZeroCopy(b *testing.B) {
	d := codec.Decoder{StrConfig: codec.ChannelStrConfig, ZeroCopy: true}
	for _, bv := range benchValues() {
		b.Run(bv.name, func(b *testing.B) {
			enc, err := codec.Dumps(bv.v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			measure(b, func() error { _, _, err := d.Loads(enc); return err })
		})
	}
}

// BenchmarkAppendDumps encodes into a reused buffer, as a gateway writing
// frames does: no allocation once the buffer has grown.
func BenchmarkAppendDumps(b *testing.B) {
	for _, bv := range benchValues() {
		b.Run(bv.name, func(b *testing.B) {
			buf, err := codec.AppendDumps(nil, bv.v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			measure(b, func() (err error) { buf, err = codec.AppendDumps(buf[:0], bv.v); return err })
		})
	}
}
