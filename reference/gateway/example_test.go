package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
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

// Run code remotely and read its result: the execution's channel carries
// what the remote code sends.
func ExampleGateway_RemoteExecSource() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		import sys
		channel.send((sum(range(101)), sys.version_info[0]))
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := ch.Receive(ctx)
	fmt.Println(codec.Repr(v), err)
	fmt.Println(ch.WaitClose(ctx))
	// Output:
	// (5050, 3) <nil>
	// <nil>
}

// Compare the worker's working directory and process id with ours; the
// chdir= key moves the worker to another directory (created if missing).
func Example_cwdAndPid() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	local, _ := os.Getwd()
	for _, spec := range []string{"popen//python=/usr/bin/python3", "popen//python=/usr/bin/python3//chdir=" + dir} {
		gw, err := gateway.Open(ctx, spec)
		if err != nil {
			fmt.Println(err)
			return
		}
		ch, err := gw.RemoteExecSource(ctx, `
			import os
			channel.send((os.getcwd(), os.getpid()))
		`)
		if err != nil {
			fmt.Println(err)
			return
		}
		v, err := ch.Receive(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		t := v.(codec.Tuple)
		cwd, pid := string(t[0].(codec.Str)), int(t[1].(codec.Int))
		fmt.Printf("same cwd: %v, in chdir= dir: %v, same pid: %v, pid is gw.Pid(): %v\n",
			cwd == local, cwd == dir, pid == os.Getpid(), pid == gw.Pid())
		gw.Exit(ctx)
	}
	// Output:
	// same cwd: true, in chdir= dir: false, same pid: false, pid is gw.Pid(): true
	// same cwd: false, in chdir= dir: true, same pid: false, pid is gw.Pid(): true
}

// Send a channel over a channel, in both directions: a channel value
// sent inside data arrives as a channel with the same id on the other
// side.
func ExampleChannel_sendChannel() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		reply_to = channel.receive()          # a channel we opened
		reply_to.send("hello on the channel you sent")
		mine = channel.gateway.newchannel()   # a channel the worker opens
		channel.send(mine)
		mine.send(mine.receive() * 2)
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	ours := gw.NewChannel()
	defer ours.Close()
	if err := ch.Send(ctx, ours); err != nil {
		fmt.Println(err)
		return
	}
	v, err := ours.Receive(ctx)
	fmt.Println(codec.Repr(v), err)

	v, err = ch.Receive(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	theirs := v.(*gateway.Channel)
	defer theirs.Close()
	theirs.Send(ctx, codec.Int(21))
	v, err = theirs.Receive(ctx)
	fmt.Println(codec.Repr(v), err)
	// Output:
	// 'hello on the channel you sent' <nil>
	// 42 <nil>
}

// A task farm: a group of workers runs the same code, one receive queue
// gathers every result with the channel it came from, and each worker
// gets its next task when it returns a result.
func ExampleMultiChannel_ReceiveQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gr := gateway.NewGroup()
	defer gr.Terminate(ctx, 2*time.Second)
	py := "popen//python=/usr/bin/python3"
	if _, err := gr.Open(ctx, py, py, py); err != nil {
		fmt.Println(err)
		return
	}
	mc, err := gr.RemoteExecSource(ctx, `
		for n in channel:
		    channel.send((n, n * n))
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	queue, err := mc.ReceiveQueue(codec.Str("done"))
	if err != nil {
		fmt.Println(err)
		return
	}
	tasks := 20
	next, results, sum := 0, 0, 0
	for _, ch := range mc.Channels() { // one task each to start
		ch.Send(ctx, codec.Int(next))
		next++
	}
	for r := range queue {
		if r.Value == codec.Value(codec.Str("done")) {
			continue // a worker's channel ended
		}
		sum += int(r.Value.(codec.Tuple)[1].(codec.Int))
		if results++; results == tasks {
			mc.Close() // ends the loops; the queue closes after the end markers
			continue
		}
		if next < tasks {
			r.Channel.Send(ctx, codec.Int(next))
			next++
		}
	}
	fmt.Println("sum of squares below 20:", sum)
	// Output:
	// sum of squares below 20: 2470
}

// Redirect the remote output into a channel: the remote code replaces
// sys.stdout with channel.makefile('w'), and a ChannelReader with
// bufio.Scanner reads it line by line.
func ExampleChannel_MakeReader() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		import sys
		sys.stdout = channel.makefile("w")
		for word in ["alpha", "beta", "gamma"]:
		    print(word, len(word))
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	sc := bufio.NewScanner(ch.MakeReader(ctx, gateway.FileOptions{}))
	for sc.Scan() {
		fmt.Println("remote:", sc.Text())
	}
	fmt.Println(sc.Err())
	// Output:
	// remote: alpha 5
	// remote: beta 4
	// remote: gamma 5
	// <nil>
}

// Call a Python function from Go with keyword arguments, the way
// execnet's remote_exec(function, **kwargs) does: the source defines the
// function, CallName names it, and the worker calls it with the channel
// and Kwargs.
func ExampleGateway_RemoteExec() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	kwargs, _ := codec.NewDict(
		codec.Item{Key: codec.Str("factor"), Value: codec.Int(3)},
		codec.Item{Key: codec.Str("items"), Value: codec.List{codec.Int(1), codec.Float(2.5), codec.Str("ab")}},
	)
	ch, err := gw.RemoteExec(ctx, gateway.Exec{
		Source: `
def scale(channel, factor, items):
    channel.send([x * factor for x in items])
`,
		FileName: "scale.py",
		CallName: "scale",
		Kwargs:   kwargs,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := ch.Receive(ctx)
	fmt.Println(codec.Repr(v), err)
	// Output:
	// [3, 7.5, 'ababab'] <nil>
}

// Stream large bytes items from a worker and give each item's memory
// back once it has been used, so that the next one is read into it.
func ExampleGateway_Recycle() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		block = bytes(1 << 20)
		for _ in range(64):
		    channel.send(block)
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	total := 0
	for {
		v, err := ch.Receive(ctx)
		if err != nil {
			break // EOF once the remote code has finished
		}
		total += len(v.(codec.Bytes))
		gw.Recycle(v) // v must not be used after this
	}
	fmt.Println(total>>20, "MiB")
	// Output: 64 MiB
}
