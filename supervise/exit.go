package supervise

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// Exit is how a process ended.
type Exit struct {
	// Code is the exit status, or -1 when a signal ended the process.
	Code int
	// Signal is the signal that ended the process, or 0.
	Signal syscall.Signal
	// Ran is how long the process ran, from start to exit.
	Ran time.Duration
	// Stopped reports that the process ended because Stop asked it to.
	Stopped bool
	// Killed reports that SIGKILL had to be sent: the group was still
	// running StopTimeout after SIGTERM.
	Killed bool
}

// Clean reports whether the process ended by itself with status 0, or by
// the SIGTERM of a stop, without needing SIGKILL.
func (e Exit) Clean() bool {
	return !e.Killed && (e.Code == 0 || e.Signal == syscall.SIGTERM)
}

// String describes the exit like os.ProcessState does: "exit status 1",
// "signal: terminated".
func (e Exit) String() string {
	if e.Signal != 0 {
		return "signal: " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// exitOf reads a finished process's state.
func exitOf(st *os.ProcessState) Exit {
	e := Exit{Code: st.ExitCode()}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
	}
	return e
}
