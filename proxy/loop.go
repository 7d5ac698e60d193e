package proxy

import (
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/internal/evloop"
	"github.com/pylon-mesh/pylon/router"
)

// The HTTP/1.1 fast path: plain HTTP/1.1 connections of listeners whose
// routes lead to HTTP/1.1 services are served on event loops (package
// evloop), one per core, rather than on a goroutine each. The code is the
// same (serveH1 and everything under it); only the waiting differs: a
// connection's task waits for its socket in its loop's epoll_wait, and the
// loop resumes it with a coroutine switch on the same thread. That saves
// the scheduler's park and wake-up through the network poller twice per
// request, which is most of what a goroutine per connection costs beyond
// an event loop (docs/performance.md, "Where the remaining gap is").
//
// What a task must not do is wait for anything but its loop's sockets and
// timers, or it stalls its loop's other connections. So a connection that
// turns out to be HTTP/2 (h2c, or ALPN h2 after the TLS handshake, which
// runs on the loop) moves to a goroutine at once, and a request the loop
// cannot serve whole moves its connection to a goroutine before it is
// served (leaveLoop), for good: upgrades, bodies streamed while the
// response is read, 100-continue, route policies that may wait on the
// network (a rate limit in Redis, JWT keys from a JWKS URL), and services
// reached over HTTP/2 or the mesh. Mesh listeners
// (mutual TLS with authorization) stay on goroutines.

// eventLoopsOff is the environment variable that turns the event loops off
// (every connection on a goroutine of its own), for troubleshooting.
const eventLoopsOff = "PYLON_EVENT_LOOPS"

// prepareLoops marks, in a snapshot about to be stored, which listeners
// hand their HTTP/1.1 connections to event loops and which routes a loop
// serves.
func (s *Server) prepareLoops(snap *Snapshot) {
	if snap.loopsPrepared {
		return
	}
	snap.loopsPrepared = true
	if s.noLoops || os.Getenv(eventLoopsOff) == "off" {
		return
	}
	for _, lc := range snap.Listeners {
		if lc.PlaintextToo || lc.Authorize != nil || lc.Connect != nil {
			continue
		}
		for _, r := range lc.Routes {
			r.loop = routeOnLoop(r)
			lc.loop = lc.loop || r.loop
		}
	}
}

// routeOnLoop reports whether a loop can serve the route's requests.
func routeOnLoop(r *Route) bool {
	if r.Policies != nil && r.Policies.MayWait() || len(r.Backends) == 0 {
		return false
	}
	for _, b := range r.Backends {
		if svc := b.Service; svc.Protocol != HTTP1 || svc.Mesh {
			return false
		}
	}
	return true
}

// KeepOffEventLoops keeps every connection of the server on a goroutine
// of its own. A sidecar calls it: its thread count is set by its --cpus,
// and event loops would add threads of their own. It must be called
// before the first Store.
func (s *Server) KeepOffEventLoops() { s.noLoops = true }

// handToLoop gives a new connection to an event loop, which serves it
// (see serveOnLoop) and calls released when done. It reports false when
// no loop took it; the caller serves it.
func (s *Server) handToLoop(nc net.Conn, listener string, released func()) bool {
	g := s.eventLoops()
	if g == nil {
		return false
	}
	err := g.Go(nc, func(ec *evloop.Conn) {
		moved := false
		defer func() {
			if r := recover(); r != nil {
				s.logger.Error("panic serving connection", "listener", listener, "remote", ec.RemoteAddr().String(), "panic", r)
			}
			if !moved {
				released()
			}
		}()
		moved = s.serveOnLoop(ec, listener, released)
	})
	if err != nil {
		// Go leaves nc as it was when it fails.
		s.logger.Debug("event loop refused a connection", "listener", listener, "err", err)
		return false
	}
	return true
}

// serveOnLoop does on an event loop what serveConn does on a goroutine:
// the TLS handshake or the look for an HTTP/2 preface, then HTTP/1.1 on
// the loop, or HTTP/2 on a goroutine. It reports whether the connection
// moved to a goroutine, which then calls released.
func (s *Server) serveOnLoop(ec *evloop.Conn, listener string, released func()) bool {
	lc := s.snap.Load().Listeners[listener]
	if lc == nil {
		ec.Close()
		return false
	}
	lp := ec.Loop()
	sw := &loopConn{}
	sw.set(ec)
	var c net.Conn
	secure, isH2 := false, false
	if lc.TLS != nil {
		tc := tls.Server(sw, lc.TLS)
		tc.SetDeadline(time.Now().Add(lc.ReadHeaderTimeout))
		if err := tc.Handshake(); err != nil {
			s.logger.Debug("tls handshake failed", "listener", listener, "remote", ec.RemoteAddr().String(), "err", err)
			ec.Close()
			return false
		}
		tc.SetDeadline(time.Time{})
		c, secure, isH2 = tc, true, tc.ConnectionState().NegotiatedProtocol == "h2"
	} else {
		sw.SetReadDeadline(time.Now().Add(lc.ReadHeaderTimeout))
		pc, h2, err := sniffH2C(sw)
		if err != nil {
			ec.Close()
			return false
		}
		sw.SetReadDeadline(time.Time{})
		c, isH2 = pc, h2
	}
	if isH2 {
		if err := sw.leave(); err != nil {
			ec.Close()
			return false
		}
		go func() {
			defer released()
			s.serveH2(c, listener)
		}()
		return true
	}
	return !s.serveH1(c, listener, secure, lp, sw, released)
}

