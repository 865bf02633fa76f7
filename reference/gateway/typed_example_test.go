package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// Job is what the Go master sends; Python sees a dict with these keys.
type Job struct {
	Name  string `execnet:"name"`
	Sizes []int  `execnet:"sizes"`
	Label string `execnet:"label,omitempty"`
}

// Result is the Python worker's reply, read from its dict.
type Result struct {
	Name    string  `execnet:"name"`
	Total   int     `execnet:"total"`
	Largest int     `execnet:"largest"`
	Mean    float64 `execnet:"mean"`
}

// Send a Go struct to a Python worker and read its reply into another.
func ExampleChannel_SendGo() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python=/usr/bin/python3")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		job = channel.receive()
		sizes = job["sizes"]
		channel.send({"name": job["name"].upper(), "total": sum(sizes),
		              "largest": max(sizes), "mean": sum(sizes) / len(sizes)})
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := ch.SendGo(ctx, Job{Name: "build", Sizes: []int{3, 5, 10}}); err != nil {
		fmt.Println(err)
		return
	}
	var r Result
	err = ch.ReceiveInto(ctx, &r)
	fmt.Printf("%+v %v\n", r, err)
	// Output:
	// {Name:BUILD Total:18 Largest:10 Mean:6} <nil>
}

// TestTypedChannelPython: a Go master sends structs to CPython execnet
// and reads typed replies, including a reply that does not fit (an
// error naming the path) and a tuple into a struct.
func TestTypedChannelPython(t *testing.T) {
	py := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gw, err := gateway.Open(ctx, "popen//python="+py)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Exit(ctx)
	ch, err := gw.RemoteExecSource(ctx, `
		for job in channel:
		    if job["name"] == "bad":
		        channel.send({"name": "x", "total": 1.5, "largest": 0, "mean": 0.0})
		    else:
		        channel.send({"name": job["name"], "total": sum(job["sizes"]),
		                      "largest": max(job["sizes"]), "mean": 1.0,
		                      "extra": ("ignored", None)})
		        channel.send((job["name"], len(job["sizes"])))
	`)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SendGo(ctx, Job{Name: "ok", Sizes: []int{1, 1 << 40}}); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := ch.ReceiveInto(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if want := (Result{Name: "ok", Total: 1 + 1<<40, Largest: 1 << 40, Mean: 1}); r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	var pair struct {
		Name  string
		Count int
	}
	if err := ch.ReceiveInto(ctx, &pair); err != nil || pair.Name != "ok" || pair.Count != 2 {
		t.Errorf("tuple reply: %+v, %v", pair, err)
	}
	if err := ch.SendGo(ctx, map[string]any{"name": "bad"}); err != nil {
		t.Fatal(err)
	}
	err = ch.ReceiveInto(ctx, &r)
	var te *codec.UnmarshalTypeError
	if !errors.As(err, &te) || !errors.Is(err, codec.ErrType) || te.Path != ".total" {
		t.Fatalf("got %v, want an ErrType at .total", err)
	}
	t.Log(err)
	ch.Close()
}
