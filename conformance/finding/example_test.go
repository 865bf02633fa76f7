package finding_test

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
)

// A worker that prints to stdout after its ready byte puts text where a
// frame header belongs: Header names the clause and shows the bytes.
func ExampleHeader() {
	f := finding.Header([]byte("hello, world\n"), 64<<20)
	fmt.Println(f.Clause, f.Fatal)
	fmt.Println(f)
	// Output:
	// FRM-CODE-1 true
	// [FRM-CODE-1] message code 104 is not 0 to 7: the stream is not at a frame boundary or the sender is broken (the bytes read as text: "hello, world\n") (frame UNKNOWN(104) ch=1701604463); bytes 68656c6c6f2c20776f726c640a
}