// loopConn is a connection served on an event loop as pylon's code sees
// it: the loop's Conn, until the connection moves to a goroutine (leave),
// and from then on the runtime's connection over the same socket. The
// layers above it (TLS, buffered readers) stay as they are across the
// move.
type loopConn struct {
	cur atomic.Pointer[connRef]
}

type connRef struct{ net.Conn }

func (l *loopConn) set(c net.Conn) { l.cur.Store(&connRef{c}) }
func (l *loopConn) conn() net.Conn { return l.cur.Load().Conn }

// leave moves the connection to the runtime's poller. It runs on the
// connection's task.
func (l *loopConn) leave() error {
	ec, ok := l.conn().(*evloop.Conn)
	if !ok {
		return nil
	}
	moved, err := ec.Detach()
	if err != nil {
		return err
	}
	l.set(moved)
	return nil
}

func (l *loopConn) Read(b []byte) (int, error)         { return l.conn().Read(b) }
func (l *loopConn) Write(b []byte) (int, error)        { return l.conn().Write(b) }
func (l *loopConn) Close() error                       { return l.conn().Close() }
func (l *loopConn) LocalAddr() net.Addr                { return l.conn().LocalAddr() }
func (l *loopConn) RemoteAddr() net.Addr               { return l.conn().RemoteAddr() }
func (l *loopConn) SetDeadline(t time.Time) error      { return l.conn().SetDeadline(t) }
func (l *loopConn) SetReadDeadline(t time.Time) error  { return l.conn().SetReadDeadline(t) }
func (l *loopConn) SetWriteDeadline(t time.Time) error { return l.conn().SetWriteDeadline(t) }

// CloseWrite half-closes the connection (a lingering close after an
// error response).
func (l *loopConn) CloseWrite() error {
	if cw, ok := l.conn().(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// eventLoops returns the process's event loops, starting them on first
// use; nil when they cannot run here. They are shared by every Server of
// the process, as the runtime's network poller is.
func (s *Server) eventLoops() *evloop.Group {
	loops.once.Do(func() {
		// One loop per P, and one P more for everything else. A loop
		// waits for events in a blocking epoll_wait, holding its P; the
		// runtime takes back a P left in a system call after 20 µs when
		// no other P is idle, and then keeps waking to look again, which
		// cost 7% of the gateway's CPU. With a spare P it leaves waiting
		// loops alone unless goroutines need their Ps.
		n := runtime.GOMAXPROCS(0)
		g, err := evloop.NewGroup(n)
		if err != nil {
			s.logger.Warn("HTTP/1.1 connections stay on goroutines", "err", err)
			return
		}
		g.OnPanic = func(v any) { slog.Error("panic on an event loop", "panic", v) }
		runtime.GOMAXPROCS(n + 1)
		loops.group = g
	})
	return loops.group
}

// loops are the process's event loops (see eventLoops).
var loops struct {
	once  sync.Once
	group *evloop.Group
}

// loopServes reports whether the event loop can serve the request just
// read: its route must be one a loop serves, and nothing in the request
// may make its task wait for anything but its sockets.
func (c *conn) loopServes(lc *ListenerConfig) bool {
	req := &c.req
	c.matched = routeMatch{}
	if req.Upgrade != nil || req.Expect100 || req.Chunked || (req.ContentLength > 0 && !c.bodyBuffered()) {
		return false
	}
	if string(req.Method) == "CONNECT" {
		return true // refused with 405 on the spot
	}
	// The match is kept for serveRequest, on this loop or after a move.
	in := router.Input{Host: req.Host, Path: req.Path, Query: req.Query, Method: req.Method, Headers: req}
	c.params.Reset()
	idx, ok := lc.Table.Match(&in, &c.params)
	c.matched = routeMatch{done: true, idx: idx, ok: ok}
	return !ok || lc.Routes[idx].loop
}

// routeMatch is the route a request matched, when it was matched before
// serveRequest (see loopServes).
type routeMatch struct {
	done, ok bool
	idx      int
}

// leaveLoop moves the connection from its event loop to a goroutine of its
// own, which serves the request already read and those after it. It
// reports false when the move failed and the connection is to close.
func (c *conn) leaveLoop() bool {
	if err := c.sw.leave(); err != nil {
		return false
	}
	c.loop, c.sw = nil, nil
	c.dl.reset()
	s, released, listener, remote := c.s, c.released, c.listener, c.remote
	c.released = nil
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.logger.Error("panic serving connection", "listener", listener, "remote", remote.String(), "panic", r)
			}
			released()
		}()
		defer c.close()
		c.serveRequests(false)
	}()
	return true
}

// sleep waits for d without holding up the connection's event loop.
func (c *conn) sleep(d time.Duration) {
	if c.loop != nil {
		c.loop.Sleep(d)
		return
	}
	time.Sleep(d)
}
