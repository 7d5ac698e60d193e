package dataplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/breaker"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/health"
	"github.com/pylon-mesh/pylon/health/outlier"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/retry"
)

// serviceState is a compiled service and the goroutines and connections
// that serve it. It is kept across reloads while the service's config is
// unchanged, so its endpoints keep their health, ejections and statistics.
type serviceState struct {
	fingerprint string
	cfg         config.Service
	svc         *proxy.Service
	targets     []target
	tls         *tls.Config
	checker     *health.Checker
	cancel      context.CancelFunc
	wg          sync.WaitGroup

	// mu guards pools and resolved, which the DNS refresher changes.
	// meshRT is the mesh transport of a mesh service, whose pools' tunnels
	// ride it.
	meshRT http.RoundTripper

	mu       sync.Mutex
	pools    map[*balancer.Endpoint]*proxy.Pool
	resolved map[string][]string
}

// fingerprint identifies a service config: equal fingerprints compile to
// equal services.
func fingerprint(s config.Service) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// buildService compiles one service. Endpoints already known under prev
// (the same service before a reload) are reused by address.
func buildService(sc config.Service, prev *serviceState, logger *slog.Logger, mesh *Mesh) (*serviceState, error) {
	if sc.Mesh && (mesh == nil || mesh.Transport == nil) {
		return nil, fmt.Errorf("service %q: a mesh service needs the mesh transport, which only pylon sidecar has", sc.Name)
	}
	st := &serviceState{fingerprint: fingerprint(sc), cfg: sc}
	b, ok := balancer.Lookup(orDefault(sc.Balancer, config.BalancerRoundRobin))
	if !ok {
		return nil, fmt.Errorf("service %q: unknown balancer %q", sc.Name, sc.Balancer)
	}
	st.targets = parseTargets(sc.Endpoints)
	var prevEndpoints map[string]*balancer.Endpoint
	if prev != nil {
		prevEndpoints = prev.endpointsByAddr()
	}
	addrs := st.resolve(context.Background(), nil, logger)
	eps := st.endpointsFor(addrs, prevEndpoints, prev != nil, time.Now())
	tlsCfg, err := upstreamTLS(sc)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", sc.Name, err)
	}
	set := balancer.NewSet(b, eps, sc.Health.PanicThreshold, sc.Health.SlowStart.Duration())
	svc := &proxy.Service{
		Name:     sc.Name,
		Protocol: protocolOf(sc.Protocol),
		TLS:      tlsCfg != nil,
		Set:      set,
		Breaker: breaker.New(breaker.Limits{
			MaxConnections: int64(sc.CircuitBreaker.MaxConnections),
			MaxPending:     int64(sc.CircuitBreaker.MaxPending),
			MaxRequests:    int64(sc.CircuitBreaker.MaxRequests),
			MaxRetries:     int64(sc.CircuitBreaker.MaxRetries),
		}),
		Budget: retry.NewBudget(sc.RetryBudget.Percent, sc.RetryBudget.MinPerSecond),
	}
	if h := sc.HashOn; h != nil {
		switch {
		case h.Header != "":
			svc.HashOn, svc.HashName = proxy.HashHeader, strings.ToLower(h.Header)
		case h.Cookie != "":
			svc.HashOn, svc.HashName = proxy.HashCookie, h.Cookie
		case h.ClientIP:
			svc.HashOn = proxy.HashClientIP
		}
	}
	// A detector runs even with ejection disabled (zero config): it also
	// ticks the slow-start ramp of endpoints that return to service.
	var oc outlier.Config
	if o := sc.Health.Outlier; !o.Disabled {
		oc = outlier.Config{
			Consecutive5xx:             o.Consecutive5xx,
			ConsecutiveConnectFailures: o.ConsecutiveConnectFailures,
			BaseEjectionTime:           o.BaseEjectionTime.Duration(),
			MaxEjectionTime:            o.MaxEjectionTime.Duration(),
			MaxEjectionPercent:         o.MaxEjectionPercent,
			Interval:                   o.Interval.Duration(),
		}
	}
	svc.Outlier = outlier.NewDetector(oc, set, logger.With("service", sc.Name))
	if a := sc.Health.Active; a != nil {
		st.checker = health.NewChecker(activeConfig(sc, a, tlsCfg), set, logger.With("service", sc.Name), svc.Outlier.Kick)
	}
	st.tls = tlsCfg
	st.svc = svc
	st.pools = map[*balancer.Endpoint]*proxy.Pool{}
	if sc.Mesh {
		st.meshRT = mesh.Transport
	}
	st.installPools(eps)
	switch {
	case sc.Mesh:
		// Always HTTP/2 over the mesh's mTLS connections, whatever the
		// apps at either end speak.
		svc.Protocol, svc.TLS, svc.RT, svc.Mesh = proxy.H2, true, mesh.Transport, true
	case svc.Protocol != proxy.HTTP1:
		svc.RT = roundTripper(serviceTLSName(tlsCfg, st.targets), sc)
	}
	// An http1 service has no RoundTripper: every client's requests to it,
	// HTTP/2 clients' too, go over its endpoints' pools.
	return st, nil
}

