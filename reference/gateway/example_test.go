package gateway_test

import (
	"context"
	"fmt"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// Start a Python worker with execnet, run code in it and talk to it over
// the execution's channel.
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		for item in channel:
		    channel.send(item * 2)
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	ch.Send(ctx, codec.Int(21))
	v, err := ch.Receive(ctx)
	fmt.Println(codec.Repr(v), err)
	ch.Close()
}
