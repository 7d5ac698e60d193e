package proxy

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/breaker"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/health/outlier"
	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/retry"
	"github.com/pylon-mesh/pylon/router"
)

// Snapshot is one compiled, immutable configuration of the request path.
// The data plane builds it off the request path and swaps it in with one
// atomic store; a request loads it once and uses it to the end.
type Snapshot struct {
	// Listeners holds the routing of each listener by name.
	Listeners map[string]*ListenerConfig
	// TrustedProxies are the peers whose X-Forwarded-* headers are kept.
	TrustedProxies []netip.Prefix
	// Observer receives one record per request (access log, metrics).
	Observer Observer
	// Tracing, when set, gives each HTTP request a span in a W3C trace
	// (see Tracing); nil: tracing is off, at the cost of a nil check.
	Tracing *Tracing
	// loopsPrepared is set once prepareLoops has looked at the snapshot.
	loopsPrepared bool
}

// ListenerConfig is what one listener's requests are served with.
type ListenerConfig struct {
	Name   string
	Table  *router.Table
	Routes []*Route
	Limits h1.Limits
	// MaxBodyBytes bounds a request body (413 beyond it).
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	BodyReadTimeout   time.Duration
	IdleTimeout       time.Duration
	// MaxConnections bounds the connections open at once (0: no bound).
	MaxConnections int64
	// TLS is set on HTTPS listeners.
	TLS *tls.Config
	// PlaintextToo, with TLS set, also serves clients that do not start
	// with a TLS handshake (a sidecar's inbound listener in permissive
	// mode), calling OnPlaintext for each such connection.
	PlaintextToo bool
	OnPlaintext  func()
	// Stats count requests refused before a route was chosen.
	Stats *RouteStats
	// Authorize, when set, decides whether each request may go on: it runs
	// after the request head is read and checked, before routing. A non-nil
	// error is answered like every pylon error (a JSON body, or a gRPC
	// status for gRPC requests), logged and counted, and the request never
	// reaches an upstream; a status outside 400 to 599 is answered as a 500, so a
	// faulty hook refuses rather than admits. It runs on the request's
	// goroutine, for every request (HTTP/2 ones concurrently), and must not
	// keep the Access. Nil: every request may go on, at no cost.
	Authorize func(a *Access) *flow.Error
	// Connect, when set, serves HTTP/2 CONNECT requests (RFC 9113 8.5,
	// without :protocol), after Authorize has allowed them, instead of
	// refusing them: a tunnel handler, which may read the request body and
	// write and flush the response at once (full duplex). Nil: CONNECT is
	// refused with 405. HTTP/1.1 CONNECT is always refused.
	Connect http.Handler
	// loop is set when the listener's plain HTTP/1.1 connections go to
	// event loops (see prepareLoops).
	loop bool
}

// Backend is one service of a route with its cumulative split weight and
// the metric handles of the (route, service) pair.
type Backend struct {
	Service    *Service
	Cumulative uint32
	Stats      *RouteStats
}

// HeaderOps edits a header block: remove, then set (replace), then add.
type HeaderOps struct {
	Remove [][]byte
	Set    []HeaderField
	Add    []HeaderField
}

// HeaderField is one header name and value, names already in canonical
// lower case.
type HeaderField struct {
	Name, Value []byte
}

// Empty reports whether the ops change nothing.
func (o *HeaderOps) Empty() bool {
	return len(o.Remove) == 0 && len(o.Set) == 0 && len(o.Add) == 0
}

// Rewrite changes the request target and host sent upstream.
type Rewrite struct {
	// StripPrefix removes this path prefix (segment-aware).
	StripPrefix []byte
	// Path replaces the whole path; Segments interleave literals and
	// template parameter names.
	Path []PathPart
	// Host replaces the Host header.
	Host []byte
}

// PathPart is a literal piece of a rewritten path or, when Param is set, the
// value of the named route template parameter.
type PathPart struct {
	Literal []byte
	Param   string
}

// Route is a compiled route.
type Route struct {
	Name     string
	Backends []Backend
	// TotalWeight is the sum of the backends' weights (0 or 1 backend: no split).
	TotalWeight uint32
	// Timeout bounds the wait for the upstream's response head, retries
	// included (0: none).
	Timeout         time.Duration
	Retry           retry.Policy
	Rewrite         Rewrite
	RequestHeaders  HeaderOps
	ResponseHeaders HeaderOps
	// Policies, when set, check each request after routing (authentication,
	// consumer allow lists, rate limits); nil costs nothing.
	Policies *policy.Chain
	// loop is set when an event loop can serve the route's requests.
	loop bool
}

// Protocol is how pylon speaks to a service's endpoints.
type Protocol uint8

// Upstream protocols.
const (
	HTTP1 Protocol = iota
	H2C
	H2
	GRPC
)

// HashKind says what a hashing balancer hashes.
type HashKind uint8

// Hash sources for ring_hash and maglev.
const (
	HashNone HashKind = iota
	HashHeader
	HashCookie
	HashClientIP
)

// Service is a compiled service: its endpoints and the machinery that
// guards them. Endpoint state, pools and detectors are shared across
// snapshots by the data plane, so a reload keeps them.
type Service struct {
	Name     string
	Protocol Protocol
	// TLS says the endpoints speak TLS.
	TLS    bool
	Set    *balancer.Set
	HashOn HashKind
	// HashName is the lower-case header or cookie name hashed.
	HashName string
	Breaker  *breaker.Breaker
	Budget   *retry.Budget
	Outlier  *outlier.Detector
	// RT forwards every request to an h2c, h2 or grpc service; an http1
	// service needs none, as its requests go over its endpoints' pools.
	RT http.RoundTripper
	// Mesh marks a service reached over the mesh (RT is the mesh's
	// transport). An HTTP/1.1 upgrade request to it (WebSocket) goes
	// through its endpoints' pools instead, whose connections are tunnels
	// (PoolConfig.Dial), and the upgraded stream rides the tunnel.
	Mesh bool
	// pools maps each endpoint to its HTTP/1.1 connection pool, which
	// carries every request to an http1 service (see tryPool).
	pools atomic.Pointer[map[*balancer.Endpoint]*Pool]
}

// SetPools installs the endpoints' connection pools.
func (s *Service) SetPools(m map[*balancer.Endpoint]*Pool) { s.pools.Store(&m) }

// Pool returns the HTTP/1.1 pool of an endpoint.
func (s *Service) Pool(ep *balancer.Endpoint) *Pool {
	m := s.pools.Load()
	if m == nil {
		return nil
	}
	return (*m)[ep]
}
