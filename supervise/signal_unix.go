//go:build unix

package supervise

import (
	"errors"
	"os"
	"syscall"
)

// signalGroup sends sig to the process group p leads. A group with no
// process left is not an error.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
