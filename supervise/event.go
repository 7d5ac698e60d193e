package supervise

import (
	"fmt"
	"time"
)

// EventKind says what happened to a supervised process.
type EventKind uint8

// The kinds of Event.
const (
	// Started: a process started; Event.Pid is set.
	Started EventKind = iota + 1
	// Exited: a process ended, unasked or for a restart; Event.Pid and
	// Event.Exit are set.
	Exited
	// Restarting: the next start comes after Event.Delay.
	Restarting
	// StartFailed: a start failed; Event.Err says why.
	StartFailed
	// Stopped: Stop ended the supervisor; Event.Clean says whether
	// nothing needed SIGKILL. It is the last event.
	Stopped
)

// String returns the kind in lower case ("started").
func (k EventKind) String() string {
	switch k {
	case Started:
		return "started"
	case Exited:
		return "exited"
	case Restarting:
		return "restarting"
	case StartFailed:
		return "start failed"
	case Stopped:
		return "stopped"
	}
	return "event?"
}

// Event is something that happened to a supervised process.
type Event struct {
	// Name is the Spec.Name of the process.
	Name string
	// Kind says what happened, and which fields below are set.
	Kind EventKind
	// Time is when it happened.
	Time time.Time
	// Pid is the process's id (Started, Exited).
	Pid int
	// Exit is how the process ended (Exited).
	Exit Exit
	// Delay is how long until the next start (Restarting).
	Delay time.Duration
	// Err is why the start failed (StartFailed).
	Err error
	// Clean reports a stop that needed no SIGKILL (Stopped).
	Clean bool
}

// String describes the event in a line: "orders-1: exited (exit status 1
// after 2.5s)".
func (e Event) String() string {
	switch e.Kind {
	case Started:
		return fmt.Sprintf("%s: started (pid %d)", e.Name, e.Pid)
	case Exited:
		return fmt.Sprintf("%s: exited (%v after %v)", e.Name, e.Exit, e.Exit.Ran.Round(time.Millisecond))
	case Restarting:
		return fmt.Sprintf("%s: restarting in %v", e.Name, e.Delay)
	case StartFailed:
		return fmt.Sprintf("%s: start failed: %v", e.Name, e.Err)
	case Stopped:
		if e.Clean {
			return e.Name + ": stopped"
		}
		return e.Name + ": stopped (killed)"
	}
	return e.Name + ": " + e.Kind.String()
}
