package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/tunnel"
)

// l4IdleTimeout ends a TCP stream through the mesh in which no byte moved
// either way for this long.
const l4IdleTimeout = time.Hour

// l4Tries is how many instances a TCP connection is offered to before it
// is given up.
const l4Tries = 3

// l4Upstream carries the TCP connections of one upstream: each is spliced
// with a tunnel (an HTTP/2 CONNECT stream over the mesh's pooled mTLS
// connections) to an instance the upstream's service picks, with the same
// machinery as its HTTP requests: its balancer (an open connection counts
// as a request in flight, and the time to open the tunnel as its
// latency), its circuit breaker's max_requests, and outlier detection,
// which ejects an instance after consecutive failed tunnels and brings it
// back with slow start.
type l4Upstream struct {
	name      string
	transport http.RoundTripper
	// service returns the upstream's running service; nil before the
	// first config.
	service func() *proxy.Service
	edges   *edgeMetrics
	log     *slog.Logger
}

func newL4Upstream(name string, transport http.RoundTripper, service func() *proxy.Service, edges *edgeMetrics, log *slog.Logger) *l4Upstream {
	return &l4Upstream{name: name, transport: transport, service: service, edges: edges, log: log.With("upstream", name)}
}

// handle tunnels one app connection, trying up to l4Tries instances.
func (u *l4Upstream) handle(ctx context.Context, c net.Conn) {
	svc := u.service()
	if svc == nil {
		u.log.Warn("no config for the upstream yet; closing the connection")
		c.Close()
		return
	}
	if !svc.Breaker.AcquireRequest() {
		u.log.Warn("the upstream's circuit breaker is at max_requests; closing the connection")
		c.Close()
		return
	}
	defer svc.Breaker.ReleaseRequest()
	var tried []*balancer.Endpoint
	for range l4Tries {
		ep := pickUntried(svc.Set, tried)
		if ep == nil {
			break
		}
		tried = append(tried, ep)
		ep.Begin()
		began := time.Now()
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		tc, err := tunnel.Dial(dctx, u.transport, ep.Addr(), u.name)
		cancel()
		opened := time.Since(began)
		if err != nil {
			u.ended(svc, ep, balancer.ConnectFailure, opened)
			u.log.Warn("tunnel to an instance failed; trying another", "endpoint", ep.Addr(), "err", err.Error())
			continue
		}
		u.edges.tcpOpened(u.name)
		in, out, err := tunnel.Splice(c, tc, l4IdleTimeout)
		u.ended(svc, ep, balancer.Success, opened)
		u.edges.tcpClosed(u.name, in, out)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			u.log.Debug("tunnel ended", "endpoint", ep.Addr(), "bytes_in", in, "bytes_out", out, "err", err.Error())
		}
		return
	}
	u.log.Warn("no instance of the upstream could be reached; closing the connection")
	c.Close()
}

// ended reports a connection's outcome to its endpoint and to outlier
// detection.
func (u *l4Upstream) ended(svc *proxy.Service, ep *balancer.Endpoint, o balancer.Outcome, opened time.Duration) {
	now := time.Now()
	ep.End(o, opened, now)
	if svc.Outlier != nil {
		svc.Outlier.Observe(ep, now)
	}
}

// pickUntried asks the balancer for an endpoint not tried yet, and when it
// keeps choosing tried ones, takes any other available one.
func pickUntried(set *balancer.Set, tried []*balancer.Endpoint) *balancer.Endpoint {
	for range l4Tries {
		ep, err := set.Pick(rand.Uint64())
		if err != nil {
			return nil
		}
		if !slices.Contains(tried, ep) {
			return ep
		}
	}
	eps := set.Endpoints()
	now := time.Now()
	start := rand.IntN(max(1, len(eps)))
	for i := range eps {
		if e := eps[(start+i)%len(eps)]; !slices.Contains(tried, e) && e.Available(now) {
			return e
		}
	}
	return nil
}
