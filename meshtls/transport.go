package meshtls

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"
)

// Pool is the client side between sidecars, an http.RoundTripper: HTTP/2
// over mutual TLS only, a pool of connections per destination address,
// each checked to present the identity Peers expects there.
//
// Per address it multiplexes requests on one connection and opens another
// only while every open one is at the destination's limit of concurrent
// streams; a burst of requests to an address with no connection waits for
// one dial instead of dialing one each.
//
// Each connection is drained before the certificate its destination
// presented expires (see drainAt): from then on it takes no new request,
// which dial a new connection (verified again, and by then holding the
// destination's renewed certificate), while its requests, gRPC streams
// and CONNECT tunnels in flight carry on; it is closed once they are done,
// or at the expiry at the latest, so an expired destination is never
// called.
//
// A Pool is safe for concurrent use.
type Pool struct {
	dialTLS func(ctx context.Context, addr string) (net.Conn, error)

	mu    sync.Mutex
	hosts map[string]*host
}

// Transport makes the Pool of a workload: it dials with id's certificate
// and expects at each address the identity peers gives; failed dials are
// counted in stats.OutboundFailures.
func Transport(id Identity, peers Peers, stats *Stats) *Pool {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &Pool{
		dialTLS: func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := dialTLS(ctx, d, id, peers, "tcp", addr)
			if err != nil {
				stats.OutboundFailures.Add(1)
			}
			return c, err
		},
		hosts: make(map[string]*host),
	}
}

// maxTries bounds the attempts of a request that the destination did not
// process (see unsent): each goes out on another connection.
const maxTries = 3

// RoundTrip sends req (an https URL) to the sidecar at its host on a
// pooled connection. A request that the destination refused unprocessed
// (it was shutting the connection down) is sent again on another
// connection if its body can be sent again.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		closeBody(req)
		return nil, fmt.Errorf("mesh: %s: scheme %q, want https", req.URL.Host, req.URL.Scheme)
	}
	addr := authority(req.URL)
	for try := 1; ; try++ {
		c, err := p.get(req.Context(), addr)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		c.gotConn(req.Context())
		resp, err := c.cc.RoundTrip(req)
		if err == nil || try == maxTries || !unsent(err) {
			return resp, err
		}
		var ok bool
		if req, ok = rewind(req); !ok {
			return nil, err
		}
	}
}

// CloseIdleConnections closes the pooled connections that carry no
// request. http.Client.CloseIdleConnections calls it. A connection is taken
// out of the pool before it is closed, under the lock requests reserve
// streams under, so a request that reserved one a moment before is not cut
// off: such a connection closes once that request is done, as a drained
// one does.
func (p *Pool) CloseIdleConnections() {
	var idle []*conn
	p.mu.Lock()
	for addr, h := range p.hosts {
		kept := h.conns[:0]
		for _, c := range h.conns {
			if c.cc.InFlight() == 0 {
				c.draining.Store(true)
				idle = append(idle, c)
				continue
			}
			kept = append(kept, c)
		}
		clear(h.conns[len(kept):])
		h.conns = kept
		p.forgetLocked(addr, h)
	}
	p.mu.Unlock()
	for _, c := range idle {
		if c.cc.InFlight() == 0 {
			c.cc.Close()
		}
	}
}

// authority is the host:port of u, the port 443 if u has none.
func authority(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// gotConn notes that a request goes out on c and reports c to the
// request's httptrace.ClientTrace, if any (tunnel.Dial learns its
// addresses from it).
func (c *conn) gotConn(ctx context.Context) {
	reused := c.used.Swap(true)
	if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{Conn: c.nc, Reused: reused})
	}
}

// closeBody closes req's body, as a RoundTripper must even when it fails
// before sending.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
