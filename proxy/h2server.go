package proxy

import (
	"github.com/pylon-mesh/pylon/h2server"
)

// h2For returns the listener's HTTP/2 server, making it on first use, or
// nil when the current snapshot has no such listener. Connections reach
// it one by one, after pylon has accepted them, finished the TLS
// handshake (ALPN h2) or seen the cleartext prior-knowledge preface.
func (s *Server) h2For(listener string) *h2server.Server {
	s.h2mu.Lock()
	defer s.h2mu.Unlock()
	if h := s.h2[listener]; h != nil {
		return h
	}
	// Read under h2mu, after any Store whose retimeH2 ran before.
	lc := s.snap.Load().Listeners[listener]
	if lc == nil {
		return nil
	}
	handler := &h2Handler{s: s, listener: listener}
	h := h2server.New(h2server.Config{
		Handler:                       handler,
		TooLarge:                      h2TooLarge{handler},
		MaxReceiveBufferPerStream:     4 << 20,
		MaxReceiveBufferPerConnection: 16 << 20,
		Logger:                        s.logger,
	})
	setH2Timeouts(h, lc)
	s.h2[listener] = h
	return h
}

// setH2Timeouts gives an HTTP/2 server its listener's timeouts. As for
// HTTP/1.1, idle_timeout is also the longest pause allowed while a
// response streams to a client that reads nothing.
func setH2Timeouts(h *h2server.Server, lc *ListenerConfig) {
	h.SetTimeouts(lc.ReadHeaderTimeout, lc.IdleTimeout, lc.IdleTimeout)
}

// retimeH2 gives the HTTP/2 servers made so far the timeouts of their
// listeners in snap, so that a reload reaches the connections they serve.
func (s *Server) retimeH2(snap *Snapshot) {
	s.h2mu.Lock()
	defer s.h2mu.Unlock()
	for name, h := range s.h2 {
		if lc := snap.Listeners[name]; lc != nil {
			setH2Timeouts(h, lc)
		}
	}
}
