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
	// A thread that the runtime starts while we work through the list
	// inherits the niceness of the thread that starts it, which may not
	// have been set yet; so go over the list again until a whole pass
	// finds every thread at the target (a few passes at most: the runtime
	// starts threads rarely).
	for pass := 0; pass < 20; pass++ {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return syscall.Setpriority(syscall.PRIO_PROCESS, 0, target)
		}
		changed := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
			if err == syscall.ESRCH {
				continue // the thread ended
			}
			if err == nil && 20-p == target {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, target); err != nil && err != syscall.ESRCH {
				return err
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return nil
}
