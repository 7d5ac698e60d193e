package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/internal/evloop"
	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/router"
)

// conn is the state of one HTTP/1.1 client connection. It is pooled and
// reused for the next connection once this one closes.
type conn struct {
	s        *Server
	nc       net.Conn
	listener string
	secure   bool
	remote   netip.AddrPort
	idle     atomic.Bool
	// tryCtx is the parent of this connection's tries over HTTP/2, made
	// at the first and ended when the connection closes: a child of the
	// server's cutCtx, so the drain deadline ends them, registered there
	// once per connection rather than once per try.
	tryCtx    context.Context
	tryCancel context.CancelFunc

	br     *h1.Reader
	bw     *bufio.Writer
	req    h1.Request
	params router.Params
	rec    Record
	// cw frames chunked responses to the client; reqCW chunked request
	// bodies to the upstream (on the body copy's goroutine).
	cw    h1.ChunkedWriter
	reqCW h1.ChunkedWriter
	body  bodyCopy
	// trailers and reqTrailers hold the filtered trailer fields of the
	// response and of the request body.
	trailers, reqTrailers []h1.Header
	// replay holds a small request body kept for retries.
	replay []byte
	// head holds the request head sent upstream, kept for retries; out is
	// scratch space for the heads pylon writes to the client. They are
	// separate so a 103 or an error written between tries cannot clobber
	// the request a retry sends again.
	head, out []byte
	// ridBuf holds the request ID; rid is the slice of it in use.
	ridBuf [64]byte
	rid    []byte
	// dl tracks the client connection's deadlines.
	dl deadlines
	// linger is set when the connection closes after an error response
	// with client input left unread (see lingerClose).
	linger bool
	// closeAfter is set when the connection must close after the current
	// response (unread body, framing error, upgrade).
	closeAfter bool
	// acc is what the listener's Authorize hook sees; peerKnown is set once
	// acc.Peer has been read from the connection's TLS state.
	acc       Access
	peerKnown bool
	// outcome is what the route's policies found (read only when the
	// route has policies).
	outcome policy.Outcome
	// done is when the current request's response was relayed (zero until
	// then), and after finish when the last request ended: the clock is
	// read once per try end, not again for the record and the idle wait.
	done time.Time
	// loop is the event loop the connection is served on, nil on a
	// goroutine of its own; released is called by the goroutine it moves
	// to (see leaveLoop) when it is done.
	loop     *evloop.Loop
	sw       *loopConn
	released func()
	// matched is the current request's route when it was matched before
	// serveRequest.
	matched routeMatch
	// upstream is the upstream connection of the try in progress, for a
	// shutdown whose drain deadline passed to close (closeUpstream).
	upstream atomic.Pointer[upConn]
}

// closeUpstream closes the upstream connection of the request in
// progress, if any: a task or goroutine waiting on it wakes with an error.
// It may be called from any goroutine.
func (c *conn) closeUpstream() {
	if uc := c.upstream.Load(); uc != nil {
		uc.Close()
	}
}

const (
	// maxHeadBytes is the largest head a client connection can hold, the
	// most max_header_bytes may be; the buffer starts small and grows only
	// for a head that needs it, so listeners' limits apply in full.
	maxHeadBytes = 1 << 20
	writeBufSize = 4 << 10
)

var connPool = sync.Pool{New: func() any {
	return &conn{
		br:   h1.NewReader(nil, maxHeadBytes),
		bw:   bufio.NewWriterSize(nil, writeBufSize),
		head: make([]byte, 0, 4096),
		out:  make([]byte, 0, 4096),
	}
}}

// serveH1 serves HTTP/1.1 requests on a connection until it closes, fails
// or the server drains. lp is the event loop nc is served on, nil when
// this is a goroutine of its own; sw is then the layer of nc that moves. On a loop, a request the loop
// cannot serve moves the connection to a goroutine (see leaveLoop), and
// serveH1 reports false: the connection lives on there. Otherwise the
// connection is closed when serveH1 returns true. released is what the
// goroutine a connection moves to calls when it is done with it.
func (s *Server) serveH1(nc net.Conn, listener string, secure bool, lp *evloop.Loop, sw *loopConn, released func()) bool {
	c := connPool.Get().(*conn)
	c.s, c.nc, c.listener, c.secure, c.loop, c.sw, c.released = s, nc, listener, secure, lp, sw, released
	c.remote = remoteAddrPort(nc)
	c.br.Reset(nc)
	c.bw.Reset(nc)
	c.dl.reset()
	c.linger = false
	c.acc.Peer, c.peerKnown = nil, false
	s.track(nc, c, true)
	moved := false
	defer func() {
		if !moved {
			c.close()
		}
	}()
	moved = c.serveRequests(true) == leftLoop
	return !moved
}