// start runs the service's health checker and outlier detector.
func (st *serviceState) start(ctx context.Context) {
	ctx, st.cancel = context.WithCancel(ctx)
	if st.svc.Outlier != nil {
		st.wg.Add(1)
		go func() { defer st.wg.Done(); st.svc.Outlier.Run(ctx) }()
	}
	if st.checker != nil {
		st.wg.Add(1)
		go func() { defer st.wg.Done(); st.checker.Run(ctx) }()
	}
	if st.hasNames() {
		st.wg.Add(1)
		go func() { defer st.wg.Done(); st.refreshDNS(ctx) }()
	}
}

// stop ends the service's goroutines and closes its idle connections;
// connections still serving a request close when it ends. The mesh
// transport of a mesh service is every mesh service's, and outlives this
// one: its connections are left alone.
func (st *serviceState) stop() {
	if st.cancel != nil {
		st.cancel()
	}
	st.wg.Wait()
	st.mu.Lock()
	for _, p := range st.pools {
		p.Close()
	}
	st.mu.Unlock()
	if st.svc.Mesh {
		return
	}
	if c, ok := st.svc.RT.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func protocolOf(p string) proxy.Protocol {
	switch p {
	case config.ProtocolH2C:
		return proxy.H2C
	case config.ProtocolH2:
		return proxy.H2
	case config.ProtocolGRPC:
		return proxy.GRPC
	}
	return proxy.HTTP1
}

// upstreamTLS builds the client TLS config of a service (nil: plaintext).
func upstreamTLS(sc config.Service) (*tls.Config, error) {
	t := sc.TLS
	if t == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("read tls.ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca %s holds no PEM certificate", t.CA)
		}
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("load tls.cert and tls.key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	switch sc.Protocol {
	case config.ProtocolH2, config.ProtocolGRPC, config.ProtocolH2C:
		cfg.NextProtos = []string{"h2"}
	default:
		cfg.NextProtos = []string{"http/1.1"}
	}
	return cfg, nil
}

// roundTripper returns the transport of an h2c, h2 or grpc service:
// HTTP/2 only, with prior knowledge when cleartext.
func roundTripper(tlsCfg *tls.Config, sc config.Service) http.RoundTripper {
	d := &net.Dialer{Timeout: sc.Pool.ConnectTimeout.Duration(), KeepAlive: 30 * time.Second}
	var protos http.Protocols
	switch {
	case tlsCfg != nil:
		protos.SetHTTP2(true)
	default:
		protos.SetUnencryptedHTTP2(true)
	}
	return &http.Transport{
		DialContext:         boundedDial(d),
		TLSClientConfig:     tlsCfg,
		Protocols:           &protos,
		MaxIdleConnsPerHost: sc.Pool.MaxIdlePerEndpoint,
		IdleConnTimeout:     sc.Pool.IdleTimeout.Duration(),
		DisableCompression:  true,
		TLSHandshakeTimeout: sc.Pool.ConnectTimeout.Duration(),
		HTTP2: &http.HTTP2Config{
			SendPingTimeout:               30 * time.Second,
			PingTimeout:                   15 * time.Second,
			MaxReceiveBufferPerStream:     4 << 20,
			MaxReceiveBufferPerConnection: 16 << 20,
		},
	}
}

// maxDialsPerTry bounds the connections one try may have dialed: one
// normally, a few more when pooled connections turned out closed or a
// fresh one was filled by other requests' streams first, and a margin.
const maxDialsPerTry = 8

// boundedDial dials with d, refusing a try's dial past maxDialsPerTry
// (proxy.DialsOfTry) with a dial error, which fails the try as a connect
// failure: the route's retry policy and budget then decide what follows.
func boundedDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if n := proxy.DialsOfTry(ctx); n != nil && n.Add(1) > maxDialsPerTry {
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%d connections to %s in one try were unusable before they carried the request (an upstream that sends GOAWAY on, or closes, every new connection)", maxDialsPerTry, addr)}
		}
		return d.DialContext(ctx, network, addr)
	}
}

// activeConfig converts a service's active health check settings.
func activeConfig(sc config.Service, a *config.ActiveHealth, tlsCfg *tls.Config) health.Config {
	hc := health.Config{
		Interval:           a.Interval.Duration(),
		Timeout:            a.Timeout.Duration(),
		HealthyThreshold:   a.HealthyThreshold,
		UnhealthyThreshold: a.UnhealthyThreshold,
		TLS:                tlsCfg,
		Protocol:           orDefault(sc.Protocol, config.ProtocolHTTP1),
	}
	switch {
	case a.HTTP != nil:
		hc.Kind = health.HTTP
		hc.HTTPPath = a.HTTP.Path
		hc.ExpectedStatuses = a.HTTP.ExpectedStatuses
	case a.GRPC != nil:
		hc.Kind = health.GRPC
		hc.GRPCService = a.GRPC.Service
	default:
		hc.Kind = health.TCP
	}
	return hc
}
