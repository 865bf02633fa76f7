//go:build linux

package worker

import "syscall"

func dupOnto(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }
