// Package h2client is an HTTP/2 client connection (RFC 9113) whose callers
// do their own I/O: a request's HEADERS and DATA are written by the
// goroutine that sends it, and while no other caller is reading, a caller
// waiting for its response reads the connection's frames itself (leader
// and followers), so a response reaches the goroutine that asked for it
// without a hand-off. Framing and HPACK come from golang.org/x/net/http2.
//
// It is the client between pylon's sidecars (meshtls.Pool), whose peers
// are pylon's own HTTP/2 server; it also works against net/http's.
package h2client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	initialWindow   = 65535
	maxWindow       = 1<<31 - 1
	defaultMaxFrame = 16384
	// cancelGrace bounds how long a caller that reads for others waits,
	// after its request was cancelled, for the PING that wakes it; past
	// it the server is taken for hung and the connection is closed.
	cancelGrace = 5 * time.Second
)

// Config is what a Conn needs; zero values take the defaults.
type Config struct {
	// MaxReceiveBufferPerStream is each response's window (default 4 MiB).
	MaxReceiveBufferPerStream uint32
	// MaxReceiveBufferPerConnection is the window of all responses
	// together (default 16 MiB).
	MaxReceiveBufferPerConnection uint32
	// IdleCheck is how long a connection may go unread before a request
	// first checks, without blocking, whether the server closed it or
	// sent a GOAWAY (default 1s).
	IdleCheck time.Duration
	// PingInterval: a connection from which nothing was read for this
	// long is sent a PING (default 30s); PingTimeout: one whose PING is
	// not answered within this is closed (default 15s).
	PingInterval, PingTimeout time.Duration
	// IdleTimeout closes a connection that carried no request for this
	// long, checked every PingInterval (default 90s).
	IdleTimeout time.Duration
}

// errIdle is the error of a connection closed for being idle.
var errIdle = errors.New("h2client: idle connection closed")

// ErrUnsent marks errors of requests the server certainly did not process
// (the connection was unusable before the request was written, or a
// GOAWAY or REFUSED_STREAM turned the stream away): they may be sent again
// on another connection.
var ErrUnsent = errors.New("h2client: request not processed by the server")

// errClosed is the error of a closed connection.
var errClosed = errors.New("h2client: connection closed")

// Conn is one client connection. It is safe for concurrent use.
type Conn struct {
	cfg Config
	nc  net.Conn
	br  *bufio.Reader
	fr  *http2.Framer

	// wmu guards the write side: bw, the framer's writes, the encoder,
	// nextID (stream IDs go out in the order they are taken).
	wmu    sync.Mutex
	bw     *bufio.Writer
	henc   *hpack.Encoder
	hbuf   bytes.Buffer
	nextID uint32
	werr   error

	// mu guards the rest; cond wakes callers waiting for frames.
	mu       sync.Mutex
	cond     *sync.Cond
	reading  bool
	lastRead time.Time
	lastUsed time.Time
	health   *time.Timer
	streams  map[uint32]*stream
	reserved int
	starting int
	err      error // why the connection is unusable; set once
	goAway   bool
	lastOK   uint32 // with goAway: the last stream the server processes
	// flow control
	sendWindow, recvUnacked int64
	peerInitialWindow       int64
	peerMaxFrame            uint32
	peerMaxStreams          uint32
	peerMaxHeaderList       uint32 // 0 until the server announces one
	hook                    func(*Conn)
	// pingSeq numbers the PINGs sent, pingAcked the last acknowledged.
	pingSeq, pingAcked uint64
}

// New starts HTTP/2 on nc, which the caller has connected (and, for TLS,
// handshaken with ALPN h2). The Conn owns nc from now on.
func New(nc net.Conn, cfg Config) (*Conn, error) {
	if cfg.MaxReceiveBufferPerStream == 0 {
		cfg.MaxReceiveBufferPerStream = 4 << 20
	}
	if cfg.MaxReceiveBufferPerConnection == 0 {
		cfg.MaxReceiveBufferPerConnection = 16 << 20
	}
	if cfg.IdleCheck == 0 {
		cfg.IdleCheck = time.Second
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = 15 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 90 * time.Second
	}
	c := &Conn{
		cfg:               cfg,
		nc:                nc,
		br:                bufio.NewReaderSize(nc, 32<<10),
		bw:                bufio.NewWriterSize(nc, 16<<10),
		nextID:            1,
		streams:           map[uint32]*stream{},
		lastRead:          time.Now(),
		lastUsed:          time.Now(),
		sendWindow:        initialWindow,
		peerInitialWindow: initialWindow,
		peerMaxFrame:      defaultMaxFrame,
		peerMaxStreams:    100, // until the server's SETTINGS say
	}
	c.cond = sync.NewCond(&c.mu)
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	// Each frame is handled before the next is read (one reader at a
	// time, see await), so DATA frames can share one struct.
	c.fr.SetReuseFrames()
	c.henc = hpack.NewEncoder(&c.hbuf)
	io.WriteString(c.bw, http2.ClientPreface)
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: cfg.MaxReceiveBufferPerStream},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: 1 << 20},
	)
	if inc := int64(cfg.MaxReceiveBufferPerConnection) - initialWindow; inc > 0 {
		c.fr.WriteWindowUpdate(0, uint32(inc))
	}
	if err := c.bw.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	c.health = time.AfterFunc(cfg.PingInterval, c.checkHealth)
	return c, nil
}

// checkHealth runs every PingInterval: it closes a connection idle for
// IdleTimeout, and pings one from which nothing was read for a
// PingInterval, closing it if the PING is not answered in PingTimeout.
func (c *Conn) checkHealth() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	now := time.Now()
	idle := c.reserved+c.starting+len(c.streams) == 0
	if idle && now.Sub(c.lastUsed) >= c.cfg.IdleTimeout {
		c.mu.Unlock()
		c.fail(errIdle)
		return
	}
	silent := now.Sub(c.lastRead) >= c.cfg.PingInterval
	c.health.Reset(c.cfg.PingInterval)
	c.mu.Unlock()
	if !silent {
		return
	}
	seq := c.poke()
	time.AfterFunc(c.cfg.PingTimeout, func() {
		c.mu.Lock()
		unanswered := c.pingAcked < seq
		c.mu.Unlock()
		if unanswered {
			c.fail(errors.New("h2client: the server did not answer a PING"))
		}
	})
	// Read the answer, unless a caller reading already will.
	go func() {
		c.mu.Lock()
		c.await(func() bool { return c.pingAcked >= seq })
		c.mu.Unlock()
	}()
}

// SetStateHook sets f to be called when the connection's state changes: a
// request ends, or the connection becomes unusable. It may run while
// Reserve holds the caller's locks, so f must not call back into them.
func (c *Conn) SetStateHook(f func(*Conn)) {
	c.mu.Lock()
	c.hook = f
	c.mu.Unlock()
}

// Err is why the connection can take no new request (nil while it can).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.goAway {
		return fmt.Errorf("%w: the server sent GOAWAY", ErrUnsent)
	}
	return nil
}

// InFlight is the number of requests reserved or in progress.
func (c *Conn) InFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reserved + c.starting + len(c.streams)
}

// Reserve takes a stream for one request that RoundTrip will send, or
// fails when the connection is unusable or at the server's limit of
// concurrent streams.
func (c *Conn) Reserve() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil:
		return c.err
	case c.goAway:
		return fmt.Errorf("%w: the server sent GOAWAY", ErrUnsent)
	case uint32(c.reserved+c.starting+len(c.streams)) >= c.peerMaxStreams:
		return errors.New("h2client: connection at the server's limit of concurrent streams")
	}
	c.reserved++
	return nil
}

// Release gives back a reservation that no request used.
func (c *Conn) Release() {
	c.mu.Lock()
	if c.reserved > 0 {
		c.reserved--
	}
	hook := c.hook
	c.mu.Unlock()
	if hook != nil {
		hook(c)
	}
}

// Close closes the connection; requests in progress fail.
func (c *Conn) Close() error {
	c.fail(errClosed)
	return nil
}

// fail makes the connection unusable with err, closes it and wakes every
// waiter.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.health != nil {
		c.health.Stop()
	}
	for _, st := range c.streams {
		st.failLocked(err)
	}
	c.cond.Broadcast()
	hook := c.hook
	c.mu.Unlock()
	c.nc.Close()
	if hook != nil {
		hook(c)
	}
}

// await waits until cond holds, reading frames itself while no other
// goroutine does. The caller holds mu; cond is checked under it.
func (c *Conn) await(cond func() bool) {
	for !cond() && c.err == nil {
		if c.reading {
			c.cond.Wait()
			continue
		}
		c.reading = true
		c.mu.Unlock()
		f, err := c.fr.ReadFrame()
		c.mu.Lock()
		c.reading = false
		c.lastRead = time.Now()
		if err != nil {
			c.mu.Unlock()
			c.readError(err)
			c.mu.Lock()
		} else {
			c.handleLocked(f)
		}
		c.cond.Broadcast()
	}
}

// readError acts on an error from reading a frame.
func (c *Conn) readError(err error) {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.mu.Lock()
		if st := c.streams[se.StreamID]; st != nil {
			st.failLocked(se)
		}
		c.mu.Unlock()
		c.writeRST(se.StreamID, se.Code)
		return
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.wmu.Lock()
		c.fr.WriteGoAway(0, http2.ErrCode(ce), nil)
		c.bw.Flush()
		c.wmu.Unlock()
	}
	if errors.Is(err, io.EOF) {
		err = errClosed
	}
	c.fail(err)
}

// writeRST resets stream id.
func (c *Conn) writeRST(id uint32, code http2.ErrCode) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.fr.WriteRSTStream(id, code)
	c.flushLocked()
}

// flushLocked flushes the write buffer; the caller holds wmu. A write
// error fails the connection.
func (c *Conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if err := c.bw.Flush(); err != nil {
		c.werr = err
		go c.fail(err)
		return err
	}
	return nil
}

// poke makes the server send a frame (a PING's ACK), so that a caller
// blocked reading for the others wakes and sees what changed. It returns
// the PING's number.
func (c *Conn) poke() uint64 {
	c.mu.Lock()
	c.pingSeq++
	seq := c.pingSeq
	c.mu.Unlock()
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], seq)
	c.wmu.Lock()
	c.fr.WritePing(false, data)
	c.flushLocked()
	c.wmu.Unlock()
	return seq
}

// pingSeqOf is the number poke put in a PING.
func pingSeqOf(data [8]byte) uint64 { return binary.BigEndian.Uint64(data[:]) }

// checkIdle notices, without blocking, a connection that the server
// closed or sent frames on while nobody was reading; the caller holds mu
// and no one is reading.
func (c *Conn) checkIdleLocked() {
	if c.reading || time.Since(c.lastRead) < c.cfg.IdleCheck {
		return
	}
	c.reading = true
	c.mu.Unlock()
	// A deadline already past would fail the read before it is tried;
	// a millisecond lets it see what the kernel holds.
	c.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := c.br.Peek(1)
	c.nc.SetReadDeadline(time.Time{})
	c.mu.Lock()
	c.reading = false
	var ne net.Error
	switch {
	case err == nil:
		// Frames are waiting: read them before sending anything.
		pending := true
		c.await(func() bool {
			if !pending {
				return true
			}
			pending = c.br.Buffered() > 0
			return !pending
		})
	case errors.As(err, &ne) && ne.Timeout():
		c.lastRead = time.Now()
	default:
		c.mu.Unlock()
		c.fail(fmt.Errorf("%w: %w", ErrUnsent, err))
		c.mu.Lock()
	}
}

// streamDone removes a finished stream and reports the change.
func (c *Conn) streamDoneLocked(st *stream) func() {
	if c.streams[st.id] != st {
		return func() {}
	}
	delete(c.streams, st.id)
	hook := c.hook
	if c.goAway && len(c.streams) == 0 && c.reserved == 0 && c.starting == 0 && c.err == nil {
		go c.fail(fmt.Errorf("%w: the server sent GOAWAY", ErrUnsent))
	}
	return func() {
		if hook != nil {
			hook(c)
		}
	}
}

// ctxError is the error a request's stream fails with when its context
// ends.
func ctxError(ctx context.Context) error { return context.Cause(ctx) }
