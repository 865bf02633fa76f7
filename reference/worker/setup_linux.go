package worker

import (
	"os"
	"strconv"
	"syscall"
)

// addNice adds inc to the niceness of the whole process. On Linux the
// niceness belongs to each thread, so it sets every thread of the
// process (threads made later inherit it from the thread that makes
// them). The new value is the main thread's plus inc.
func addNice(inc int) error {
	// The raw getpriority system call returns 20 - niceness.
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, os.Getpid())
	if err != nil {
		return err
	}
	target := clampNice(20 - prio + inc)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return syscall.Setpriority(syscall.PRIO_PROCESS, 0, target)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, target); err != nil && err != syscall.ESRCH {
			return err
		}
	}
	return nil
}
