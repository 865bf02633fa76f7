package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// Send a file's content as one bytes item: the worker receives what
// Send(codec.Bytes(content)) would send, but on Linux the content goes
// from the file to the worker's pipe without passing through this
// process's memory (CanSendFile).
func ExampleChannel_SendFile() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := os.CreateTemp("", "sendfile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(bytes.Repeat([]byte("x"), 1<<20)); err != nil {
		fmt.Println(err)
		return
	}
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		import hashlib
		data = channel.receive()
		channel.send((len(data), hashlib.md5(data).hexdigest()))
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := ch.SendFile(ctx, f, 0, 1<<20); err != nil {
		fmt.Println(err)
		return
	}
	v, err := ch.Receive(ctx)
	fmt.Println(codec.Repr(v), err)
	// Output: (1048576, 'b561f87202d04959e37588ee05cf5b10') <nil>
}
