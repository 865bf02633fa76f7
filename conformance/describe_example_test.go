package conformance_test

import (
	"bytes"
	"fmt"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// Describe shows a value in a failure message at a cost bounded by what it
// shows: a large value is cut before it is rendered.
func ExampleDescribe() {
	fmt.Println(conformance.Describe(codec.Tuple{codec.Int(1), codec.Str("two")}, 40))
	big := codec.Bytes(bytes.Repeat([]byte("x"), 60<<20))
	fmt.Println(conformance.Describe(big, 20))
	// Output:
	// (1, 'two')
	// b'xxxxxxxxxxxxxxxxxx... (bytes cut short for display, 62914560 bytes)
}
