package proxy

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// h2Server serves the HTTP/2 connections of one listener with net/http's
// HTTP/2 implementation. Connections are handed over one by one, after
// pylon has accepted them, finished the TLS handshake (ALPN h2) or seen
// the cleartext prior-knowledge preface.
type h2Server struct {
	srv *http.Server
	ln  *handoffListener
	// closed maps each handed-over connection to a channel closed when the
	// HTTP/2 server is done with it.
	closed sync.Map
}

// h2For returns the listener's HTTP/2 server, starting it on first use
// with the listener's timeouts at that time (a reload that changes them
// applies to HTTP/2 connections after a restart).
func (s *Server) h2For(listener string, lc *ListenerConfig) *h2Server {
	s.h2mu.Lock()
	defer s.h2mu.Unlock()
	if h := s.h2[listener]; h != nil {
		return h
	}
	var p http.Protocols
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	h := &h2Server{ln: newHandoffListener()}
	h.srv = &http.Server{
		Handler:           &h2Handler{s: s, listener: listener},
		ConnState:         h.connState,
		Protocols:         &p,
		ReadHeaderTimeout: lc.ReadHeaderTimeout,
		IdleTimeout:       lc.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
		HTTP2:             &http.HTTP2Config{MaxReceiveBufferPerStream: 4 << 20, MaxReceiveBufferPerConnection: 16 << 20},
	}
	s.h2[listener] = h
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h.srv.Serve(h.ln)
	}()
	return h
}

// serve hands c to the HTTP/2 server and returns when the server has
// closed it, so the connection counts as open for as long as it is.
func (h *h2Server) serve(c net.Conn) {
	done := make(chan struct{})
	h.closed.Store(c, done)
	if !h.ln.push(c) {
		h.closed.Delete(c)
		return
	}
	<-done
}

// connState learns when the HTTP/2 server is done with a connection.
func (h *h2Server) connState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	if done, ok := h.closed.LoadAndDelete(c); ok {
		close(done.(chan struct{}))
	}
}

// handoffListener is a net.Listener whose connections are pushed to it.
type handoffListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// push hands a connection to the server, or closes it when the server is
// gone.
func (l *handoffListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		c.Close()
		return false
	}
}

// Accept returns the next handed-over connection.
func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is a placeholder: the connections come from pylon's own listeners.
func (l *handoffListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
