//go:build !unix

package worker

import "os"

// ProtocolStdio returns os.Stdin and os.Stdout unchanged on systems
// without Unix descriptors; see the Unix version.
func ProtocolStdio() (in, out *os.File, err error) { return os.Stdin, os.Stdout, nil }
