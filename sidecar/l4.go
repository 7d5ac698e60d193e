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
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/tunnel"
)

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
	// service returns the upstream's running service and its config; nil
	// before the first config.
	service func() (*proxy.Service, *config.Service)
	edges   *edgeMetrics
	log     *slog.Logger
}

func newL4Upstream(name string, transport http.RoundTripper, service func() (*proxy.Service, *config.Service), edges *edgeMetrics, log *slog.Logger) *l4Upstream {
	return &l4Upstream{name: name, transport: transport, service: service, edges: edges, log: log.With("upstream", name)}
}

// l4Settings are how a TCP connection to a service is carried: how many
// instances it is offered to, how long opening a tunnel may take, and how
// long the stream may sit idle.
type l4Settings struct {
	tries       int
	dialTimeout time.Duration
	idleTimeout time.Duration
}

// l4SettingsOf reads a service's calls block (config.MeshCalls): a tunnel
// that fails to open is a connect failure, retried on another instance as
// the block's retries allow.
func l4SettingsOf(sc *config.Service) l4Settings {
	st := l4Settings{tries: 3, dialTimeout: 5 * time.Second, idleTimeout: config.DefaultTCPIdleTimeout.Duration()}
	if t := sc.Pool.ConnectTimeout.Duration(); t > 0 {
		st.dialTimeout = t
	}
	if m := sc.Calls; m != nil {
		st.idleTimeout = m.TCPIdleTimeout.Duration()
		st.tries = 1
		if slices.Contains(m.Retries.On, "connect_failure") {
			st.tries += m.Retries.Attempts
		}
	}
	return st
}

// handle tunnels one app connection, offering it to instances until one
// takes it or the service's retries are spent.
func (u *l4Upstream) handle(ctx context.Context, c net.Conn) {
	svc, sc := u.service()
	if svc == nil || sc == nil {
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
	st := l4SettingsOf(sc)
	var tried proxy.Tried
	for range st.tries {
		// Hashing balancers spread connections at random: a TCP stream
		// carries no request key to hash.
		ep, err := proxy.PickOther(svc.Set, rand.Uint64(), &tried)
		if err != nil {
			break
		}
		tried.Add(ep)
		ep.Begin()
		began := time.Now()
		dctx, cancel := context.WithTimeout(ctx, st.dialTimeout)
		tc, err := tunnel.Dial(dctx, u.transport, ep.Addr(), u.name)
		cancel()
		opened := time.Since(began)
		if err != nil {
			u.ended(svc, ep, balancer.ConnectFailure, opened)
			u.log.Warn("tunnel to an instance failed", "endpoint", ep.Addr(), "err", err.Error())
			continue
		}
		u.edges.tcpOpened(u.name)
		in, out, err := tunnel.Splice(c, tc, st.idleTimeout)
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
