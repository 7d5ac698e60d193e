// Package proxy is pylon's HTTP forwarding engine: it serves client
// connections (HTTP/1.1 with pylon's own strict codec, HTTP/2 over TLS and
// h2c with pylon's own HTTP/2 server, package h2server), routes each request on the current
// Snapshot, and forwards it to an upstream endpoint over pooled HTTP/1.1
// connections or an HTTP/2 transport, retrying and failing over as the route
// says.
//
// Policy lives in the compiled Snapshot; the engine itself only forwards.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/h2server"
)

// Server serves client connections on any number of listeners with the
// snapshot most recently stored. It is safe for concurrent use.
type Server struct {
	snap   atomic.Pointer[Snapshot]
	logger *slog.Logger

	// h2 holds one HTTP/2 server per listener, fed the HTTP/2
	// connections that listener accepted.
	h2mu sync.Mutex
	h2   map[string]*h2server.Server

	mu sync.Mutex
	// conns maps every open client connection to its HTTP/1.1 state (nil
	// for HTTP/2 connections), so Shutdown can wake or close them.
	conns    map[net.Conn]*conn
	draining atomic.Bool
	// drainCtx holds the context Shutdown was given, whose end is the
	// drain deadline (pastDrainDeadline). cutCtx, the parent of the tries
	// made over HTTP/2 for HTTP/1.1 clients (through each connection's
	// tryCtx), is cancelled once it has passed.
	drainCtx atomic.Pointer[context.Context]
	cutCtx   context.Context
	cut      context.CancelFunc
	wg       sync.WaitGroup

	// Gauges and counters for the admin endpoint and metrics.
	open     atomic.Int64
	rejected atomic.Uint64
	// rejectLogged is the unix second of the last rejection log line.
	rejectLogged atomic.Int64
	// noLoops keeps connections off the event loops (KeepOffEventLoops).
	noLoops bool
}

// NewServer returns a server that logs through logger.
func NewServer(logger *slog.Logger) *Server {
	s := &Server{logger: logger, conns: map[net.Conn]*conn{}, h2: map[string]*h2server.Server{}}
	s.cutCtx, s.cut = context.WithCancel(context.Background())
	return s
}

// pastDrainDeadline reports whether a shutdown's drain deadline has passed:
// a request that fails then was cut off by the shutdown (errShuttingDown)
// and makes no further try. It holds from the moment the deadline passes,
// before Shutdown closes anything (the HTTP/2 servers end their streams on
// their own then).
func (s *Server) pastDrainDeadline() bool {
	ctx := s.drainCtx.Load()
	return ctx != nil && (*ctx).Err() != nil
}

// Store swaps in a new snapshot. Requests already running keep the one they
// started with; open HTTP/2 connections take the listener's new timeouts.
func (s *Server) Store(snap *Snapshot) {
	s.prepareLoops(snap)
	s.snap.Store(snap)
	s.retimeH2(snap)
}

// OpenConnections is the number of client connections open now.
func (s *Server) OpenConnections() int64 { return s.open.Load() }

// RejectedConnections counts connections closed at accept because the
// listener was at its connection limit.
func (s *Server) RejectedConnections() uint64 { return s.rejected.Load() }

// Serve accepts connections on ln for the listener named name until ln is
// closed. The listener's MaxConnections in the current snapshot bounds the
// connections open at once; over it, new connections are closed at once.
func (s *Server) Serve(ln net.Listener, name string) error {
	var open atomic.Int64
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		if lc := s.snap.Load().Listeners[name]; lc == nil || (lc.MaxConnections > 0 && open.Load() >= lc.MaxConnections) {
			s.reject(c, name)
			continue
		}
		open.Add(1)
		s.open.Add(1)
		s.wg.Add(1)
		go s.serveConn(c, name, func() {
			open.Add(-1)
			s.open.Add(-1)
			s.wg.Done()
		})
	}
}

// reject closes a connection the listener has no room for. It is counted
// always and logged at most once a second, with the running total, so a
// flood cannot turn into a flood of log lines.
func (s *Server) reject(c net.Conn, listener string) {
	n := s.rejected.Add(1)
	c.Close()
	now := time.Now().Unix()
	if last := s.rejectLogged.Load(); now > last && s.rejectLogged.CompareAndSwap(last, now) {
		s.logger.Warn("connection refused: listener at max_connections", "listener", listener, "rejected_total", n)
	}
}

