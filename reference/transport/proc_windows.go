//go:build windows

package transport

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup starts the worker in a new console process group.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// signal ends the worker. Windows has no SIGTERM for console processes
// without a console, so Terminate kills as Kill does; child processes of
// the worker are not reached.
func (p *process) signal(kill bool) error {
	err := p.cmd.Process.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// killGroup does nothing: the worker's child processes are not reached
// on Windows (see signal).
func (p *process) killGroup() error { return nil }

func exitStatus(ps *os.ProcessState) ExitStatus {
	return ExitStatus{Code: ps.ExitCode()}
}