// close ends a connection served by serveRequests and puts c back in the
// pool.
func (c *conn) close() {
	if c.linger {
		c.lingerClose()
	}
	c.s.track(c.nc, nil, false)
	c.nc.Close()
	if c.tryCancel != nil {
		c.tryCancel()
		c.tryCtx, c.tryCancel = nil, nil
	}
	c.s, c.nc, c.loop, c.sw, c.released = nil, nil, nil, nil, nil
	c.matched = routeMatch{}
	c.br.Reset(nil)
	c.bw.Reset(nil)
	c.req.Reset()
	c.acc.Peer = nil
	connPool.Put(c)
}

// deadlineClock is the time to count a timeout from: on an event loop the
// loop's clock, read once a round (a few reads fewer per request), else
// the clock itself.
func (c *conn) deadlineClock() time.Time {
	if c.loop != nil {
		return c.loop.Now()
	}
	return time.Now()
}

// servedHow says how serveRequests ended.
type servedHow uint8

const (
	// closing: the connection is to be closed.
	closing servedHow = iota
	// leftLoop: the connection moved from its event loop to a goroutine,
	// which serves it from now on.
	leftLoop
)

// serveRequests serves requests on c until the connection is to close.
// first is set for a new connection; when it is not, a request read on an
// event loop that the loop could not serve is waiting in c.req.
func (c *conn) serveRequests(first bool) servedHow {
	s, listener := c.s, c.listener
	pending := !first
	for ; ; first = false {
		snap := s.snap.Load()
		lc := snap.Listeners[listener]
		if !pending {
			if lc == nil || s.draining.Load() {
				return closing
			}
			if !c.awaitRequest(lc, first) {
				return closing
			}
			// The request has begun: serve it on the snapshot in force now,
			// not the one from before the wait (a reload may have come since).
			snap = s.snap.Load()
			if lc = snap.Listeners[listener]; lc == nil {
				return closing
			}
			err := c.br.ReadRequest(&c.req, lc.Limits)
			if err != nil {
				c.readFailed(snap, lc, err)
				return closing
			}
			if c.loop != nil && !c.loopServes(lc) {
				if c.leaveLoop() {
					return leftLoop
				}
				return closing
			}
		} else if lc == nil {
			return closing
		}
		pending = false
		// The read deadline stays: nothing reads the connection again until
		// the body copy or the next request sets its own.
		c.closeAfter = false
		if !c.serveRequest(snap, lc) || c.closeAfter {
			return closing
		}
	}
}

// awaitRequest waits for the next request to start: up to the idle timeout
// on a keep-alive connection, up to the header timeout on a new one. Once
// bytes arrive, the rest of the head must come within the header timeout,
// so a client cannot trickle a head in slowly. It reports false when the
// connection should close.
func (c *conn) awaitRequest(lc *ListenerConfig, first bool) bool {
	// A keep-alive connection has been idle since its last request ended.
	now := c.done
	wait := lc.IdleTimeout
	if first {
		now, wait = c.deadlineClock(), lc.ReadHeaderTimeout
	}
	c.dl.setRead(c.nc, now.Add(wait), wait/4)
	c.idle.Store(true)
	// Shutdown sets draining before it wakes idle connections: either this
	// sees draining, or Shutdown sees idle and cuts the wait short.
	if c.s.draining.Load() && c.br.Buffered() == 0 {
		c.idle.Store(false)
		return false
	}
	b, err := c.br.Peek()
	c.idle.Store(false)
	if err != nil {
		return false
	}
	if !first && !bytes.Contains(b, headEnd) {
		c.dl.setRead(c.nc, c.deadlineClock().Add(lc.ReadHeaderTimeout), 0)
	}
	return true
}

var headEnd = []byte("\r\n\r\n")

