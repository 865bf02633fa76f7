//go:build unix

package gateway_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// TestTaskFarm is the acceptance test of issue #8: a task farm over 8
// Python workers and 8 Go workers in one Group, fed through a receive
// queue, gathers 10,000 results. One worker is killed mid-run: the farm
// sees its end marker, hands its outstanding tasks to the others,
// finishes, and terminates the group with no survivor needing a signal.
func TestTaskFarm(t *testing.T) {
	t.Parallel()
	const (
		nPython = 8
		nGo     = 8
		nTasks  = 10000
		window  = 16 // tasks in flight per worker
		killAt  = nTasks / 3
		victim  = 2 // a Python worker
	)
	var specs []string
	for i := 0; i < nPython; i++ {
		specs = append(specs, pythonSpec(t)+"//style=import")
	}
	for i := 0; i < nGo; i++ {
		specs = append(specs, goWorkerSpec())
	}
	ctx := testCtx(t, 60*time.Second)
	gr := gateway.NewGroup()
	gws, err := gr.Open(ctx, specs...)
	if err != nil {
		t.Fatal(err)
	}
	terminated := false
	t.Cleanup(func() {
		if !terminated {
			gr.Terminate(context.Background(), time.Second)
		}
	})
	// conform_echo is one procedure for both kinds: Python workers run
	// its source, Go workers their native version.
	mc, err := gr.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	end := codec.Str("worker gone")
	queue, err := mc.ReceiveQueue(end)
	if err != nil {
		t.Fatal(err)
	}

	chans := mc.Channels()
	index := map[*gateway.Channel]int{}
	for i, ch := range chans {
		index[ch] = i
	}
	alive := make([]bool, len(chans))
	outstanding := make([][]int, len(chans)) // per worker, in send order
	for i := range alive {
		alive[i] = true
	}
	pending := make([]int, 0, nTasks) // tasks not yet handed out
	for i := nTasks - 1; i >= 0; i-- {
		pending = append(pending, i)
	}
	done := make([]bool, nTasks)
	perWorker := make([]int, len(chans))
	ndone := 0
	killed, sawEnd := false, false

	feed := func(w int) {
		for alive[w] && len(outstanding[w]) < window && len(pending) > 0 {
			task := pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			if err := chans[w].Send(ctx, codec.Int(task)); err != nil {
				// The worker died under us: its end marker will return
				// the task with the rest of its work.
				pending = append(pending, task)
				return
			}
			outstanding[w] = append(outstanding[w], task)
		}
	}
	for w := range chans {
		feed(w)
	}
	for ndone < nTasks {
		var r gateway.Received
		select {
		case x, ok := <-queue:
			if !ok {
				t.Fatalf("queue closed with %d of %d results", ndone, nTasks)
			}
			r = x
		case <-ctx.Done():
			t.Fatalf("farm stalled at %d of %d results", ndone, nTasks)
		}
		w := index[r.Channel]
		if codec.Identical(r.Value, end) {
			if w != victim {
				t.Fatalf("end marker of %s (worker %d), which was not killed: %v", gws[w].ID(), w, gws[w].Err())
			}
			sawEnd = true
			alive[w] = false
			// Hand its outstanding tasks to the others.
			pending = append(pending, outstanding[w]...)
			outstanding[w] = nil
			for o := range chans {
				feed(o)
			}
			continue
		}
		n, ok := r.Value.(codec.Int)
		if !ok || len(outstanding[w]) == 0 || int(n) != outstanding[w][0] {
			t.Fatalf("worker %d returned %s, expected task %v first", w, codec.Repr(r.Value), outstanding[w])
		}
		outstanding[w] = outstanding[w][1:]
		if done[n] {
			t.Fatalf("task %d done twice", n)
		}
		done[n] = true
		ndone++
		perWorker[w]++
		// The victim is killed once it has done some work: a Python worker
		// can take longer to start its first task than the Go workers
		// take to do a third of them.
		if ndone >= killAt && !killed && perWorker[victim] > 0 {
			killed = true
			if err := syscall.Kill(gws[victim].Pid(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		feed(w)
	}
	if !sawEnd {
		t.Fatal("finished without seeing the killed worker's end marker")
	}
	for w, n := range perWorker {
		if n == 0 {
			t.Errorf("worker %d (%s) did no task", w, gws[w].ID())
		}
	}
	t.Logf("tasks per worker: %v (worker %d killed after %d results)", perWorker, victim, killAt)

	if err := mc.Close(); err != nil {
		t.Logf("Close: %v", err)
	}
	terminated = true
	rep := gr.Terminate(ctx, 2*time.Second)
	if len(rep.Workers) != len(gws) {
		t.Fatalf("Terminate reported %d workers, want %d", len(rep.Workers), len(gws))
	}
	for _, f := range rep.Forced() {
		if f.ID != gws[victim].ID() {
			t.Errorf("surviving worker %s needed %s: %v", f.ID, f.Stage, f.Err)
		}
	}
	for i, w := range rep.Workers {
		if i == victim {
			if !w.StatusKnown || w.Status.Signal != "SIGKILL" {
				t.Errorf("killed worker: status %+v (known %v), want SIGKILL", w.Status, w.StatusKnown)
			}
			continue
		}
		if !w.StatusKnown || w.Status.Code != 0 {
			t.Errorf("worker %s: exit status %+v (known %v), want 0", w.ID, w.Status, w.StatusKnown)
		}
	}
}
