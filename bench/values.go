// Package bench measures the codec and channel throughput of the Go
// reference against msgpack/v5, against Python execnet on CPython and PyPy,
// and against the raw pipe, in the same run. See bench/README.md.
package bench

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// Value is one benchmark value in the three forms the benchmarks need.
type Value struct {
	Name   string
	Codec  codec.Value // for the Go codec
	Native any         // the same data as plain Go values, for msgpack/v5
}

// Values returns the codec benchmark values: small scalars, a 1 KiB mixed
// dict, a 1 MiB bytes value, a list of 10,000 ints and report-like nested
// dicts. They are deterministic.
func Values() []Value {
	return []Value{
		smallScalars(),
		mixedDict1K(),
		bytes1M(),
		ints10K(),
		reports(),
	}
}

func mustDict(items ...codec.Item) *codec.Dict {
	d, err := codec.NewDict(items...)
	if err != nil {
		panic(err) // the values are fixed; a failure is a bug in this file
	}
	return d
}

func smallScalars() Value {
	return Value{
		Name:   "small-scalars",
		Codec:  codec.Tuple{codec.Int(42), codec.Float(3.5), codec.Bool(true), codec.None{}, codec.Str("ok")},
		Native: []any{int64(42), 3.5, true, nil, "ok"},
	}
}

func mixedDict1K() Value {
	var items []codec.Item
	native := map[string]any{}
	for i := 0; len(items) < 24; i++ {
		k := fmt.Sprintf("key%02d", i)
		var v codec.Value
		var nv any
		switch i % 6 {
		case 0:
			v, nv = codec.Int(i*1000003), int64(i*1000003)
		case 1:
			v, nv = codec.Float(float64(i)*1.25), float64(i)*1.25
		case 2:
			s := fmt.Sprintf("value number %d with some text", i)
			v, nv = codec.Str(s), s
		case 3:
			v, nv = codec.Bool(i%4 == 3), i%4 == 3
		case 4:
			v, nv = codec.List{codec.Int(1), codec.Int(2), codec.Str("three")}, []any{int64(1), int64(2), "three"}
		case 5:
			b := []byte(fmt.Sprintf("bytes-%d-xxxxxxxx", i))
			v, nv = codec.Bytes(b), b
		}
		items = append(items, codec.Item{Key: codec.Str(k), Value: v})
		native[k] = nv
	}
	return Value{Name: "mixed-dict-1k", Codec: mustDict(items...), Native: native}
}

func bytes1M() Value {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return Value{Name: "bytes-1m", Codec: codec.Bytes(b), Native: b}
}

func ints10K() Value {
	l := make(codec.List, 10000)
	n := make([]any, 10000)
	for i := range l {
		x := int64(i*7919) - 20000000
		l[i], n[i] = codec.Int(x), x
	}
	return Value{Name: "list-10k-ints", Codec: l, Native: n}
}

// reports mimics what pytest-xdist sends per test: a list of nested dicts
// of strings, numbers, bools and None.
func reports() Value {
	var l codec.List
	var n []any
	outcomes := []string{"passed", "failed", "skipped"}
	for i := 0; i < 20; i++ {
		nodeid := fmt.Sprintf("tests/test_module_%d.py::TestClass::test_case_%d[param-%d]", i%5, i, i%3)
		loc := codec.Tuple{codec.Str(fmt.Sprintf("tests/test_module_%d.py", i%5)), codec.Int(10 + i), codec.Str(fmt.Sprintf("TestClass.test_case_%d", i))}
		sections := codec.List{codec.Tuple{codec.Str("Captured stdout call"), codec.Str("some output line\n")}}
		d := mustDict(
			codec.Item{Key: codec.Str("nodeid"), Value: codec.Str(nodeid)},
			codec.Item{Key: codec.Str("location"), Value: loc},
			codec.Item{Key: codec.Str("keywords"), Value: mustDict(
				codec.Item{Key: codec.Str("test_case"), Value: codec.Int(1)},
				codec.Item{Key: codec.Str("TestClass"), Value: codec.Int(1)},
				codec.Item{Key: codec.Str("parametrize"), Value: codec.Int(1)})},
			codec.Item{Key: codec.Str("outcome"), Value: codec.Str(outcomes[i%3])},
			codec.Item{Key: codec.Str("longrepr"), Value: codec.None{}},
			codec.Item{Key: codec.Str("when"), Value: codec.Str("call")},
			codec.Item{Key: codec.Str("user_properties"), Value: codec.List{}},
			codec.Item{Key: codec.Str("sections"), Value: sections},
			codec.Item{Key: codec.Str("duration"), Value: codec.Float(0.00123 * float64(i+1))},
			codec.Item{Key: codec.Str("worker_id"), Value: codec.Str("gw3")},
			codec.Item{Key: codec.Str("testrun_uid"), Value: codec.Str("0f4c2d5e8a9b4c1d")},
		)
		l = append(l, d)
		n = append(n, map[string]any{
			"nodeid":   nodeid,
			"location": []any{fmt.Sprintf("tests/test_module_%d.py", i%5), int64(10 + i), fmt.Sprintf("TestClass.test_case_%d", i)},
			"keywords": map[string]any{"test_case": int64(1), "TestClass": int64(1), "parametrize": int64(1)},
			"outcome":  outcomes[i%3], "longrepr": nil, "when": "call", "user_properties": []any{},
			"sections": []any{[]any{"Captured stdout call", "some output line\n"}},
			"duration": 0.00123 * float64(i+1), "worker_id": "gw3", "testrun_uid": "0f4c2d5e8a9b4c1d",
		})
	}
	return Value{Name: "reports", Codec: l, Native: n}
}
