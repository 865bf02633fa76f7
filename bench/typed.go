package bench

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// MixedDict is the 1 KiB mixed dict of Values as a Go struct: 24 fields
// key00..key23 cycling through int, float, str, bool, list and bytes.
type MixedDict struct {
	Key00 int64   `execnet:"key00" msgpack:"key00"`
	Key01 float64 `execnet:"key01" msgpack:"key01"`
	Key02 string  `execnet:"key02" msgpack:"key02"`
	Key03 bool    `execnet:"key03" msgpack:"key03"`
	Key04 []any   `execnet:"key04" msgpack:"key04"`
	Key05 []byte  `execnet:"key05" msgpack:"key05"`
	Key06 int64   `execnet:"key06" msgpack:"key06"`
	Key07 float64 `execnet:"key07" msgpack:"key07"`
	Key08 string  `execnet:"key08" msgpack:"key08"`
	Key09 bool    `execnet:"key09" msgpack:"key09"`
	Key10 []any   `execnet:"key10" msgpack:"key10"`
	Key11 []byte  `execnet:"key11" msgpack:"key11"`
	Key12 int64   `execnet:"key12" msgpack:"key12"`
	Key13 float64 `execnet:"key13" msgpack:"key13"`
	Key14 string  `execnet:"key14" msgpack:"key14"`
	Key15 bool    `execnet:"key15" msgpack:"key15"`
	Key16 []any   `execnet:"key16" msgpack:"key16"`
	Key17 []byte  `execnet:"key17" msgpack:"key17"`
	Key18 int64   `execnet:"key18" msgpack:"key18"`
	Key19 float64 `execnet:"key19" msgpack:"key19"`
	Key20 string  `execnet:"key20" msgpack:"key20"`
	Key21 bool    `execnet:"key21" msgpack:"key21"`
	Key22 []any   `execnet:"key22" msgpack:"key22"`
	Key23 []byte  `execnet:"key23" msgpack:"key23"`
}

// TestReport is one test report of the reports value as a Go struct.
type TestReport struct {
	NodeID         string         `execnet:"nodeid" msgpack:"nodeid"`
	Location       Location       `execnet:"location" msgpack:"location"`
	Keywords       map[string]int `execnet:"keywords" msgpack:"keywords"`
	Outcome        string         `execnet:"outcome" msgpack:"outcome"`
	Longrepr       *string        `execnet:"longrepr" msgpack:"longrepr"`
	When           string         `execnet:"when" msgpack:"when"`
	UserProperties []any          `execnet:"user_properties" msgpack:"user_properties"`
	Sections       []Section      `execnet:"sections" msgpack:"sections"`
	Duration       float64        `execnet:"duration" msgpack:"duration"`
	WorkerID       string         `execnet:"worker_id" msgpack:"worker_id"`
	TestrunUID     string         `execnet:"testrun_uid" msgpack:"testrun_uid"`
}

// Location is a report's (path, line, domain) tuple.
type Location struct {
	_msgpack struct{} `msgpack:",as_array" execnet:",tuple"`
	Path     string
	Line     int
	Domain   string
}

// Section is a report's (title, content) tuple.
type Section struct {
	_msgpack struct{} `msgpack:",as_array" execnet:",tuple"`
	Title    string
	Content  string
}

// TypedValue is a benchmark value with a Go struct type: Ptr points to
// a value of the type, filled; New returns a pointer to a zero one.
type TypedValue struct {
	Name string
	Ptr  any
	New  func() any
}

// TypedValues returns the 1 KiB mixed dict and the reports of Values as
// Go structs (a MixedDict and a []TestReport), for the typed Marshal and
// Unmarshal benchmarks. Marshal of each gives the bytes Dumps gives for
// the codec value (up to the order of the keywords map).
func TypedValues() []TypedValue {
	vals := Values()
	var out []TypedValue
	for _, v := range vals {
		switch v.Name {
		case "mixed-dict-1k":
			out = append(out, TypedValue{Name: v.Name, Ptr: mustTyped[MixedDict](v), New: func() any { return new(MixedDict) }})
		case "reports":
			out = append(out, TypedValue{Name: v.Name, Ptr: mustTyped[[]TestReport](v), New: func() any { return new([]TestReport) }})
		}
	}
	return out
}

// mustTyped fills a T from the value's wire form, checking that msgpack
// reads the native form into the same T.
func mustTyped[T any](v Value) *T {
	wire, err := codec.Dumps(v.Codec)
	if err != nil {
		panic(err)
	}
	t := new(T)
	if err := codec.Unmarshal(wire, t); err != nil {
		panic(fmt.Sprintf("%s: %v", v.Name, err)) // the values are fixed
	}
	mp, err := msgpack.Marshal(v.Native)
	if err != nil {
		panic(err)
	}
	if err := msgpack.Unmarshal(mp, new(T)); err != nil {
		panic(fmt.Sprintf("%s: msgpack: %v", v.Name, err))
	}
	return t
}
