package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/breaker"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/internal/evloop"
)

// checkIdleAfter is how long a pooled connection may sit idle before it is
// checked for a close by the upstream before reuse.
const checkIdleAfter = 500 * time.Millisecond

// errConnLimit is returned by Pool.get when the service's circuit breaker
// allows no more connections or dials.
var errConnLimit = errors.New("circuit breaker: connection limit reached")

// upConn is one pooled HTTP/1.1 connection to an upstream endpoint, with the
// codec state that lives as long as the connection.
type upConn struct {
	net.Conn
	br       *h1.Reader
	bw       *bufio.Writer
	resp     h1.Response
	pool     *Pool
	lastUsed time.Time
	// served counts requests sent on the connection; a failure on a reused
	// connection (served > 0) before any response byte is the classic
	// keep-alive race and is safe to retry.
	served int
	// home is where the connection is used: 0 on goroutines, or 1 plus the
	// index of the event loop it is registered with.
	home   int
	closed sync.Once
	// dl tracks the connection's deadlines.
	dl deadlines
}

// Close closes the connection and gives its slot back to the breaker.
func (uc *upConn) Close() error {
	err := net.ErrClosed
	uc.closed.Do(func() {
		c := uc.Conn
		if tc, ok := c.(*tls.Conn); ok && uc.home > 0 {
			// Closing a TLS connection writes an alert, and only the
			// connection's loop may write to it; a pool closing its idle
			// connections runs elsewhere. The alert is a courtesy.
			c = tc.NetConn()
		}
		err = c.Close()
		if b := uc.pool.breaker; b != nil {
			b.ReleaseConnection()
		}
	})
	return err
}

// Pool keeps idle HTTP/1.1 connections to one endpoint.
//
// A connection is used either by goroutines or by the tasks of one event
// loop, never both (a loop's task cannot wait on a connection of the
// runtime's poller without stalling its loop), so idle connections are
// kept apart by home, each home with up to MaxIdle of them.
//
// Idle connections are kept LIFO: the most recently used one is the least
// likely to have been closed by the upstream's own idle timer. The mutex is
// held only to push or pop a pointer. Pool is safe for concurrent use.
type Pool struct {
	addr        string
	tls         *tls.Config
	dialTimeout time.Duration
	idleTimeout time.Duration
	maxIdle     int
	bufSize     int
	breaker     *breaker.Breaker
	dialFn      func(ctx context.Context) (net.Conn, error)
	// ap is addr parsed, for dialing from an event loop (invalid when addr
	// is not an IP address and port).
	ap netip.AddrPort

	mu sync.Mutex
	// idle holds the idle connections of each home (see upConn.home).
	idle   [][]*upConn
	closed bool
}

// PoolConfig configures a Pool.
type PoolConfig struct {
	// DialTimeout bounds connection setup, TLS handshake included.
	DialTimeout time.Duration
	// IdleTimeout discards connections idle longer than this.
	IdleTimeout time.Duration
	// MaxIdle is how many idle connections are kept.
	MaxIdle int
	// TLS, when set, makes connections TLS with this client config.
	TLS *tls.Config
	// BufSize bounds the read buffer per connection and so a response head;
	// zero means the largest head pylon accepts from an upstream (64 KiB).
	BufSize int
	// Breaker, when set, bounds the service's open connections
	// (max_connections) and dials in progress (max_pending).
	Breaker *breaker.Breaker
	// Dial, when set, opens the pool's connections instead of a TCP (and
	// TLS) dial to the address: a mesh service's are tunnels to the
	// endpoint's sidecar. ctx carries the dial's deadline.
	Dial func(ctx context.Context) (net.Conn, error)
}

// NewPool returns a pool of connections to addr.
func NewPool(addr string, cfg PoolConfig) *Pool {
	if cfg.BufSize <= 0 {
		// Room for the largest response head accepted; the buffer starts
		// small and grows only when a head needs it.
		cfg.BufSize = upstreamHeadLimits.MaxHeaderBytes
	}
	ap, _ := netip.ParseAddrPort(addr)
	return &Pool{addr: addr, tls: cfg.TLS, dialTimeout: cfg.DialTimeout,
		idleTimeout: cfg.IdleTimeout, maxIdle: cfg.MaxIdle, bufSize: cfg.BufSize, breaker: cfg.Breaker, dialFn: cfg.Dial, ap: ap}
}

// onLoop reports whether the pool's connections can be used by the tasks
// of an event loop: plain or TLS connections to an IP address, not ones
// from a Dial function.
func (p *Pool) onLoop() bool { return p.dialFn == nil && p.ap.IsValid() }

// get returns an idle connection, or dials a new one that must be up by
// deadline (zero: the pool's dial timeout alone). lp is the event loop
// whose task asks, nil for a goroutine.
func (p *Pool) get(deadline, now time.Time, lp *evloop.Loop) (*upConn, error) {
	home := 0
	if lp != nil {
		home = lp.ID() + 1
	}
	for {
		p.mu.Lock()
		var kept []*upConn
		if home < len(p.idle) {
			kept = p.idle[home]
		}
		n := len(kept)
		if n == 0 {
			p.mu.Unlock()
			return p.dial(deadline, lp)
		}
		uc := kept[n-1]
		kept[n-1] = nil
		p.idle[home] = kept[:n-1]
		p.mu.Unlock()
		idle := now.Sub(uc.lastUsed)
		if p.idleTimeout > 0 && idle > p.idleTimeout {
			uc.Close()
			continue
		}
		// Upstreams close idle connections on their own timers (Node.js
		// after 5 s). A connection idle for a while is checked before use;
		// a busy one was used moments ago and is not.
		if idle > checkIdleAfter {
			// The deadline of its last request may have passed; the check
			// must not fail on that.
			uc.Conn.SetReadDeadline(time.Time{})
			uc.dl.read = time.Time{}
			if !alive(uc.Conn) {
				uc.Close()
				continue
			}
		}
		return uc, nil
	}
}

func (p *Pool) dial(deadline time.Time, lp *evloop.Loop) (*upConn, error) {
	if b := p.breaker; b != nil {
		if !b.AcquirePending() {
			return nil, errConnLimit
		}
		defer b.ReleasePending()
		if !b.AcquireConnection() {
			return nil, errConnLimit
		}
	}
	var uc *upConn
	var err error
	if lp != nil {
		uc, err = p.connectOn(lp, deadline)
	} else {
		uc, err = p.connect(deadline)
	}
	if err != nil && p.breaker != nil {
		p.breaker.ReleaseConnection()
	}
	return uc, err
}

// connect opens a connection, TLS included.
func (p *Pool) connect(deadline time.Time) (*upConn, error) {
	if p.dialFn != nil {
		return p.connectWith(deadline)
	}
	d := net.Dialer{Timeout: p.dialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second}
	c, err := d.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		hctx, cancel := context.WithTimeout(context.Background(), p.dialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &upConn{Conn: c, br: h1.NewReader(c, p.bufSize), bw: bufio.NewWriterSize(c, 4096), pool: p}, nil
}

// connectOn opens a connection from a task of the event loop lp, TLS
// included; it is lp's.
func (p *Pool) connectOn(lp *evloop.Loop, deadline time.Time) (*upConn, error) {
	if !p.onLoop() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("the endpoint cannot be reached from an event loop: " + p.addr)}
	}
	if d := time.Now().Add(p.dialTimeout); p.dialTimeout > 0 && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	ec, err := lp.Dial(p.ap, deadline)
	if err != nil {
		return nil, err
	}
	var c net.Conn = ec
	if p.tls != nil {
		tc := tls.Client(ec, p.tls)
		ec.SetDeadline(time.Now().Add(p.dialTimeout))
		err := tc.Handshake()
		ec.SetDeadline(time.Time{})
		if err != nil {
			ec.Close()
			return nil, err
		}
		c = tc
	}
	return &upConn{Conn: c, br: h1.NewReader(c, p.bufSize), bw: bufio.NewWriterSize(c, 4096), pool: p, home: lp.ID() + 1}, nil
}

// connectWith opens a connection with the pool's Dial, bounded by the
// dial timeout and deadline.
func (p *Pool) connectWith(deadline time.Time) (*upConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.dialTimeout)
	defer cancel()
	if !deadline.IsZero() {
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, deadline)
		defer cancelDeadline()
	}
	c, err := p.dialFn(ctx)
	if err != nil {
		return nil, err
	}
	return &upConn{Conn: c, br: h1.NewReader(c, p.bufSize), bw: bufio.NewWriterSize(c, 4096), pool: p}, nil
}

// put returns a healthy connection for reuse, or closes it when the pool is
// full or closed.
func (p *Pool) put(uc *upConn, now time.Time) {
	uc.lastUsed = now
	uc.served++
	p.mu.Lock()
	for uc.home >= len(p.idle) {
		p.idle = append(p.idle, nil)
	}
	if p.closed || len(p.idle[uc.home]) >= p.maxIdle {
		p.mu.Unlock()
		uc.Close()
		return
	}
	p.idle[uc.home] = append(p.idle[uc.home], uc)
	p.mu.Unlock()
}

// Close closes every idle connection; connections in use are closed when
// they are returned.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	for _, home := range idle {
		for _, uc := range home {
			uc.Close()
		}
	}
}