// serveConn decides the protocol of a new connection and serves it;
// released is called once the connection is done with, here or on the
// event loop it is handed to.
func (s *Server) serveConn(c net.Conn, listener string, released func()) {
	handedOff := false
	defer func() {
		if r := recover(); r != nil && r != http.ErrAbortHandler {
			s.logger.Error("panic serving connection", "listener", listener, "remote", c.RemoteAddr().String(), "panic", r)
		}
		if !handedOff {
			released()
		}
	}()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	snap := s.snap.Load()
	lc := snap.Listeners[listener]
	if lc == nil {
		c.Close()
		return
	}
	if lc.loop && s.handToLoop(c, listener, released) {
		handedOff = true
		return
	}
	secure := false
	useTLS := lc.TLS != nil
	if useTLS && lc.PlaintextToo {
		c.SetReadDeadline(time.Now().Add(lc.ReadHeaderTimeout))
		pc, isTLS, err := sniffTLS(c)
		if err != nil {
			c.Close()
			return
		}
		c, useTLS = pc, isTLS
		if !isTLS && lc.OnPlaintext != nil {
			lc.OnPlaintext()
		}
	}
	if useTLS {
		tc := tls.Server(c, lc.TLS)
		tc.SetDeadline(time.Now().Add(lc.ReadHeaderTimeout))
		if err := tc.Handshake(); err != nil {
			s.logger.Debug("tls handshake failed", "listener", listener, "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return
		}
		tc.SetDeadline(time.Time{})
		secure = true
		c = tc
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			s.serveH2(c, listener)
			return
		}
	} else {
		c.SetReadDeadline(time.Now().Add(lc.ReadHeaderTimeout))
		pc, isH2, err := sniffH2C(c)
		if err != nil {
			c.Close()
			return
		}
		c.SetReadDeadline(time.Time{})
		if isH2 {
			s.serveH2(pc, listener)
			return
		}
		c = pc
	}
	s.serveH1(c, listener, secure, nil, nil, nil)
}

// serveH2 hands the connection to the listener's HTTP/2 server.
func (s *Server) serveH2(c net.Conn, listener string) {
	s.track(c, nil, true)
	defer s.track(c, nil, false)
	h := s.h2For(listener)
	if h == nil {
		c.Close()
		return
	}
	h.ServeConn(c)
}

// h2Preface is the client connection preface of HTTP/2 (RFC 9113 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffTLS reads the first byte of a connection to tell a TLS handshake
// (a record of content type 22) from plaintext, and returns a conn that
// replays it.
func sniffTLS(c net.Conn) (net.Conn, bool, error) {
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return nil, false, err
	}
	return &prefixConn{Conn: c, prefix: []byte{b[0]}}, b[0] == 0x16, nil
}

// sniffH2C reads just enough of a cleartext connection to tell an HTTP/2
// prior-knowledge preface from HTTP/1.1, and returns a conn that replays
// what it read.
func sniffH2C(c net.Conn) (net.Conn, bool, error) {
	buf := make([]byte, len(h2Preface))
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if string(buf[:n]) != h2Preface[:n] {
			return &prefixConn{Conn: c, prefix: buf[:n]}, false, nil
		}
		if err != nil {
			if n > 0 && err == io.EOF {
				return &prefixConn{Conn: c, prefix: buf[:n]}, false, nil
			}
			return nil, false, err
		}
	}
	return &prefixConn{Conn: c, prefix: buf[:n]}, true, nil
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// CloseWrite half-closes the underlying TCP connection, for upgraded
// streams.
func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (s *Server) track(nc net.Conn, c *conn, add bool) {
	s.mu.Lock()
	if add {
		s.conns[nc] = c
	} else {
		delete(s.conns, nc)
	}
	s.mu.Unlock()
}

// Shutdown drains the server: HTTP/1.1 connections finish the request they
// are serving and close, idle ones close at once, HTTP/2 connections get a
// GOAWAY and finish their streams. When ctx ends first, every connection is
// closed. The caller closes the listeners first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.drainCtx.Store(&ctx)
	s.draining.Store(true)
	var h2wg sync.WaitGroup
	s.h2mu.Lock()
	for _, h := range s.h2 {
		h2wg.Add(1)
		go func() { defer h2wg.Done(); h.Shutdown(ctx) }()
	}
	s.h2mu.Unlock()
	s.mu.Lock()
	for _, c := range s.conns {
		if c != nil {
			c.wakeIfIdle()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); h2wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// What is still in flight is cut off, on both sides: a request
		// waiting on a silent upstream would otherwise hold the shutdown
		// until its idle timeout, and one whose try was cut off would be
		// retried and wait again.
		s.cut()
		s.mu.Lock()
		for nc, c := range s.conns {
			nc.Close()
			if c != nil {
				c.closeUpstream()
			}
		}
		s.mu.Unlock()
		s.h2mu.Lock()
		for _, h := range s.h2 {
			h.Close()
		}
		s.h2mu.Unlock()
		<-done
		return ctx.Err()
	}
}
