//go:build !unix

package main

import (
	"errors"
	"syscall"
)

// errDetach says why pylon up cannot run in the background here: there is
// no signal to ask a process without a console to stop gracefully.
var errDetach = errors.New("running in the background needs a Unix system; run pylon up in a window of its own and stop it with Ctrl-C")

// detachedProcAttr is not reached where errDetach is set.
func detachedProcAttr() *syscall.SysProcAttr { return nil }

// askToStop cannot ask another process to stop gracefully here.
func askToStop(int) error { return errDetach }
