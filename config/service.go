package config

import "time"

// Service is an upstream: a set of endpoints and how to reach, balance,
// health-check and protect them.
type Service struct {
	// Name identifies the service; required, unique, [a-z0-9_.-]+.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Endpoints are the instances; at least one. In YAML each is either
	// "host:port" or {address: host:port, weight: n}.
	Endpoints []Endpoint `yaml:"endpoints,omitempty" json:"endpoints,omitempty"`
	// Protocol is http1 (default), h2c, h2 (requires TLS) or grpc (HTTP/2,
	// cleartext unless TLS is set).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// TLS, when present, makes connections to the endpoints use TLS.
	TLS *UpstreamTLS `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Balancer picks an endpoint per request: round_robin (default),
	// weighted_round_robin, random, least_request, peak_ewma, ring_hash, maglev.
	Balancer string `yaml:"balancer,omitempty" json:"balancer,omitempty"`
	// HashOn is the hash key for ring_hash and maglev; required for those,
	// invalid for the others.
	HashOn *HashOn `yaml:"hash_on,omitempty" json:"hash_on,omitempty"`
	// Health configures active checks and passive outlier detection.
	Health Health `yaml:"health" json:"health"`
	// CircuitBreaker bounds concurrent work against the service.
	CircuitBreaker CircuitBreaker `yaml:"circuit_breaker" json:"circuit_breaker"`
	// RetryBudget bounds retries relative to requests.
	RetryBudget RetryBudget `yaml:"retry_budget" json:"retry_budget"`
	// Pool configures upstream connection pooling.
	Pool Pool `yaml:"pool" json:"pool"`
	// DNSRefresh is how often name endpoints are re-resolved. Default 30s.
	DNSRefresh Duration `yaml:"dns_refresh" json:"dns_refresh"`
	// MTLS is how the service's sidecars take inbound traffic in the mesh:
	// strict (default: mTLS only) or permissive (plaintext from callers
	// outside the mesh too, for migration). Gateways ignore it.
	MTLS string `yaml:"mtls,omitempty" json:"mtls,omitempty"`
	// Calls is how sidecars call the service: the timeout and retries of
	// each HTTP request and the idle timeout of TCP streams. Absent: no
	// timeout beyond the apps' own, retries as a route's defaults, TCP
	// streams idle for an hour closed. Gateways ignore it; their routes say
	// how they call.
	Calls *MeshCalls `yaml:"calls,omitempty" json:"calls,omitempty"`
	// Mesh makes requests to the service go over the mesh's mutual TLS
	// HTTP/2 connections to its sidecars. Set only by pylon sidecar, never
	// from a file.
	Mesh bool `yaml:"-" json:"-"`
}

// MeshCalls is how sidecars call a service (Service.Calls).
type MeshCalls struct {
	// Timeout bounds each HTTP request to the service, retries included.
	// Default 0s: none, the calling app's own deadline (and gRPC's
	// grpc-timeout) applies.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Retries says when and how often a failed try goes to another
	// instance; the same fields and defaults as a route's retries.
	Retries Retries `yaml:"retries" json:"retries"`
	// TCPIdleTimeout closes a TCP stream to the service in which no byte
	// moved either way for this long. Default 1h.
	TCPIdleTimeout Duration `yaml:"tcp_idle_timeout" json:"tcp_idle_timeout"`
}

// DefaultTCPIdleTimeout is MeshCalls.TCPIdleTimeout's default.
const DefaultTCPIdleTimeout = Duration(time.Hour)

// mTLS modes accepted in Service.MTLS.
const (
	MTLSStrict     = "strict"
	MTLSPermissive = "permissive"
)

// Protocols accepted in Service.Protocol.
const (
	ProtocolHTTP1 = "http1"
	ProtocolH2C   = "h2c"
	ProtocolH2    = "h2"
	ProtocolGRPC  = "grpc"
)

// Balancers accepted in Service.Balancer.
const (
	BalancerRoundRobin         = "round_robin"
	BalancerWeightedRoundRobin = "weighted_round_robin"
	BalancerRandom             = "random"
	BalancerLeastRequest       = "least_request"
	BalancerPeakEWMA           = "peak_ewma"
	BalancerRingHash           = "ring_hash"
	BalancerMaglev             = "maglev"
)

// Endpoint is one instance of a service.
type Endpoint struct {
	// Address is host:port; host may be a name (re-resolved every dns_refresh).
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// Weight is the relative share for weighted balancers, 1..1000. Default 1.
	Weight int `yaml:"weight" json:"weight"`
}

// UpstreamTLS is the client side TLS used towards a service.
type UpstreamTLS struct {
	// CA is a PEM bundle of roots to verify the server with. Empty means the
	// system roots.
	CA string `yaml:"ca,omitempty" json:"ca,omitempty"`
	// ServerName is the SNI and verification name. Empty means the endpoint host.
	ServerName string `yaml:"server_name,omitempty" json:"server_name,omitempty"`
	// Cert is a client certificate chain (PEM); set with Key or not at all.
	Cert string `yaml:"cert,omitempty" json:"cert,omitempty"`
	// Key is the client private key path (PEM); set with Cert or not at all.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// InsecureSkipVerify disables server verification. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty" json:"insecure_skip_verify,omitempty"`
}

// HashOn selects the request property hashed by ring_hash and maglev:
// exactly one of Header, Cookie, ClientIP.
type HashOn struct {
	// Header hashes the value of this request header.
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	// Cookie hashes the value of this cookie.
	Cookie string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	// ClientIP hashes the client address.
	ClientIP bool `yaml:"client_ip,omitempty" json:"client_ip,omitempty"`
}

