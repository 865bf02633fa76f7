// Package conformance is the framework of the execnet-conform conformance
// runner: it checks an execnet worker (any implementation reachable through
// an xspec) against SPEC.md and gives a verdict per case and per clause.
//
// A Case is a named check tied to SPEC.md clause anchors. Its Run function
// gets a *T, which holds a byte-level session with the target: the runner
// has started the target and completed the bootstrap handshake, and the case
// speaks frames directly (Send, SendRaw, Recv, Exec, SendData, RecvData and
// the Expect helpers). Every frame in both directions is recorded in a
// decoded per-case trace used in failure reports.
//
// Run executes a list of cases. Consecutive cases share one target session;
// a case marked Fresh, and any case after a timeout, crash or unhealthy
// session, gets a new one. After each case the runner checks that the
// session still answers a STATUS request; if not, the case is blamed
// (Crash when the connection ended, Timeout when the deadline passed) and
// the target is restarted. Every read is bounded by the case deadline and
// every process the runner starts is killed and reaped.
//
// Outcomes are Pass, Fail, XFail and XPass (for cases listed in a
// known-failing file), Skip, Timeout and Crash. Reports are available as
// text (WriteText), JSON (WriteJSON, schema "execnet-conform/run/v1"),
// JUnit XML (WriteJUnit) and a decoded wire log of the whole run
// (Options.Trace).
package conformance
