package h2server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what a Server needs. Zero values take the documented defaults.
type Config struct {
	// Handler serves every request. A request whose :path starts with
	// '/' but does not parse as a URI (a bad percent-encoding, "/a%zz")
	// reaches it too, with URL.Path holding the path as sent, so that it
	// can answer with a status rather than see the stream reset.
	Handler http.Handler
	// MaxConcurrentStreams bounds the streams a client may have open on
	// one connection (default 250); more are refused with REFUSED_STREAM.
	MaxConcurrentStreams uint32
	// MaxReceiveBufferPerStream is the flow-control window a client gets
	// for each request body (default 4 MiB): what the server buffers for
	// a handler that has not read it yet.
	MaxReceiveBufferPerStream uint32
	// MaxReceiveBufferPerConnection is the window for all request bodies
	// of one connection together (default 16 MiB).
	MaxReceiveBufferPerConnection uint32
	// MaxHeaderListSize bounds a decoded header block (default 1 MiB);
	// larger requests go to TooLarge instead of Handler.
	MaxHeaderListSize uint32
	// TooLarge answers a request whose header block is over
	// MaxHeaderListSize (default: a 431 with no body). Its request holds
	// the fields decoded before the limit, unchecked (any may be missing,
	// Method and RequestURI included), and the stream's body, if any;
	// it is for answering, not forwarding.
	TooLarge http.Handler
	// PrefaceTimeout bounds the wait for the client's connection preface
	// and first SETTINGS frame (default 10s).
	PrefaceTimeout time.Duration
	// IdleTimeout closes, with a GOAWAY, a connection that has had no open
	// stream for this long (0: never).
	IdleTimeout time.Duration
	// WriteTimeout bounds how long a client may keep the server from
	// sending (0: forever): a connection whose socket takes nothing for
	// this long is closed, and a stream that waits this long for
	// flow-control window is reset (CANCEL), its Write failing with an
	// error that wraps os.ErrDeadlineExceeded. It is the longest pause a
	// client that stopped reading can hold a handler and its buffers.
	WriteTimeout time.Duration
	// Logger receives connection errors and handler panics (default:
	// discarded).
	Logger *slog.Logger
}

// Defaults of Config's zero values.
const (
	DefaultMaxConcurrentStreams          = 250
	DefaultMaxReceiveBufferPerStream     = 4 << 20
	DefaultMaxReceiveBufferPerConnection = 16 << 20
	DefaultMaxHeaderListSize             = 1 << 20
	DefaultPrefaceTimeout                = 10 * time.Second
)

// Server serves HTTP/2 connections handed to it one by one, each already
// accepted (and, for TLS, past the handshake that chose h2).
type Server struct {
	cfg Config
	// prefaceTimeout, idleTimeout and writeTimeout hold cfg's three
	// timeouts as SetTimeouts last set them.
	prefaceTimeout, idleTimeout, writeTimeout atomic.Int64

	readers *readers

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.MaxConcurrentStreams == 0 {
		cfg.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if cfg.MaxReceiveBufferPerStream == 0 {
		cfg.MaxReceiveBufferPerStream = DefaultMaxReceiveBufferPerStream
	}
	cfg.MaxReceiveBufferPerStream = min(cfg.MaxReceiveBufferPerStream, maxWindow)
	if cfg.MaxReceiveBufferPerConnection == 0 {
		cfg.MaxReceiveBufferPerConnection = DefaultMaxReceiveBufferPerConnection
	}
	cfg.MaxReceiveBufferPerConnection = min(max(cfg.MaxReceiveBufferPerConnection, initialWindow), maxWindow)
	if cfg.MaxHeaderListSize == 0 {
		cfg.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, readers: newReaders(), conns: map[*conn]struct{}{}}
	s.SetTimeouts(cfg.PrefaceTimeout, cfg.IdleTimeout, cfg.WriteTimeout)
	return s
}

// SetTimeouts changes the server's PrefaceTimeout, IdleTimeout and
// WriteTimeout (zero values mean what they mean in Config) while it
// serves. Connections handed over from now on wait for their preface
// with the new value; every connection, open or new, uses the new write
// timeout from its next write or wait for flow-control window on; a
// connection idle now is given the new idle timeout from now, the
// others from their next idle spell.
func (s *Server) SetTimeouts(preface, idle, write time.Duration) {
	if preface == 0 {
		preface = DefaultPrefaceTimeout
	}
	s.prefaceTimeout.Store(int64(preface))
	s.writeTimeout.Store(int64(write))
	if s.idleTimeout.Swap(int64(idle)) == int64(idle) {
		return
	}
	s.mu.Lock()
	conns := s.connsLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.armIdleLocked()
		c.mu.Unlock()
	}
}

// ServeConn serves c until the client or the server closes it, and
// returns once every handler of its requests has returned. c is closed
// on return.
func (s *Server) ServeConn(c net.Conn) {
	cn := newConn(s, c)
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[cn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, cn)
		s.mu.Unlock()
	}()
	cn.serve()
	<-cn.done
}

// Shutdown sends every connection a GOAWAY, lets their open streams
// finish, and returns when all connections have closed, or closes those
// left when ctx ends and returns its error. Connections handed over
// afterwards are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.stop()
	for _, c := range conns {
		c.goAway()
	}
	for _, c := range conns {
		select {
		case <-c.done:
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		}
	}
	return nil
}

// Close closes every connection at once; their handlers see their
// requests' contexts cancelled.
func (s *Server) Close() error {
	for _, c := range s.stop() {
		c.close(errServerClosed)
	}
	return nil
}

// stop refuses connections handed over from now on and returns those
// being served.
func (s *Server) stop() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.shutdown {
		close(s.readers.quit)
	}
	s.shutdown = true
	return s.connsLocked()
}

// connsLocked lists the connections being served. The caller holds s.mu.
func (s *Server) connsLocked() []*conn {
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}
