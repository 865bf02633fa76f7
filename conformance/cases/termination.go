package cases

import (
	"errors"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// graceTimeout bounds the case with executions still running at EOF:
// execnet waits 5 s, interrupts, waits 10 s more, then exits (TERM-EOF-2).
const graceTimeout = 20 * time.Second

// expectExitZero waits for the worker process to exit with status 0. A
// target without a local process (socket) must end the connection.
func expectExitZero(t *conformance.T) {
	st, err := t.WaitExit()
	if errors.Is(err, conformance.ErrNoProcess) {
		t.ExpectEnd()
		return
	}
	if err != nil {
		t.Fatalf("the worker process did not exit: %v", err)
	}
	if st.Code != 0 || st.Signal != "" {
		t.Fatalf("the worker process ended with code %d signal %q, want exit status 0", st.Code, st.Signal)
	}
}

func terminationCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "termination/terminate/process-exits-zero",
			Clauses:     []string{cMsgTerminate, cTermExitZero},
			Level:       conformance.MUST,
			Description: "after GATEWAY_TERMINATE (sending half still open) the worker exits with status 0",
			Fresh:       true,
			Run: func(t *conformance.T) {
				t.Discard()
				t.Send(frame.Frame{Code: spec.MsgGatewayTerminate, Channel: 0})
				expectExitZero(t)
			},
		},
		{
			ID:          "termination/terminate/connection-ends",
			Clauses:     []string{cMsgTerminate},
			Level:       conformance.MUST,
			Description: "after GATEWAY_TERMINATE the worker ends the connection",
			Fresh:       true,
			Run: func(t *conformance.T) {
				t.Send(frame.Frame{Code: spec.MsgGatewayTerminate, Channel: 0})
				t.ExpectEnd()
			},
		},
		{
			ID:          "termination/eof/process-exits-zero",
			Clauses:     []string{cTermEOF, cTermExitZero, cFrmEOF},
			Level:       conformance.MUST,
			Description: "when its input ends (EOF at a frame boundary) the worker ends the connection and exits with status 0",
			Fresh:       true,
			Run: func(t *conformance.T) {
				t.CloseWrite()
				t.ExpectEnd()
				expectExitZero(t)
			},
		},
		{
			ID:          "termination/eof/running-echo-ends",
			Clauses:     []string{cChanConnEnd, cTermStop, cTermEOF, cTermExitZero, cProfEcho, "MSG-EXEC-7"},
			Level:       conformance.MUST,
			Description: "EOF while conform_echo runs: the echo's channel becomes sendonly, the execution ends, the worker exits with status 0 within the case bound",
			Fresh:       true,
			Timeout:     robustTimeout,
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.SendData(ch, codec.Int(1))
				recvData(t, ch, "1")
				t.CloseWrite()
				t.ExpectEnd()
				expectExitZero(t)
			},
		},
		{
			ID:          "termination/eof/running-execution-interrupted",
			Clauses:     []string{cTermGrace, cProfSleep},
			Level:       conformance.MUST,
			Description: "EOF while conform_sleep(60) runs: the worker interrupts it after its bounded grace periods and exits (any status) within 20 s",
			Fresh:       true,
			Timeout:     graceTimeout,
			Run: func(t *conformance.T) {
				t.Exec(profile.Sleep, item("seconds", codec.Float(60)))
				t.CloseWrite()
				t.ExpectEnd()
				st, err := t.WaitExit()
				switch {
				case errors.Is(err, conformance.ErrNoProcess):
				case err != nil:
					t.Fatalf("the worker process did not exit: %v", err)
				default:
					t.Logf("the worker exited with code %d signal %q", st.Code, st.Signal)
				}
			},
		},
	}
}
