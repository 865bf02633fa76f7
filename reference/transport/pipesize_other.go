//go:build !linux

package transport

import "syscall"

// GrowPipe asks for a larger pipe buffer where the system allows it
// (Linux); elsewhere it does nothing and reports false.
func GrowPipe(f syscall.Conn, size int) bool { return false }
