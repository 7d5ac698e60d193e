//go:build !linux

package evloop

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// ErrUnavailable is returned by NewGroup where there are no event loops.
var ErrUnavailable = errors.New("evloop: event loops need Linux")

// Group is a set of event loops. Outside Linux there are none.
type Group struct {
	// OnPanic is never called outside Linux.
	OnPanic func(v any)
}

// NewGroup reports ErrUnavailable outside Linux.
func NewGroup(n int) (*Group, error) { return nil, ErrUnavailable }

// Go is never reached outside Linux.
func (g *Group) Go(nc net.Conn, fn func(*Conn)) error { return ErrUnavailable }

// Close does nothing outside Linux.
func (g *Group) Close() {}

// Loop is one event loop.
type Loop struct{}

// ID is the loop's index in its group.
func (l *Loop) ID() int { return 0 }

// Now is the clock outside Linux.
func (l *Loop) Now() time.Time { return time.Now() }

// Sleep is never reached outside Linux.
func (l *Loop) Sleep(time.Duration) {}

// Dial is never reached outside Linux.
func (l *Loop) Dial(netip.AddrPort, time.Time) (*Conn, error) { return nil, ErrUnavailable }

// Conn is a connection served by a loop.
type Conn struct{ net.Conn }

// Loop is the connection's loop.
func (c *Conn) Loop() *Loop { return nil }

// Detach is never reached outside Linux.
func (c *Conn) Detach() (net.Conn, error) { return nil, ErrUnavailable }
