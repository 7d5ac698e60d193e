package sidecar

import (
	"bytes"
	"errors"
	"net"
	"os"
	"time"
)

// detectTimeout is how long a connection of an auto upstream may stay
// silent before it is taken for TCP: a server-first protocol (the server
// greets first, as SMTP or MySQL do) waits this long once per connection,
// so such services should declare --protocol tcp.
const detectTimeout = 500 * time.Millisecond

// Kinds of connection detection tells apart.
const (
	kindTCP = iota
	kindHTTP
)

// h2Preface opens every HTTP/2 prior-knowledge connection (RFC 9113 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// httpStarts are the beginnings of the HTTP connections an app opens to a
// service: the HTTP/2 preface, or an HTTP/1.x request line's method and
// origin-form target (or absolute-form, or the asterisk of OPTIONS). A
// method alone is not enough: Redis's inline commands begin "GET key".
var httpStarts = func() [][]byte {
	out := [][]byte{[]byte(h2Preface)}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"} {
		for _, t := range []string{"/", "http://", "https://"} {
			out = append(out, []byte(m+" "+t))
		}
	}
	return append(out, []byte("OPTIONS *"))
}()

// maxSniff is the most detection reads: the HTTP/2 preface is the longest
// start it matches.
const maxSniff = len(h2Preface)

// classify tells HTTP from TCP on the first bytes of a connection; more is
// set while the bytes so far begin some HTTP start but match none whole.
func classify(b []byte) (kind int, more bool) {
	if len(b) == 0 {
		return kindTCP, true
	}
	more = false
	for _, s := range httpStarts {
		switch {
		case bytes.HasPrefix(b, s):
			return kindHTTP, false
		case bytes.HasPrefix(s, b):
			more = true
		}
	}
	return kindTCP, more
}

// detect reads the first bytes of c until classify decides, the app stops
// sending for detectTimeout, or the connection ends; what it read is
// replayed by the returned conn. Undecided means TCP: a tunnel carries any
// bytes, so a wrong guess costs the L7 features, not the connection.
func detect(c net.Conn, timeout time.Duration) (net.Conn, int, error) {
	buf := make([]byte, maxSniff)
	n := 0
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	for {
		kind, more := classify(buf[:n])
		if !more || n == len(buf) {
			return &replayConn{Conn: c, prefix: buf[:n]}, kind, nil
		}
		m, err := c.Read(buf[n:])
		n += m
		if err == nil {
			continue
		}
		if n == 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, kindTCP, err // closed before a byte: nothing to carry
		}
		if kind, more := classify(buf[:n]); !more {
			return &replayConn{Conn: c, prefix: buf[:n]}, kind, nil
		}
		return &replayConn{Conn: c, prefix: buf[:n]}, kindTCP, nil
	}
}

// replayConn is a connection whose first bytes detection already read.
type replayConn struct {
	net.Conn
	prefix []byte
}

func (r *replayConn) Read(b []byte) (int, error) {
	if len(r.prefix) > 0 {
		n := copy(b, r.prefix)
		r.prefix = r.prefix[n:]
		return n, nil
	}
	return r.Conn.Read(b)
}

// SetLinger sets SO_LINGER on a TCP connection, for the TCP splice to
// pass a reset on.
func (r *replayConn) SetLinger(sec int) error {
	if l, ok := r.Conn.(interface{ SetLinger(sec int) error }); ok {
		return l.SetLinger(sec)
	}
	return nil
}

// CloseWrite half-closes the connection, for the TCP splice.
func (r *replayConn) CloseWrite() error {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
