//go:build unix && !linux

package worker

import "syscall"

func dupOnto(oldfd, newfd int) error { return syscall.Dup2(oldfd, newfd) }
