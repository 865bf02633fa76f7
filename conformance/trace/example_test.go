package trace_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Record a monitored session and read it back.
func Example() {
	var buf bytes.Buffer
	w := trace.NewWriter(&buf, time.Now(), "example", []string{"python3"})
	m := monitor.New(monitor.Options{OnEvent: w.Event})
	payload, _ := codec.Dumps(codec.Str("hi"))
	m.Write(monitor.Worker, frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: 2, Payload: payload}))
	m.Close(monitor.Master)
	m.Close(monitor.Worker)
	m.Wait()
	w.Close()

	tr, err := trace.Read(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range tr.Records {
		if r.Kind == trace.KindFrame {
			fmt.Println(r.From, r.Code, r.Channel, r.Repr)
		}
	}
	fmt.Println(len(tr.Findings()), "findings")
	// Output:
	// worker CHANNEL_DATA 2 'hi'
	// 0 findings
}
