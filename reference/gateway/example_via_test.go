package gateway_test

import (
	"context"
	"fmt"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// ExampleOpenVia starts a Python worker through another one (the hop), as
// execnet's makegateway("popen//via=hop") does. The hop may also be the Go
// worker ("popen//id=hop//python=execnet-conform worker").
func ExampleOpenVia() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hop, err := gateway.Open(ctx, "popen//id=hop//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hop.Exit(context.Background())
	s, err := xspec.Parse("popen//id=sub//via=hop//env:GREETING=hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	sub, err := gateway.OpenVia(ctx, hop, s)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The sub ends before its hop: its Exit goes through the relay.
	defer sub.Exit(context.Background())
	ch, err := sub.RemoteExecSource(ctx, "import os; channel.send(os.environ['GREETING'])")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := ch.Receive(ctx)
	fmt.Println(v, err)
}
