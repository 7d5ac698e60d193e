//go:build unix && !linux

package supervise

import "syscall"

// sysProcAttr puts the child in its own process group. Only Linux can have
// the kernel kill it with its parent.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
