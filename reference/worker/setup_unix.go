//go:build unix && !linux

package worker

import "syscall"

// addNice adds inc to the niceness of the process.
func addNice(inc int) error {
	cur, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return err
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, 0, clampNice(cur+inc))
}
