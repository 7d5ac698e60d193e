package proxy

import (
	"github.com/pylon-mesh/pylon/h2server"
)

// h2For returns the listener's HTTP/2 server, making it on first use with
// the listener's timeouts at that time (a reload that changes them applies
// to HTTP/2 connections after a restart). Connections reach it one by
// one, after pylon has accepted them, finished the TLS handshake (ALPN h2)
// or seen the cleartext prior-knowledge preface.
func (s *Server) h2For(listener string, lc *ListenerConfig) *h2server.Server {
	s.h2mu.Lock()
	defer s.h2mu.Unlock()
	if h := s.h2[listener]; h != nil {
		return h
	}
	handler := &h2Handler{s: s, listener: listener}
	h := h2server.New(h2server.Config{
		Handler:                       handler,
		TooLarge:                      h2TooLarge{handler},
		MaxReceiveBufferPerStream:     4 << 20,
		MaxReceiveBufferPerConnection: 16 << 20,
		PrefaceTimeout:                lc.ReadHeaderTimeout,
		IdleTimeout:                   lc.IdleTimeout,
		// As for HTTP/1.1, idle_timeout is the longest pause allowed
		// while a response streams to a client that reads nothing.
		WriteTimeout: lc.IdleTimeout,
		Logger:       s.logger,
	})
	s.h2[listener] = h
	return h
}
