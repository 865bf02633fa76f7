package conformance_test

import (
	"context"
	"fmt"
	"os"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// A case speaks frames to the target through T; Run starts the target,
// runs the cases and judges them. Here the target is CPython's execnet.
// (The example is compiled, not run: see TestRunAgainstPythonExecnet.)
func ExampleRun() {
	echo := conformance.Case{
		ID:          "example/echo/one-int",
		Clauses:     []string{"CONF-ECHO-1"},
		Level:       conformance.MUST,
		Description: "conform_echo sends an int back",
		Run: func(t *conformance.T) {
			ch := t.Exec(profile.Echo)
			t.SendData(ch, codec.Int(42))
			if got := t.ExpectData(ch); !codec.Identical(got, codec.Int(42)) {
				t.Errorf("expected 42, got %s", codec.Repr(got))
			}
			t.Send(frame.Frame{Code: spec.MsgChannelClose, Channel: ch})
		},
	}
	res, err := conformance.Run(context.Background(),
		conformance.Options{Target: "popen//python=/usr/bin/python3"},
		[]conformance.Case{echo}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(conformance.Summary(res)) // 1 passed, 0 failed
	if !res.OK() {
		os.Exit(1)
	}
}

// A case can write what it sends in pieces, as a real stream may deliver
// it, in each of the delivery modes; WithSplitBootstrap does the same for
// the bootstrap line of a second session of the target.
func ExampleT_SendSplit() {
	for _, d := range conformance.Deliveries() {
		fmt.Printf("%s: %s\n", d.Name, d.Description)
	}
	_ = conformance.Case{
		ID:          "example/delivery/status-in-single-bytes",
		Clauses:     []string{"FRM-SPLIT-1"},
		Level:       conformance.MUST,
		Description: "a STATUS request written one byte at a time is answered",
		Run: func(t *conformance.T) {
			id := t.NewChannelID()
			t.SendSplit(conformance.Deliveries()[0], frame.Frame{Code: spec.MsgStatus, Channel: id})
			t.Expect(spec.MsgChannelData, id)
			t.ExpectClose(id)
		},
	}
	// Output:
	// bytes: one byte per write
	// random: writes cut at random points (seeded), across frame boundaries
	// boundaries: each frame cut after its code byte, after its channel id, after its header and in the middle of its payload
	// coalesced: all frames of a step in one write
}
