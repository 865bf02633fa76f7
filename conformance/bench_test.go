package conformance

import (
	"context"
	"fmt"
	"testing"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// BenchmarkRunnerPerCase measures the runner's cost per case against the
// Go worker (this test binary): one conform_echo round trip per case plus
// the health check, on a shared session.
func BenchmarkRunnerPerCase(b *testing.B) {
	opts := goWorkerOptions(b)
	cases := make([]Case, b.N)
	for i := range cases {
		cases[i] = Case{ID: fmt.Sprintf("bench/echo/%d", i), Level: MUST, Run: func(t *T) {
			ch := t.Exec(profile.Echo)
			t.SendData(ch, codec.Int(1))
			t.ExpectData(ch)
			t.Send(frame.Frame{Code: spec.MsgChannelClose, Channel: ch})
		}}
	}
	b.ResetTimer()
	res, err := Run(context.Background(), opts, cases, nil)
	if err != nil {
		b.Fatal(err)
	}
	if !res.OK() {
		b.Fatalf("%s", Summary(res))
	}
}