// Health configures how endpoint health is judged.
type Health struct {
	// Active probes endpoints periodically. Nil means no active checks.
	Active *ActiveHealth `yaml:"active,omitempty" json:"active,omitempty"`
	// Outlier ejects endpoints that fail real requests. Always on unless
	// Disabled.
	Outlier Outlier `yaml:"outlier" json:"outlier"`
	// PanicThreshold is the percentage (0..100) of healthy endpoints below
	// which health is ignored and all endpoints are used. Default 50.
	PanicThreshold int `yaml:"panic_threshold" json:"panic_threshold"`
	// SlowStart ramps traffic to a recovered endpoint over this long.
	// Default 0s: no ramp.
	SlowStart Duration `yaml:"slow_start" json:"slow_start"`
}

// ActiveHealth is a periodic probe: exactly one of HTTP, GRPC, TCP.
type ActiveHealth struct {
	// Interval between probes of one endpoint. Default 5s.
	Interval Duration `yaml:"interval" json:"interval"`
	// Timeout of one probe; less than Interval. Default 1s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// HealthyThreshold is the number of passes that mark an endpoint healthy. Default 2.
	HealthyThreshold int `yaml:"healthy_threshold" json:"healthy_threshold"`
	// UnhealthyThreshold is the number of failures that mark it unhealthy. Default 3.
	UnhealthyThreshold int `yaml:"unhealthy_threshold" json:"unhealthy_threshold"`
	// HTTP probes with an HTTP GET.
	HTTP *HTTPCheck `yaml:"http,omitempty" json:"http,omitempty"`
	// GRPC probes with the gRPC health checking protocol.
	GRPC *GRPCCheck `yaml:"grpc,omitempty" json:"grpc,omitempty"`
	// TCP probes by connecting only.
	TCP *TCPCheck `yaml:"tcp,omitempty" json:"tcp,omitempty"`
}

// HTTPCheck is an HTTP GET health probe.
type HTTPCheck struct {
	// Path is requested; starts with "/". Default /healthz.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// ExpectedStatuses are the passing statuses, each 100..599. Default [200].
	ExpectedStatuses []int `yaml:"expected_statuses" json:"expected_statuses"`
}

// GRPCCheck is a grpc.health.v1 probe.
type GRPCCheck struct {
	// Service is the service name sent in the check; empty means the server.
	Service string `yaml:"service" json:"service"`
}

// TCPCheck is a connect-only probe. It has no settings.
type TCPCheck struct{}

// Outlier is passive outlier detection: endpoints failing real requests are
// ejected for an exponentially growing time.
type Outlier struct {
	// Disabled turns outlier detection off. Default false.
	Disabled bool `yaml:"disabled" json:"disabled"`
	// Consecutive5xx ejects after this many 5xx responses in a row. Default 5.
	Consecutive5xx int `yaml:"consecutive_5xx" json:"consecutive_5xx"`
	// ConsecutiveConnectFailures ejects after this many failed connects in a
	// row. Default 5.
	ConsecutiveConnectFailures int `yaml:"consecutive_connect_failures" json:"consecutive_connect_failures"`
	// BaseEjectionTime is the first ejection's length; it doubles per
	// repeat. Default 30s.
	BaseEjectionTime Duration `yaml:"base_ejection_time" json:"base_ejection_time"`
	// MaxEjectionTime caps an ejection; at least BaseEjectionTime. Default 300s.
	MaxEjectionTime Duration `yaml:"max_ejection_time" json:"max_ejection_time"`
	// MaxEjectionPercent caps the share of endpoints ejected at once, 0..100. Default 50.
	MaxEjectionPercent int `yaml:"max_ejection_percent" json:"max_ejection_percent"`
	// Interval is how often ejections are reviewed. Default 10s.
	Interval Duration `yaml:"interval" json:"interval"`
}

// CircuitBreaker bounds concurrent work against a service; each limit is
// positive, default 1024 (MaxRetries: 256).
type CircuitBreaker struct {
	// MaxConnections bounds open upstream connections. Default 1024.
	MaxConnections int `yaml:"max_connections" json:"max_connections"`
	// MaxPending bounds requests waiting for a connection. Default 1024.
	MaxPending int `yaml:"max_pending" json:"max_pending"`
	// MaxRequests bounds requests in flight. Default 1024.
	MaxRequests int `yaml:"max_requests" json:"max_requests"`
	// MaxRetries bounds retries in flight. Default 256: the retry budget is
	// what stops retry storms; this only caps retries running at once.
	MaxRetries int `yaml:"max_retries" json:"max_retries"`
}

// RetryBudget lets retries be at most Percent% of requests, plus
// MinPerSecond retries per second regardless.
type RetryBudget struct {
	// Percent is 0..100. Default 20.
	Percent int `yaml:"percent" json:"percent"`
	// MinPerSecond is at least 0. Default 3.
	MinPerSecond int `yaml:"min_per_second" json:"min_per_second"`
}

// Pool configures upstream connection reuse.
type Pool struct {
	// MaxIdlePerEndpoint bounds idle connections kept per endpoint; 0 keeps
	// none. Default 128.
	MaxIdlePerEndpoint int `yaml:"max_idle_per_endpoint" json:"max_idle_per_endpoint"`
	// IdleTimeout closes idle connections after this long. Default 90s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
	// ConnectTimeout bounds dialing (and the TLS handshake). Default 5s.
	ConnectTimeout Duration `yaml:"connect_timeout" json:"connect_timeout"`
}
