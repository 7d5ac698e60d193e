package tunnel

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// streamConn is the remote end of a tunnel as a net.Conn: Read reads the
// CONNECT request's body, Write writes and flushes the response's. It has
// no CloseWrite: the response ends only when the handler returns.
type streamConn struct {
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	writing atomic.Bool // a Write is in progress
	once    sync.Once
}

func newStreamConn(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) *streamConn {
	return &streamConn{w: w, r: r, rc: rc}
}

func (s *streamConn) Read(b []byte) (int, error) { return s.r.Body.Read(b) }

func (s *streamConn) Write(b []byte) (int, error) {
	s.writing.Store(true)
	defer s.writing.Store(false)
	n, err := s.w.Write(b)
	if err != nil {
		return n, err
	}
	return n, s.rc.Flush()
}

// Close stops reading the request body and aborts a Write blocked on flow
// control (by resetting the stream), so that both directions end.
func (s *streamConn) Close() error {
	s.once.Do(func() {
		s.r.Body.Close()
		if s.writing.Load() {
			_ = s.rc.SetWriteDeadline(time.Now())
		}
	})
	return nil
}

func (s *streamConn) LocalAddr() net.Addr {
	if a, ok := s.r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a
	}
	return Addr{Target: s.r.Host}
}

func (s *streamConn) RemoteAddr() net.Addr { return Addr{Endpoint: s.r.RemoteAddr, Target: s.r.Host} }

func (s *streamConn) SetDeadline(t time.Time) error {
	if err := s.rc.SetReadDeadline(t); err != nil {
		return err
	}
	return s.rc.SetWriteDeadline(t)
}

func (s *streamConn) SetReadDeadline(t time.Time) error  { return s.rc.SetReadDeadline(t) }
func (s *streamConn) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }
