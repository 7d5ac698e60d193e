package proxy

import (
	"net"
	"time"
)

// deadlines remembers the deadlines last set on a connection so the request
// path can skip setting one that would barely move: every set modifies a
// runtime timer, which shows in profiles at tens of thousands of requests a
// second. A deadline is set again only when the one in force is later than
// wanted or earlier by more than the slack given. All sets of a connection's
// deadlines go through its deadlines, from one goroutine at a time.
type deadlines struct {
	read, write time.Time
}

// setRead makes the read deadline at most want and at least want-slack.
func (d *deadlines) setRead(c net.Conn, want time.Time, slack time.Duration) {
	if near(d.read, want, slack) {
		return
	}
	c.SetReadDeadline(want)
	d.read = want
}

// setWrite makes the write deadline at most want and at least want-slack.
func (d *deadlines) setWrite(c net.Conn, want time.Time, slack time.Duration) {
	if near(d.write, want, slack) {
		return
	}
	c.SetWriteDeadline(want)
	d.write = want
}

// reset forgets what was set (after a deadline was set directly).
func (d *deadlines) reset() { *d = deadlines{} }

// near reports whether have is in [want-slack, want]; the zero time (no
// deadline) is close only to itself.
func near(have, want time.Time, slack time.Duration) bool {
	if have.IsZero() || want.IsZero() {
		return have.IsZero() && want.IsZero()
	}
	return !have.After(want) && !have.Before(want.Add(-slack))
}
