//go:build unix

package main

import "syscall"

// errDetach is nil where pylon up can run in the background.
var errDetach error

// detachedProcAttr starts the background pylon up in a session of its own,
// so that closing the terminal does not stop it.
func detachedProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// askToStop asks the pylon up with this pid to stop as Ctrl-C would.
func askToStop(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }
