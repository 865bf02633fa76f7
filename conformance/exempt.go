package conformance

// Exemption records a MUST clause of SPEC.md that no case can check from a
// master speaking to a worker over the wire (for example a rule binding
// masters, a local API, or the public serialization form), together with
// the Go test that covers it instead.
type Exemption struct {
	Clause    string // anchor without brackets, e.g. "BOOT-HS-5"
	CoveredBy string // packages and test names that check the clause
	Reason    string // why the clause is not wire-testable from a master
}

// Exemptions returns the clauses exempt from the coverage rule that every
// MUST clause is cited by at least one case (see TestSpecCoverage). A
// clause that a case cites must not be listed here.
func Exemptions() []Exemption {
	return []Exemption{
		{"BOOT-HS-1", "reference/transport TestPyStringLiteralRoundTrip, TestPopenImportStyle",
			"binds the master: the runner is the master and performs the handshake before any case runs"},
		{"BOOT-HS-4", "reference/transport TestBootstrapGarbage, TestBootstrapWorkerExits",
			"binds the master's handling of a bad ready byte; the runner reports such a target as a harness error (exit 2), tested in testdata/script/usage.txtar"},
		{"BOOT-HS-5", "reference/transport TestBootstrapTimeout, TestBootstrapTimeoutUnreadLine",
			"binds the master's bootstrap timeout"},
		{"BOOT-POPEN-1", "reference/transport TestPopenImportStyle; reference/xspec TestPythonArgs",
			"binds how a master starts a popen worker (argument vector)"},
		{"BOOT-POPEN-2", "reference/transport TestPopenImportStyle",
			"binds how a master wires the worker's standard streams"},
		{"BOOT-SOCK-1", "reference/transport TestSocketExecnetServer",
			"binds a socket master"},
		{"BOOT-SOCK-2", "reference/transport TestOpenDispatch",
			"binds a socket master's xspec validation"},
		{"BOOT-SRC-1", "reference/transport TestPopenImportStyle; reference/transport/sshtransport TestGatewayExecStyle",
			"binds the bootstrap source a master sends"},
		{"BOOT-SSH-1", "reference/transport/sshtransport TestPythonWorkerOverSSH",
			"binds an ssh master"},
		{"BOOT-SSH-2", "reference/transport/sshtransport TestFailures",
			"binds an ssh master's error reporting"},
		{"MSG-EXEC-1", "reference/gateway TestWireBytesMaster, TestIDParity",
			"binds the master's CHANNEL_EXEC frames; the runner's own frames are fixed by conformance.T.Exec"},
		{"MSG-EXEC-9", "reference/gateway TestWireBytesMaster",
			"binds a master receiving CHANNEL_EXEC; a worker under test is never in that role"},
		{"MSG-STATUS-1", "reference/gateway TestWireBytesMaster",
			"binds the master's STATUS frames"},
		{"MSG-TERM-1", "reference/gateway TestWireBytesMaster, TestExitEscalation",
			"binds the master's GATEWAY_TERMINATE frame"},
		{"MSG-RECONF-1", "reference/gateway TestWireBytesMaster",
			"binds the sender of RECONFIGURE, which in the suite is the runner"},
		{"TERM-EXIT-1", "reference/gateway TestExitEscalation",
			"binds a master ending a gateway"},
		{"TERM-EXIT-2", "reference/gateway TestConnectionLost, TestPythonWorkerKilled",
			"binds the behaviour of a local API after the connection ended; not visible on the wire"},
		{"TERM-KILL-1", "reference/gateway TestExitEscalation, TestGroupTerminate; reference/transport TestProcessTerminateKill",
			"binds a master's escalation when terminating a worker"},
		{"TERM-KILL-2", "reference/gateway TestGroupTerminate; reference/transport TestProcessTerminateKill",
			"binds a master reaping its workers"},
		{"CHAN-STATE-8", "reference/gateway TestChannelStateMachine",
			"the error goes to the local caller; a worker's refusal to send leaves no trace on the wire a master could tell from silence"},
		{"CHAN-CB-3", "reference/gateway TestCallbackPanic",
			"callbacks are a local API of the receiving side; a worker-side callback cannot be installed through the conformance profile"},
		{"MSG-CLOSEERR-3", "reference/gateway TestRemoteErrorThenEOF",
			"binds how the receiving side reports the error to its application"},
		{"XSPEC-DUP-1", "reference/xspec TestParseErrors, TestParseMatchesExecnet",
			"binds xspec parsers (masters), not workers"},
		{"XSPEC-ENV-1", "reference/gateway TestPythonPeers",
			"binds a master's setup of chdir/nice/env after the bootstrap"},
		{"XSPEC-KEY-1", "reference/xspec TestParseKinds; reference/transport TestOpenDispatch",
			"binds xspec parsers and masters"},
		{"XSPEC-KEY-2", "reference/xspec TestParseFields, TestValidate",
			"binds xspec parsers"},
		{"XSPEC-SYN-1", "reference/xspec TestParseFields, TestParseMatchesExecnet",
			"binds xspec parsers"},
		{"XSPEC-SYN-2", "reference/xspec TestParseErrors",
			"binds xspec parsers"},
		{"SER-PUB-1", "reference/codec TestVectors, TestGoldenRoundTrip",
			"the public (versioned) form is a library API; the profile's conform_dumps and conform_loads use the wire form only"},
		{"SER-PUB-2", "reference/codec TestVectors, TestDecodeErrors; fuzz FuzzLoadsVersioned",
			"the public form is a library API, not carried in frames"},
		{"SER-PUB-3", "reference/codec TestDecodeErrors, TestVectors",
			"the public form is a library API, not carried in frames"},
		{"SER-PUB-4", "reference/codec TestDecodeErrors",
			"the public form is a library API, not carried in frames"},
		{"SER-REG-3", "spec TestConstsMatchSpec, TestAnchorsStable",
			"binds later versions of SPEC.md, not implementations"},
		{"GEN-CONF-1", "conformance TestSpecCoverage",
			"defines conformance as satisfying the other clauses; the suite as a whole checks it"},
		{"ERR-NAME-1", "spec TestErrorClassesMatchSpec; reference/worker TestErrorClass",
			"binds the spelling of error class names in implementations and reports; the cases check the worker's conform_loads texts by these names"},
		{"SEC-EXEC-1", "reference/worker TestListenDefaultsToLoopback",
			"a deployment rule (who may reach a worker), not a protocol behaviour"},
		{"SEC-SOCK-1", "reference/worker TestListenDefaultsToLoopback",
			"binds a socket server's default bind address, not the protocol"},
		{"SEC-SSH-1", "reference/transport/sshtransport TestFailures",
			"binds an ssh master's host key check"},
		{"SEC-RUN-2", "conformance TestTargetGetsNoSecrets",
			"binds the conformance runner itself: popen targets get only a secret-free environment"},
		{"SEC-RUN-1", "conformance TestRunOutcomes, TestRunHungWriteIsKilled",
			"binds the conformance runner itself"},
	}
}
