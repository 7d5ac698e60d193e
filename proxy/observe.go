package proxy

import (
	"crypto/x509"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// Record is what the request path reports about one finished request. It is
// reused: an Observer must copy what it keeps beyond the call.
type Record struct {
	Start     time.Time
	Duration  time.Duration
	RequestID []byte
	Listener  string
	Route     *Route
	Service   *Service
	Endpoint  string
	Proto     string
	Method    []byte
	Host      []byte
	Path      []byte
	Remote    netip.AddrPort
	Status    int
	BytesIn   int64
	BytesOut  int64
	Retries   int
	// Consumer is who the route's policies authenticated the caller as
	// ("" when none did).
	Consumer string
	// Peer is the client's verified certificate chain, leaf first, on
	// listeners that check their callers (an Authorize hook is set); nil
	// otherwise and for plaintext clients.
	Peer []*x509.Certificate
	// Stats are the metric handles of the request's route and service (or
	// the listener's, when no route was chosen).
	Stats *RouteStats
	// Err is set when pylon refused or failed the request itself.
	Err *flow.Error
	// Trace is the request's own span when the snapshot traces (see
	// Tracing): its trace, its span ID (the parent-id the upstream got)
	// and flags. Zero when tracing is off and for CONNECT tunnels.
	Trace tracecontext.Context
	// ParentSpan is the caller's span, from its traceparent; zero when
	// pylon began the trace.
	ParentSpan tracecontext.SpanID
}

// Observer receives a record for every request, refused ones included. It
// runs on the request goroutine and must be quick.
type Observer interface {
	Observe(r *Record)
}

// RouteStats are a route's metric handles, resolved once at compile time so
// the request path only increments.
type RouteStats struct {
	// ByClass counts requests by status class: index 1 to 5 for 1xx to 5xx,
	// 0 for requests that got no response.
	ByClass [6]prometheus.Counter
	// Latency observes the request duration in seconds.
	Latency prometheus.Observer
}
