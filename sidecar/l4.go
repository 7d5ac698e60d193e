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
	"github.com/pylon-mesh/pylon/tracing"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
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
	// tracer exports a span per stream; nil without one.
	tracer TunnelTracer
	log    *slog.Logger
}

// TunnelTracer is a tracer that also exports the spans of TCP streams
// through the mesh (tracing.Tracer is one). A sidecar's Tracer that is one
// gets a CLIENT span per stream its app opens and a SERVER span per stream
// to its app.
type TunnelTracer interface {
	// SampleRatio is the share of the traces the sidecar begins that are
	// sampled, 0 to 1.
	SampleRatio() float64
	// ObserveTunnel exports a sampled stream's span and ignores others.
	ObserveTunnel(tracing.Tunnel)
}

func newL4Upstream(name string, transport http.RoundTripper, service func() (*proxy.Service, *config.Service), edges *edgeMetrics, tracer TunnelTracer, log *slog.Logger) *l4Upstream {
	return &l4Upstream{name: name, transport: transport, service: service, edges: edges, tracer: tracer, log: log.With("upstream", name)}
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
	span := u.beginSpan()
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
		tc, err := tunnel.DialHeader(dctx, u.transport, ep.Addr(), u.name, span.header())
		cancel()
		opened := time.Since(began)
		span.tried(ep.Addr(), err)
		if err != nil {
			u.ended(svc, ep, balancer.ConnectFailure, opened)
			u.log.Warn("tunnel to an instance failed", "endpoint", ep.Addr(), "err", err.Error())
			continue
		}
		u.edges.tcpOpened(u.name)
		in, out, err := tunnel.Splice(c, tc, st.idleTimeout)
		u.ended(svc, ep, balancer.Success, opened)
		u.edges.tcpClosed(u.name, in, out)
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		if err != nil {
			u.log.Debug("tunnel ended", "endpoint", ep.Addr(), "bytes_in", in, "bytes_out", out, "err", err.Error())
		}
		span.end(in, out, err)
		return
	}
	u.log.Warn("no instance of the upstream could be reached; closing the connection")
	c.Close()
	span.end(0, 0, errNoInstance)
}

// errNoInstance is the error of a stream no instance could take.
var errNoInstance = errors.New("no instance of the upstream could be reached")

// l4Span is the span of one TCP stream of the caller's sidecar: nil
// without a tracer.
type l4Span struct {
	t TunnelTracer
	s tracing.Tunnel
}

// beginSpan starts the stream's span: a new trace, sampled with the
// tracer's ratio.
func (u *l4Upstream) beginSpan() *l4Span {
	if u.tracer == nil {
		return nil
	}
	return &l4Span{t: u.tracer, s: tracing.Tunnel{Trace: tracecontext.Begin(u.tracer.SampleRatio()), Client: true,
		Service: u.name, Listener: outboundListener(u.name), Start: time.Now()}}
}

// header is the traceparent the CONNECT request carries, so the remote
// sidecar's span is a child of this one (nil without a tracer).
func (sp *l4Span) header() http.Header {
	if sp == nil {
		return nil
	}
	return http.Header{"Traceparent": {sp.s.Trace.String()}}
}

// tried notes an instance the stream was offered to, and how that went.
func (sp *l4Span) tried(endpoint string, err error) {
	if sp != nil {
		sp.s.Peer, sp.s.Err = endpoint, err
	}
}

// end exports the span of a stream that moved in and out bytes and ended
// with err; a stream that was never opened keeps the error of its last try.
func (sp *l4Span) end(in, out int64, err error) {
	if sp == nil {
		return
	}
	sp.s.BytesIn, sp.s.BytesOut = in, out
	if err != nil && sp.s.Err == nil {
		sp.s.Err = err
	}
	sp.s.Duration = time.Since(sp.s.Start)
	sp.t.ObserveTunnel(sp.s)
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
