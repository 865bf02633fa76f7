package gateway

// Proxy gateways (via=ID), SPEC.md section 12.9: the master's side of the
// io-proxy protocol, and the constants a hop shares with it.

// The requests a master sends on the control channel of an io-proxy
// (SPEC.md 12.9, BOOT-VIA-6). The hop answers each with one item.
const (
	// ViaKill asks the hop to kill the sub; the answer is None.
	ViaKill = 1
	// ViaWait asks the hop to wait for the sub to exit; the answer is its
	// exit code, or minus the signal number that ended it.
	ViaWait = 2
	// ViaRemoteAddress asks for the address of an ssh sub; the answer is
	// text (the Go hop answers None for a popen sub).
	ViaRemoteAddress = 3
	// ViaCloseWrite asks the hop to close the sub's input; the answer is
	// None.
	ViaCloseWrite = 4
)
