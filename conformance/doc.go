// Package conformance is the framework of the execnet-conform conformance
// runner: it checks an execnet worker (any implementation reachable through
// an xspec) against SPEC.md and gives a verdict per case and per clause.
//
// Run the suite against a worker and report as the CLI does:
//
//	known, err := conformance.OpenKnownFailing("execnet-1.9.0") // or a file
//	if err != nil {
//		log.Fatal(err)
//	}
//	opts := conformance.Options{Target: "popen//python=/usr/bin/python3", KnownFailing: known}
//	rep := conformance.NewTextReporter(os.Stdout, conformance.TextOptions{})
//	res, err := conformance.Run(ctx, opts, cases.All(), rep) // package conformance/cases
//	if err != nil || !res.OK() {
//		os.Exit(1)
//	}
//
// WriteJSON and WriteJUnit write the result for machines. Cases of your
// own are Case values whose Run speaks frames through a *T (see ExampleRun).
// The sections below describe the framework inside.
//
// # Cases
//
// A Case is a named check tied to SPEC.md clause anchors. Its Run function
// gets a *T, which holds a byte-level session with the target: the runner
// has started the target and completed the bootstrap handshake, and the case
// speaks frames directly (Send, SendRaw, Recv, RecvOn, Exec, SendData,
// RecvData, Status and the Expect helpers). Every frame in both directions is
// recorded in a decoded per-case trace used in failure reports.
//
// # Sessions
//
// Run executes a list of cases. Consecutive cases share one target session;
// a case marked Fresh, and any case after a timeout, crash or unhealthy
// session, gets a new one. After each case the runner checks that the
// session still answers a STATUS request; if not, the case is blamed
// (Crash when the connection ended, Timeout when the deadline passed) and
// the target is restarted. Bytes the runner cannot parse fail the case
// (package finding judges them and names the clause) and the target is
// restarted; after a streak of the same systematic failure the remaining
// cases are Blocked. Without Options.Timeout, deadlines scale with the
// target's round-trip time; a timed-out case is retried once, with twice
// the deadline. Every read is bounded by the case deadline,
// read-ahead and buffered frames are bounded, and every process the runner
// starts is killed and reaped. Popen targets get a reduced environment
// (TargetEnv) so that an untrusted target sees no secrets.
//
// # Outcomes
//
// Outcomes are Pass, Fail, XFail and XPass (for cases listed in a
// known-failing file, see KnownFailure), Skip, Timeout, Crash, Blocked and
// Interrupted; one function (verdict.go) decides them from what was
// observed. Fail, XPass, Timeout, Crash, Blocked, Interrupted and a stale
// known-failing entry make Result.OK false; the command exits with status
// 1 then, 2 for harness errors and interrupted runs (whose reports are
// still written).
//
// # Reports
//
// Reports are available as text (TextReporter), JSON (WriteJSON), JUnit
// XML (WriteJUnit) and a decoded wire log of the whole run (Options.Trace).
// The JSON schema "execnet-conform/run/v1" is stable: new fields may be
// added, existing ones keep their names and meaning. Its fields are
// schema, suite_version, spec_version, target, implementation (the
// target's conform_info dict), seed, count, started (RFC 3339), duration_ms,
// ok, summary, counts (per outcome, plus stale), cases (id, clauses, level,
// description, outcome, message, logs, duration_ms, known_failing, trace,
// slow, attempts), stale (case_id, deviation, file, line), interrupted and
// blocked (why the run ended early), rtt_ms and timeout_scale.
//
// # Running the suite against a worker
//
// A port author runs
//
//	execnet-conform run --target 'popen//python=/path/to/worker-command'
//
// where the worker command behaves like a Python interpreter started by
// execnet: it accepts "-u -c LINE" (ignoring them), reads one bootstrap line
// from stdin, writes the byte "1", then speaks frames on stdin/stdout and
// implements the conformance profile procedures (SPEC.md section 13) by
// call_name. "--run serial,channel" and "--skip robustness" select cases
// (list them with "execnet-conform list"), "--profile via" adds the cases
// of an optional profile the worker claims (SPEC.md 12.8; Case.Profile,
// Selector.Profiles), "--known-failing FILE" records
// accepted deviations, "--format json", "--junit FILE" and "--trace FILE"
// produce machine-readable reports and a wire log.
package conformance
