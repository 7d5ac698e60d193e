package h2server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	// initialWindow is every flow-control window's size until SETTINGS or
	// WINDOW_UPDATE say otherwise (RFC 9113 6.9.2).
	initialWindow = 65535
	// maxWindow is the largest flow-control window (RFC 9113 6.9.1).
	maxWindow = 1<<31 - 1
	// defaultMaxFrame is the largest frame payload either side accepts
	// unless its SETTINGS say otherwise; the server keeps it.
	defaultMaxFrame = 16384
	// lingerTime bounds how long a connection closed for a protocol error
	// is drained, so that the client reads the GOAWAY before the close.
	lingerTime = time.Second
	// preface is what every HTTP/2 client sends first (RFC 9113 3.4).
	preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
)

var (
	errServerClosed = errors.New("h2server: server closed")
	errConnClosed   = errors.New("h2server: connection closed")
	errGoneAway     = errors.New("h2server: connection closed after GOAWAY")
	errIdle         = errors.New("h2server: idle connection closed")
)

// conn is one client connection.
//
// Exactly one goroutine reads frames at a time. When the reader meets a new
// request, it starts a new reader and goes on to run the request's handler
// itself, so a request reaches its handler without a hand-off between
// goroutines; handlers write their frames themselves, under wmu.
//
// Lock order: mu may be held when taking wmu, never the other way round.
type conn struct {
	srv        *Server
	nc         net.Conn
	br         *bufio.Reader
	fr         *http2.Framer
	remoteAddr string
	tlsState   *tls.ConnectionState
	ctx        context.Context
	cancel     context.CancelFunc
	// done is closed when the connection is closed and no goroutine of
	// it (reader or handler) is left.
	done chan struct{}

	// wmu guards the write side: bw, the framer's writing, the HPACK
	// encoder and werr.
	wmu  sync.Mutex
	bw   *bufio.Writer
	henc *hpack.Encoder
	hbuf bytes.Buffer
	werr error

	// mu guards everything below, and every stream's fields marked so.
	mu      sync.Mutex
	streams map[uint32]*stream
	// maxStreamID is the highest stream ID the client has opened.
	maxStreamID uint32
	// live counts the reader and the running handlers.
	live int
	// sendWindow is what the client lets the server send on the whole
	// connection; recvWindow what the client may still send on it, and
	// recvUnacked what handlers have read and the client has not yet been
	// given back.
	sendWindow  int64
	recvWindow  int64
	recvUnacked int64
	// peer settings
	peerInitialWindow int64
	peerMaxFrame      uint32
	// peerMaxFrameAtomic is peerMaxFrame for writers holding only wmu.
	peerMaxFrameAtomic atomic.Uint32
	goingAway          bool
	closed             bool
	// resetIDs are the streams the server reset most recently (a ring):
	// frames the client sent on them before it saw the reset are ignored
	// (RFC 9113 5.4.2), not taken as errors.
	resetIDs  [16]uint32
	resetNext int
	closeErr  error
	idle      *time.Timer
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:               s,
		nc:                nc,
		br:                bufio.NewReaderSize(nc, 16<<10),
		remoteAddr:        nc.RemoteAddr().String(),
		done:              make(chan struct{}),
		streams:           map[uint32]*stream{},
		live:              1,
		sendWindow:        initialWindow,
		recvWindow:        int64(max(s.cfg.MaxReceiveBufferPerConnection, initialWindow)),
		peerInitialWindow: initialWindow,
		peerMaxFrame:      defaultMaxFrame,
	}
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tlsState = &st
	}
	c.bw = bufio.NewWriterSize(&deadlineWriter{nc: nc, timeout: &s.writeTimeout}, 16<<10)
	c.peerMaxFrameAtomic.Store(defaultMaxFrame)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetMaxReadFrameSize(defaultMaxFrame)
	c.fr.MaxHeaderListSize = s.cfg.MaxHeaderListSize
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	// Each frame is handled before the next is read, so DATA frames can
	// share one struct.
	c.fr.SetReuseFrames()
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

// serve sends the server's preface, reads the client's, and becomes the
// connection's first reader.
func (c *conn) serve() {
	cfg := &c.srv.cfg
	c.wmu.Lock()
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: cfg.MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: cfg.MaxReceiveBufferPerStream},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: cfg.MaxHeaderListSize},
	)
	if inc := cfg.MaxReceiveBufferPerConnection - initialWindow; inc > 0 {
		c.fr.WriteWindowUpdate(0, inc)
	}
	c.flushLocked()
	c.wmu.Unlock()
	c.nc.SetReadDeadline(time.Now().Add(time.Duration(c.srv.prefaceTimeout.Load())))
	if err := c.readPreface(); err != nil {
		c.srv.cfg.Logger.Debug("http2 preface", "remote", c.remoteAddr, "err", err)
		c.close(err)
		c.exit()
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	c.mu.Lock()
	c.armIdleLocked()
	c.mu.Unlock()
	c.readLoop()
}

// readPreface reads the client's preface and first frame, which must be
// SETTINGS.
func (c *conn) readPreface() error {
	var b [len(preface)]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		return err
	}
	if string(b[:]) != preface {
		return errors.New("h2server: bad client preface")
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		c.goAwayErr(http2.ErrCodeProtocol)
		return errors.New("h2server: client preface not followed by SETTINGS")
	}
	if err := c.onSettings(sf); err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			c.goAwayErr(http2.ErrCode(ce))
		}
		return err
	}
	return nil
}

// readLoop reads frames until the connection fails or a new request
// arrives; then it starts the next reader and serves the request.
func (c *conn) readLoop() {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.readError(err)
			if c.isClosed() {
				c.exit()
				return
			}
			continue
		}
		var st *stream
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			st, err = c.onHeaders(f)
		case *http2.DataFrame:
			err = c.onData(f)
		case *http2.SettingsFrame:
			err = c.onSettings(f)
		case *http2.WindowUpdateFrame:
			err = c.onWindowUpdate(f)
		case *http2.PingFrame:
			err = c.onPing(f)
		case *http2.RSTStreamFrame:
			err = c.onRSTStream(f)
		case *http2.GoAwayFrame:
			// The client will open no more streams and close the
			// connection itself; the server starts none, so nothing
			// changes here (RFC 9113 6.8).
		case *http2.PriorityFrame:
			err = c.onPriority(f)
		case *http2.PushPromiseFrame:
			// Clients must not push (RFC 9113 8.4).
			err = http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if err != nil {
			c.frameError(err)
			if c.isClosed() {
				c.exit()
				return
			}
		}
		if st != nil {
			c.handOff(st)
			return
		}
	}
}

// readError handles an error from reading a frame: protocol errors as
// frameError does, a closed or failed connection by closing it.
func (c *conn) readError(err error) {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se) || errors.As(err, &ce):
		c.frameError(err)
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.failConn(http2.ErrCodeFrameSize, err)
	case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed):
		c.close(errConnClosed)
	default:
		c.srv.cfg.Logger.Debug("http2 read", "remote", c.remoteAddr, "err", err)
		c.close(err)
	}
}

// frameError acts on a protocol error: a stream error resets the stream,
// a connection error ends the connection with a GOAWAY.
func (c *conn) frameError(err error) {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.resetStream(se.StreamID, se.Code)
		return
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.failConn(http2.ErrCode(ce), fmt.Errorf("h2server: %w", err))
		return
	}
	c.close(err)
}

// failConn ends the connection for a connection error: a GOAWAY with
// code, then the connection is drained for a while before it is closed,
// so that the client reads the GOAWAY rather than a reset.
func (c *conn) failConn(code http2.ErrCode, err error) {
	c.goAwayErr(code)
	if !c.shut(err) {
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, c.br)
	c.nc.Close()
}

// handOff starts the next reader and runs st's handler on this goroutine.
func (c *conn) handOff(st *stream) {
	c.mu.Lock()
	c.live++
	c.mu.Unlock()
	c.srv.readers.start(c)
	st.run()
	c.exit()
}

// exit ends one of the connection's goroutines; the last one closes done.
func (c *conn) exit() {
	c.mu.Lock()
	c.live--
	last := c.live == 0
	c.mu.Unlock()
	if last {
		close(c.done)
	}
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// onSettings applies the client's settings and acknowledges them.
func (c *conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitialWindow
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > maxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				st.cond.Broadcast()
			}
			c.peerInitialWindow = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
			c.peerMaxFrameAtomic.Store(s.Val)
		case http2.SettingHeaderTableSize:
			c.wmu.Lock()
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
			c.wmu.Unlock()
		}
		return nil
	})
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.fr.WriteSettingsAck()
	return c.flushLocked()
}

// onWindowUpdate lets handlers send more.
func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if c.sendWindow+inc > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.sendWindow += inc
		for _, st := range c.streams {
			st.cond.Broadcast()
		}
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.maxStreamID {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		return nil // a stream that just ended
	}
	if st.sendWindow+inc > maxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	st.sendWindow += inc
	st.cond.Broadcast()
	return nil
}

// onPing answers a PING.
func (c *conn) onPing(f *http2.PingFrame) error {
	if f.IsAck() {
		return nil
	}
	if f.StreamID != 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.fr.WritePing(true, f.Data)
	return c.flushLocked()
}

// onRSTStream ends a stream the client gave up on.
func (c *conn) onRSTStream(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID > c.maxStreamID {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if st := c.streams[f.StreamID]; st != nil {
		st.abortLocked(fmt.Errorf("h2server: stream reset by client: %v", f.ErrCode), false)
	}
	return nil
}

// onPriority checks a PRIORITY frame; priorities themselves are ignored.
func (c *conn) onPriority(f *http2.PriorityFrame) error {
	if f.StreamDep == f.StreamID {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
	}
	return nil
}

// onData hands request body bytes to their stream.
func (c *conn) onData(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	c.mu.Lock()
	if n > c.recvWindow {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	st := c.streams[id]
	if st != nil && st.resetSent {
		// Sent before the client saw the reset: ignored (RFC 9113 5.4.2),
		// but the bytes count against the connection's window.
		c.mu.Unlock()
		c.sendWindowUpdate(0, uint32(n))
		return nil
	}
	if st == nil || st.remoteClosed {
		if id > c.maxStreamID {
			c.mu.Unlock()
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if st == nil && c.wasResetLocked(id) {
			c.mu.Unlock()
			c.sendWindowUpdate(0, uint32(n))
			return nil
		}
		// A stream that ended: the bytes still count against the
		// connection's window, so give them back at once.
		c.mu.Unlock()
		c.sendWindowUpdate(0, uint32(n))
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if n > st.recvWindow {
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWindow -= n
	c.recvWindow -= n
	data := f.Data()
	// Padding is consumed at once; only data waits for the handler.
	c.recvUnacked += n - int64(len(data))
	st.recvUnacked += n - int64(len(data))
	err := st.receiveLocked(data, f.StreamEnded())
	connInc, stInc := c.windowUpdatesLocked(st)
	c.mu.Unlock()
	c.sendWindowUpdates(id, connInc, stInc)
	return err
}

// windowUpdatesLocked takes the window increments due to the client: once
// handlers have read a quarter of a window, it is given back.
func (c *conn) windowUpdatesLocked(st *stream) (connInc, stInc uint32) {
	if c.recvUnacked >= int64(c.srv.cfg.MaxReceiveBufferPerConnection/4) {
		connInc = uint32(c.recvUnacked)
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
	if st != nil && !st.remoteClosed && st.recvUnacked >= int64(c.srv.cfg.MaxReceiveBufferPerStream/4) {
		stInc = uint32(st.recvUnacked)
		st.recvWindow += st.recvUnacked
		st.recvUnacked = 0
	}
	return connInc, stInc
}

// sendWindowUpdates writes the WINDOW_UPDATE frames for non-zero
// increments.
func (c *conn) sendWindowUpdates(id, connInc, stInc uint32) {
	if connInc == 0 && stInc == 0 {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if connInc > 0 {
		c.fr.WriteWindowUpdate(0, connInc)
	}
	if stInc > 0 {
		c.fr.WriteWindowUpdate(id, stInc)
	}
	c.flushLocked()
}

// sendWindowUpdate writes one WINDOW_UPDATE frame.
func (c *conn) sendWindowUpdate(id, inc uint32) {
	if inc == 0 {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.fr.WriteWindowUpdate(id, inc)
	c.flushLocked()
}

// resetStream sends RST_STREAM and ends the stream on the server's side.
func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	clientReset := false
	if st := c.streams[id]; st != nil {
		clientReset = st.reset && !st.resetSent
		st.abortLocked(fmt.Errorf("h2server: stream reset by server: %v", code), true)
	}
	if !clientReset {
		// Frames the client sends after resetting a stream itself are
		// errors, not late ones to ignore.
		c.noteResetLocked(id)
	}
	c.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.fr.WriteRSTStream(id, code)
	c.flushLocked()
}

// noteResetLocked remembers that the server reset stream id.
func (c *conn) noteResetLocked(id uint32) {
	c.resetIDs[c.resetNext%len(c.resetIDs)] = id
	c.resetNext++
}

// wasResetLocked reports whether the server reset stream id recently.
func (c *conn) wasResetLocked(id uint32) bool {
	for _, r := range c.resetIDs {
		if r == id && id != 0 {
			return true
		}
	}
	return false
}

// goAway tells the client that no stream after the last one it opened
// will be served; the connection closes when the open streams are done.
func (c *conn) goAway() {
	c.mu.Lock()
	if c.goingAway || c.closed {
		c.mu.Unlock()
		return
	}
	c.goingAway = true
	last := c.maxStreamID
	idle := len(c.streams) == 0
	c.mu.Unlock()
	c.wmu.Lock()
	c.fr.WriteGoAway(last, http2.ErrCodeNo, nil)
	c.flushLocked()
	c.wmu.Unlock()
	if idle {
		c.close(errGoneAway)
	}
}

// goAwayErr sends a GOAWAY for a connection error; the caller closes.
func (c *conn) goAwayErr(code http2.ErrCode) {
	c.mu.Lock()
	last := c.maxStreamID
	c.goingAway = true
	c.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.fr.WriteGoAway(last, code, nil)
	c.flushLocked()
}

// flushLocked writes what is buffered; a write error closes the
// connection. The caller holds wmu.
func (c *conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if err := c.bw.Flush(); err != nil {
		c.werr = err
		go c.close(err)
		return err
	}
	return nil
}

// deadlineWriter writes to a connection with a write deadline between
// three quarters of the server's write timeout and all of it ahead; the
// deadline moves only when it leaves that range (less is left, or the
// timeout was shortened), so most writes set none. A zero timeout clears
// the deadline. Its user serialises writes (wmu).
type deadlineWriter struct {
	nc       net.Conn
	timeout  *atomic.Int64
	deadline time.Time
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	if timeout := time.Duration(w.timeout.Load()); timeout > 0 {
		now := time.Now()
		if left := w.deadline.Sub(now); left < timeout*3/4 || left > timeout {
			w.deadline = now.Add(timeout)
			w.nc.SetWriteDeadline(w.deadline)
		}
	} else if !w.deadline.IsZero() {
		w.deadline = time.Time{}
		w.nc.SetWriteDeadline(w.deadline)
	}
	return w.nc.Write(p)
}

// close closes the connection and fails every stream on it.
func (c *conn) close(err error) {
	if c.shut(err) {
		c.nc.Close()
	}
}

// shut marks the connection closed and fails every stream on it,
// reporting whether this call did it.
func (c *conn) shut(err error) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	c.closeErr = err
	if c.idle != nil {
		c.idle.Stop()
	}
	for _, st := range c.streams {
		st.abortLocked(err, false)
	}
	c.mu.Unlock()
	c.cancel()
	return true
}

// armIdleLocked starts the idle timer when no stream is open, or stops
// it when the server has no idle timeout (any more).
func (c *conn) armIdleLocked() {
	d := time.Duration(c.srv.idleTimeout.Load())
	if len(c.streams) > 0 || c.closed {
		return
	}
	if d <= 0 {
		if c.idle != nil {
			c.idle.Stop()
		}
		return
	}
	if c.idle == nil {
		c.idle = time.AfterFunc(d, c.onIdle)
		return
	}
	c.idle.Reset(d)
}

// onIdle closes a connection that stayed without streams.
func (c *conn) onIdle() {
	c.mu.Lock()
	idle := len(c.streams) == 0 && !c.closed
	c.mu.Unlock()
	if idle {
		c.goAway()
		c.close(errIdle)
	}
}

// streamDone removes a stream whose handler has returned.
func (c *conn) streamDone(st *stream) {
	c.mu.Lock()
	delete(c.streams, st.id)
	goneAway := c.goingAway && len(c.streams) == 0
	c.armIdleLocked()
	c.mu.Unlock()
	if goneAway {
		c.close(errGoneAway)
	}
}
