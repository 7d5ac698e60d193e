//go:build !unix

package supervise

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr has no process group to ask for outside Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills p whatever sig is: outside Unix there is no SIGTERM to
// send nor group to reach.
func signalGroup(p *os.Process, _ syscall.Signal) error {
	err := p.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}
