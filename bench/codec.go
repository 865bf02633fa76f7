package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// CodecFigure is the time per call of one serializer on one value.
type CodecFigure struct {
	DumpsNs float64 `json:"dumps_ns"`
	LoadsNs float64 `json:"loads_ns"`
	Bytes   int     `json:"bytes"`
}

// CodecRow compares the serializers on one value.
type CodecRow struct {
	Value   string                 `json:"value"`
	Figures map[string]CodecFigure `json:"figures"` // by serializer: go, msgpack, and one per Python
}

// Serializer names used in CodecRow.Figures.
const (
	SerGo      = "go"
	SerMsgpack = "msgpack/v5"
)

// GoCodec times the Go codec's Dumps and Loads on v in this process.
func GoCodec(v Value) (CodecFigure, error) {
	wire, err := codec.Dumps(v.Codec)
	if err != nil {
		return CodecFigure{}, fmt.Errorf("%s: %w", v.Name, err)
	}
	var benchErr error
	d := testing.Benchmark(func(b *testing.B) {
		buf := make([]byte, 0, len(wire))
		b.ReportAllocs()
		for b.Loop() {
			out, err := codec.AppendDumps(buf[:0], v.Codec)
			if err != nil {
				benchErr = err
				return
			}
			buf = out
		}
	})
	l := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := codec.Loads(wire); err != nil {
				benchErr = err
				return
			}
		}
	})
	return CodecFigure{DumpsNs: float64(d.NsPerOp()), LoadsNs: float64(l.NsPerOp()), Bytes: len(wire)}, benchErr
}

// Msgpack times msgpack/v5 on the same data as plain Go values.
func Msgpack(v Value) (CodecFigure, error) {
	enc, err := msgpack.Marshal(v.Native)
	if err != nil {
		return CodecFigure{}, err
	}
	var benchErr error
	d := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := msgpack.Marshal(v.Native); err != nil {
				benchErr = err
				return
			}
		}
	})
	l := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out any
			if err := msgpack.Unmarshal(enc, &out); err != nil {
				benchErr = err
				return
			}
		}
	})
	return CodecFigure{DumpsNs: float64(d.NsPerOp()), LoadsNs: float64(l.NsPerOp()), Bytes: len(enc)}, benchErr
}

// CompareCodecs measures the Go codec, msgpack/v5 and Python execnet in
// each of pythons (name → interpreter path) on Values(), in one run.
func CompareCodecs(ctx context.Context, pythons map[string]string, budget float64) ([]CodecRow, error) {
	vals := Values()
	rows := make([]CodecRow, len(vals))
	var wires []WireValue
	for i, v := range vals {
		rows[i] = CodecRow{Value: v.Name, Figures: map[string]CodecFigure{}}
		g, err := GoCodec(v)
		if err != nil {
			return nil, err
		}
		rows[i].Figures[SerGo] = g
		m, err := Msgpack(v)
		if err != nil {
			return nil, err
		}
		rows[i].Figures[SerMsgpack] = m
		w, _ := codec.Dumps(v.Codec)
		wires = append(wires, WireValue{v.Name, w})
	}
	for name, py := range pythons {
		rep, err := PythonCodec(ctx, py, wires, budget)
		if err != nil {
			return nil, err
		}
		for i, r := range rep.Results {
			rows[i].Figures[name] = CodecFigure{DumpsNs: r.DumpsNs, LoadsNs: r.LoadsNs, Bytes: r.Bytes}
		}
	}
	return rows, nil
}
