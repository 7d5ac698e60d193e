package meshtls

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/h2client"
)

// conn is one pooled connection, with the timers that drain it before
// its destination's certificate expires and close it at the expiry.
type conn struct {
	p    *Pool
	addr string
	cc   *h2client.Conn
	nc   *tls.Conn // for httptrace only: cc owns it

	used     atomic.Bool // a request has gone out on it (httptrace's Reused)
	draining atomic.Bool // it takes no new request
	closed   atomic.Bool // it was seen closed and left the pool

	drain, expire *time.Timer // drain is nil when it is not drained
}

// drainAt is when a connection to a destination that presented leaf stops
// taking new requests: a tenth of the certificate's lifetime before it
// expires (72 min with the default 12 h certificates, 0.5 s with a
// 5 s one).
//
// Why a tenth: a stream in flight is cut at the expiry only if it has
// lasted longer than the margin, so the margin is as long as it can be
// while the destination has surely renewed by then: sidecars renew at half
// their certificate's life (RenewFraction, ±10% jitter), so a connection
// drained at 90% dials one that verifies the new certificate, even with
// a renewal fraction up to 0.8. A fixed window (say a minute) would cut
// every tunnel or gRPC stream longer than that. If the destination has not
// renewed, the new connection carries the same certificate, past its drain
// point: it is not drained (that would dial for every request) and is
// closed at the expiry as before.
func drainAt(leaf *x509.Certificate) time.Time {
	return leaf.NotAfter.Add(-leaf.NotAfter.Sub(leaf.NotBefore) / 10)
}

// newConn pools cc, the HTTP/2 connection over nc to addr, arming its
// drain and expiry. The caller holds p.mu, so neither timer acts before
// the conn is listed.
func newConn(p *Pool, addr string, cc *h2client.Conn, nc *tls.Conn) *conn {
	c := &conn{p: p, addr: addr, cc: cc, nc: nc}
	leaf := nc.ConnectionState().PeerCertificates[0]
	now := time.Now()
	if d := drainAt(leaf).Sub(now); d > 0 {
		c.drain = time.AfterFunc(d, c.startDrain)
	}
	c.expire = time.AfterFunc(leaf.NotAfter.Sub(now), c.expired)
	return c
}

// startDrain stops c taking new requests and closes it once those in
// flight are done (changed closes it later if some are).
func (c *conn) startDrain() {
	c.draining.Store(true)
	c.p.unlist(c)
	// A request reserves its stream under Pool.mu, which unlist took: any
	// reservation made before is counted in InFlight, none comes after.
	if c.cc.InFlight() == 0 {
		c.cc.Close()
	}
}

// expired closes c, cutting whatever is still in flight: its destination's
// certificate has expired.
func (c *conn) expired() {
	c.p.unlist(c)
	c.cc.Close()
}

// changed is c's h2client.Conn state hook: it forgets c once closed,
// and closes it once drained. It must not take Pool.mu itself (it leaves
// that to a goroutine): a hook may run on a goroutine that holds it.
func (c *conn) changed(cc *h2client.Conn) {
	if cc.Err() != nil {
		if c.closed.CompareAndSwap(false, true) {
			if c.drain != nil {
				c.drain.Stop()
			}
			c.expire.Stop()
			go c.p.unlist(c)
		}
		return
	}
	if c.draining.Load() && cc.InFlight() == 0 {
		cc.Close()
	}
}