// readFailed answers a request head that could not be read: a malformed or
// oversized head gets its status; a timeout or a closed connection gets
// nothing.
func (c *conn) readFailed(snap *Snapshot, lc *ListenerConfig, err error) {
	var fe *flow.Error
	var he *h1.Error
	switch {
	case errors.As(err, &he):
		fe = flow.New(he.Status, flow.Code(he.Code), he.Msg)
	case isTimeout(err):
		// A head that began but did not finish in time: a slow or stalled
		// client. Answered (if it still listens), logged and counted.
		fe = errHeadTimeout
	default:
		return
	}
	start := time.Now()
	c.beginRecord(lc)
	c.closeAfter = true
	c.linger = true
	c.writeError(fe)
	c.finish(snap, lc, start, nil, nil, fe)
}

// Lingering close: closing a socket with unread input makes the kernel
// send a reset, which can destroy the error response before the client
// reads it: a client still sending a large header or an upload over
// max_body_bytes gets a broken pipe instead of 431 or 413. So pylon
// half-closes, then reads and drops what the client still sends, as long
// as it keeps sending and for a bounded time in all, before closing. The
// connection keeps its place under max_connections meanwhile, and a
// shutdown cuts the wait short.
const (
	lingerTime = 10 * time.Second
	lingerIdle = 2 * time.Second
)

// lingerClose half-closes the connection and drains it for a while.
func (c *conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	r := lingerReader{c: c, end: time.Now().Add(lingerTime)}
	c.idle.Store(true) // Shutdown wakes it (see awaitRequest)
	io.Copy(io.Discard, &r)
	c.idle.Store(false)
}

// lingerReader reads a lingering connection until the client pauses for
// lingerIdle, the linger's end passes, or the server drains.
type lingerReader struct {
	c   *conn
	end time.Time
}

func (r *lingerReader) Read(b []byte) (int, error) {
	if r.c.s.draining.Load() {
		return 0, io.EOF
	}
	d := time.Now().Add(lingerIdle)
	if d.After(r.end) {
		d = r.end
	}
	r.c.nc.SetReadDeadline(d)
	return r.c.nc.Read(b)
}

var errHeadTimeout = flow.New(408, flow.CodeRequestTimeout, "the request head did not arrive within read_header_timeout")

// wakeIfIdle makes a connection waiting for its next request give up now
// (used by Shutdown).
func (c *conn) wakeIfIdle() {
	if c.idle.Load() {
		c.nc.SetReadDeadline(time.Now())
	}
}

// newRequestID takes the client's X-Request-Id when it is sane, or makes one.
func (c *conn) newRequestID() {
	if v, ok := c.req.Header("x-request-id"); ok && validRequestID(v) {
		c.rid = append(c.ridBuf[:0], v...)
		return
	}
	c.rid = appendNewRequestID(c.ridBuf[:0])
}

// validRequestID accepts 1 to 64 visible ASCII characters.
func validRequestID(v []byte) bool {
	if len(v) == 0 || len(v) > 64 {
		return false
	}
	for _, b := range v {
		if b <= ' ' || b >= 0x7f || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// appendNewRequestID appends 32 random hex digits.
func appendNewRequestID(dst []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < 2; i++ {
		v := rand.Uint64()
		for j := 0; j < 16; j++ {
			dst = append(dst, hex[v&15])
			v >>= 4
		}
	}
	return dst
}

// writeError answers the current request with pylon's JSON error body.
func (c *conn) writeError(fe *flow.Error) {
	body := fe.AppendJSON(c.out[:0], c.rid)
	n := len(body)
	h := h1.AppendStatusLine(body, 1, fe.Status, nil)
	h = h1.AppendHeader(h, []byte("Date"), httpDate(time.Now()))
	h = h1.AppendHeader(h, []byte("Content-Type"), []byte("application/json"))
	h = appendContentLength(h, int64(n))
	h = h1.AppendHeader(h, []byte("X-Request-Id"), c.rid)
	h = appendErrorFields(h, fe)
	if c.closeAfter || !c.req.KeepAlive {
		h = h1.AppendHeader(h, []byte("Connection"), []byte("close"))
	}
	h = append(h, '\r', '\n')
	c.out = h[:0]
	c.dl.setWrite(c.nc, time.Now().Add(5*time.Second), time.Second)
	c.bw.Write(h[n:])
	c.bw.Write(h[:n])
	c.bw.Flush()
	c.rec.BytesOut = int64(len(h))
}

// appendContentLength appends a Content-Length field.
func appendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = appendInt(dst, n)
	return append(dst, '\r', '\n')
}

func appendInt(dst []byte, n int64) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, b[i:]...)
}

// remoteAddrPort returns the peer address of a connection.
func remoteAddrPort(nc net.Conn) netip.AddrPort {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
