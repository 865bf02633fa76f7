// Package hostileworker lets a test binary play a misbehaving execnet
// worker, to test how the conformance runner copes with one: TestMain
// calls Main first, and a test starts "popen//python=" + the test binary
// with Env=MODE in the worker's environment.
//
// Modes:
//
//	junk-after-ready  the ready byte, then text on stdout, then the Go worker
//	bad-ready         text instead of the ready byte, then waits for EOF
//	no-status         the Go worker, except that STATUS is never answered
//	bg-child          the Go worker, with a background child in its process
//	                  group (stdio on /dev/null) that outlives it
//	child-stdout      the Go worker, with a child that holds its stdout open
//	big-frame         answers every CHANNEL_EXEC with one CHANNEL_DATA holding
//	                  a BYTES item of BigFrame bytes (STATUS as the Go worker)
//
// With PidFileEnv set, each worker appends its pid (its process group id)
// to that file, and the pid of its child to the file with ".child" added.
package hostileworker

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/worker"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Env names the misbehaviour; PidFileEnv a file for the worker's pid.
const (
	Env        = "EXECNET_CONFORM_HOSTILE"
	PidFileEnv = "EXECNET_CONFORM_HOSTILE_PIDFILE"
)

// BigFrame is the payload size of the big-frame mode's CHANNEL_DATA: 60
// MiB, under the runner's 64 MiB bound per frame.
const BigFrame = 60 << 20

// Junk is what junk-after-ready writes after its ready byte.
const Junk = "hello from the worker\n"

// childLife bounds how long a child left behind lives on its own.
const childLife = 120 * time.Second

// Main runs the mode named by Env and exits; it returns at once when Env
// is not set.
func Main() {
	mode := os.Getenv(Env)
	if mode == "" {
		return
	}
	if err := run(mode); err != nil {
		fmt.Fprintf(os.Stderr, "hostile worker %s: %v\n", mode, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func run(mode string) error {
	if mode == "child" {
		time.Sleep(childLife)
		return nil
	}
	writePidOf("", os.Getpid())
	in := bufio.NewReader(os.Stdin)
	switch mode {
	case "junk-after-ready":
		line, err := in.ReadString('\n')
		if err != nil {
			return err
		}
		if _, err := os.Stdout.WriteString(string(spec.ReadyByte) + Junk); err != nil {
			return err
		}
		// The Go worker serves on, writing its own ready byte, which the
		// wrapper drops.
		return worker.Serve(context.Background(), io.MultiReader(strings.NewReader(line), in),
			&dropFirst{w: os.Stdout, n: 1}, worker.Options{})
	case "bad-ready":
		if _, err := in.ReadString('\n'); err != nil {
			return err
		}
		if _, err := os.Stdout.WriteString("Traceback: not a worker\n"); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, in)
		return err
	case "no-status":
		line, err := in.ReadString('\n')
		if err != nil {
			return err
		}
		pr, pw := io.Pipe()
		go filterStatus(in, pw)
		return worker.Serve(context.Background(), io.MultiReader(strings.NewReader(line), pr), os.Stdout, worker.Options{})
	case "bg-child", "child-stdout":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), Env+"=child")
		if mode == "child-stdout" {
			cmd.Stdout = os.Stdout
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		// Recorded here, not by the child, so that the pid is known even
		// when the group is killed before the child gets to run.
		writePidOf(".child", cmd.Process.Pid)
		// Not waited for: it is meant to outlive this process.
		return worker.Serve(context.Background(), in, os.Stdout, worker.Options{})
	case "big-frame":
		return bigFrame(in)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// writePidOf appends pid, one a line, to the pid file (with suffix added
// to its name).
func writePidOf(suffix string, pid int) {
	p := os.Getenv(PidFileEnv)
	if p == "" {
		return
	}
	f, err := os.OpenFile(p+suffix, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	_, _ = f.WriteString(strconv.Itoa(pid) + "\n")
	_ = f.Close()
}

// dropFirst drops the first n bytes written through it.
type dropFirst struct {
	w io.Writer
	n int
}

func (d *dropFirst) Write(p []byte) (int, error) {
	k := min(d.n, len(p))
	d.n -= k
	if k == len(p) {
		return len(p), nil
	}
	n, err := d.w.Write(p[k:])
	return n + k, err
}

// filterStatus copies frames from r to w, leaving out STATUS.
func filterStatus(r io.Reader, w *io.PipeWriter) {
	fr := frame.NewReader(r)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			w.CloseWithError(err)
			return
		}
		if f.Code == spec.MsgStatus {
			continue
		}
		if err := frame.Write(w, f); err != nil {
			return
		}
	}
}

// bigFrame performs the handshake and answers every CHANNEL_EXEC with a
// BigFrame-byte CHANNEL_DATA, STATUS with an empty dict.
func bigFrame(in *bufio.Reader) error {
	if _, err := in.ReadString('\n'); err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	if err := out.WriteByte(spec.ReadyByte); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	// BYTES opcode, int32 length, the bytes, STOP.
	n := BigFrame - 6
	payload := make([]byte, BigFrame)
	payload[0] = byte(spec.OpBytes)
	binary.BigEndian.PutUint32(payload[1:5], uint32(n))
	for i := 5; i < 5+n; i++ {
		payload[i] = byte(i)
	}
	payload[BigFrame-1] = byte(spec.OpStop)
	fr := frame.NewReader(in)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return nil
		}
		switch f.Code {
		case spec.MsgChannelExec:
			err = frame.Write(out, frame.Frame{Code: spec.MsgChannelData, Channel: f.Channel, Payload: payload})
		case spec.MsgStatus:
			// {} is 4a 51
			if err = frame.Write(out, frame.Frame{Code: spec.MsgChannelData, Channel: f.Channel, Payload: []byte{0x4a, 0x51}}); err == nil {
				err = frame.Write(out, frame.Frame{Code: spec.MsgChannelClose, Channel: f.Channel})
			}
		case spec.MsgGatewayTerminate:
			return out.Flush()
		}
		if err == nil {
			err = out.Flush()
		}
		if err != nil {
			return nil
		}
	}
}
