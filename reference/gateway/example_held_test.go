//go:build unix

package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// A worker that exits while a process it started keeps its output open:
// Exit reports that the connection stayed open (StageStreamHeld, which
// matches ErrStreamHeldOpen) and kills the worker's process group. Here
// the "worker" is a shell script that answers the bootstrap, starts such
// a child and exits once its input ends.
func ExampleGateway_Shutdown_streamHeldOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "held")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "worker.sh")
	body := "#!/bin/sh\nIFS= read -r line\nprintf 1\nsleep 300 &\ncat >/dev/null\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		fmt.Println(err)
		return
	}
	gw, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import")
	if err != nil {
		fmt.Println(err)
		return
	}
	stage, err := gw.Shutdown(ctx, 2*time.Second)
	fmt.Println(stage)
	fmt.Println(errors.Is(err, gateway.ErrStreamHeldOpen))
	// Output:
	// connection held open
	// true
}
