package codec_test

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// A test report as pytest-xdist sends it, as a Go struct.
type exampleReport struct {
	NodeID   string   `execnet:"nodeid"`
	Location [3]any   `execnet:"location,tuple"`
	Outcome  string   `execnet:"outcome"`
	Duration float64  `execnet:"duration"`
	Longrepr *string  `execnet:"longrepr"`
	Sections []string `execnet:"sections,omitempty"`
}

// Encode a struct as the dict Python execnet reads, and decode it back.
func ExampleMarshal() {
	r := exampleReport{NodeID: "t.py::test_a", Location: [3]any{"t.py", 3, "test_a"}, Outcome: "passed", Duration: 0.5}
	b, err := codec.Marshal(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := codec.Loads(b)
	fmt.Println(codec.Repr(v))
	var back exampleReport
	err = codec.Unmarshal(b, &back)
	fmt.Printf("%s %v %v %v\n", back.NodeID, back.Location, back.Longrepr, err)
	// Output:
	// {'nodeid': 't.py::test_a', 'location': ('t.py', 3, 'test_a'), 'outcome': 'passed', 'duration': 0.5, 'longrepr': None}
	// t.py::test_a [t.py 3 test_a] <nil> <nil>
}

// A value that does not fit its Go type is reported with its path.
func ExampleUnmarshal() {
	v, _ := codec.ParseLiteral(`{'reports': [{'nodeid': 'a', 'duration': 'slow'}]}`)
	b, _ := codec.Dumps(v)
	var run struct {
		Reports []exampleReport `execnet:"reports"`
	}
	fmt.Println(codec.Unmarshal(b, &run))
	// Output:
	// codec: unmarshal .reports[0].duration: str into float64
}

// Plain Go values and the dynamic Value model convert both ways.
func ExampleFromGo() {
	v, err := codec.FromGo(map[string]any{"ids": []int{1, 2}})
	fmt.Println(codec.Repr(v), err)
	fmt.Printf("%#v\n", codec.ToGo(codec.Tuple{codec.Int(1), codec.Str("x")}))
	// Output:
	// {'ids': [1, 2]} <nil>
	// []interface {}{1, "x"}
}
