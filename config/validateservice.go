package config

import (
	"crypto/x509"
	"fmt"
	"os"
)

func (v *validator) services() {
	for i := range v.c.Services {
		s := &v.c.Services[i]
		p := index("services", i)
		v.name(p+".name", "service", s.Name, serviceNameRE, v.svcs)
		if len(s.Endpoints) == 0 && v.mode == Standalone {
			v.errorf(p+".endpoints", "at least one endpoint (host:port) is required")
		}
		for j, e := range s.Endpoints {
			ep := index(p+".endpoints", j)
			if err := checkHostPort(e.Address); err != nil {
				v.errorf(ep, "%v", err)
			}
			v.intRange(ep+".weight", e.Weight, 1, 1000)
		}
		v.enum(p+".protocol", s.Protocol, ProtocolHTTP1, ProtocolH2C, ProtocolH2, ProtocolGRPC)
		v.enum(p+".mtls", s.MTLS, MTLSStrict, MTLSPermissive)
		if s.Protocol == ProtocolH2 && s.TLS == nil && !s.Mesh {
			v.errorf(p+".protocol", "h2 requires tls; use h2c for HTTP/2 without TLS")
		}
		if s.TLS != nil {
			v.upstreamTLS(p+".tls", s.TLS)
		}
		if m := s.Calls; m != nil {
			v.timeout(p+".calls.timeout", m.Timeout)
			v.retries(p+".calls.retries", &m.Retries)
			v.positive(p+".calls.tcp_idle_timeout", int64(m.TCPIdleTimeout), "duration")
		}
		v.balancer(p, s)
		v.health(p+".health", &s.Health)
		v.limitsOfService(p, s)
	}
}

func (v *validator) upstreamTLS(p string, t *UpstreamTLS) {
	if t.CA != "" {
		if err := v.loadCA(t.CA); err != nil {
			v.errorf(p+".ca", "%v", err)
		}
	}
	v.keyPair(p, t.Cert, t.Key, false)
}

// loadCA checks the CA bundle at path, unless the config is Stored.
func (v *validator) loadCA(path string) error {
	if v.mode == Stored {
		return nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("read CA bundle %s: no PEM certificates found", path)
	}
	return nil
}

func (v *validator) balancer(p string, s *Service) {
	v.enum(p+".balancer", s.Balancer, BalancerRoundRobin, BalancerWeightedRoundRobin, BalancerRandom,
		BalancerLeastRequest, BalancerPeakEWMA, BalancerRingHash, BalancerMaglev)
	hashing := s.Balancer == BalancerRingHash || s.Balancer == BalancerMaglev
	switch h := s.HashOn; {
	case hashing && h == nil:
		v.errorf(p+".hash_on", "required for balancer %s: one of header, cookie, client_ip: true", s.Balancer)
	case !hashing && h != nil:
		v.errorf(p+".hash_on", "only valid with balancer ring_hash or maglev, not %s", s.Balancer)
	case h != nil:
		v.oneOf(p+".hash_on", []string{"header", "cookie", "client_ip: true"}, h.Header != "", h.Cookie != "", h.ClientIP)
		if h.Header != "" && !tokenRE.MatchString(h.Header) {
			v.errorf(p+".hash_on.header", "%q is not a header name token", h.Header)
		}
	}
}

func (v *validator) health(p string, h *Health) {
	if a := h.Active; a != nil {
		ap := p + ".active"
		v.positive(ap+".interval", int64(a.Interval), "duration")
		v.positive(ap+".timeout", int64(a.Timeout), "duration")
		if a.Timeout >= a.Interval {
			v.errorf(ap+".timeout", "must be less than interval (%s)", a.Interval)
		}
		v.intRange(ap+".healthy_threshold", a.HealthyThreshold, 1, 100)
		v.intRange(ap+".unhealthy_threshold", a.UnhealthyThreshold, 1, 100)
		v.oneOf(ap, []string{"http", "grpc", "tcp"}, a.HTTP != nil, a.GRPC != nil, a.TCP != nil)
		if c := a.HTTP; c != nil {
			if c.Path == "" || c.Path[0] != '/' {
				v.errorf(ap+".http.path", "must start with \"/\"")
			}
			if len(c.ExpectedStatuses) == 0 {
				v.errorf(ap+".http.expected_statuses", "at least one status is required")
			}
			for i, st := range c.ExpectedStatuses {
				v.intRange(index(ap+".http.expected_statuses", i), st, 100, 599)
			}
		}
	}
	if o := &h.Outlier; !o.Disabled {
		op := p + ".outlier"
		v.positive(op+".consecutive_5xx", int64(o.Consecutive5xx), "count")
		v.positive(op+".consecutive_connect_failures", int64(o.ConsecutiveConnectFailures), "count")
		v.positive(op+".base_ejection_time", int64(o.BaseEjectionTime), "duration")
		if o.MaxEjectionTime < o.BaseEjectionTime {
			v.errorf(op+".max_ejection_time", "must be at least base_ejection_time (%s)", o.BaseEjectionTime)
		}
		v.intRange(op+".max_ejection_percent", o.MaxEjectionPercent, 0, 100)
		v.positive(op+".interval", int64(o.Interval), "duration")
	}
	v.intRange(p+".panic_threshold", h.PanicThreshold, 0, 100)
	if h.SlowStart < 0 {
		v.errorf(p+".slow_start", "must not be negative; 0s means none")
	}
}

// limitsOfService checks the circuit breaker, retry budget, pool and DNS refresh.
func (v *validator) limitsOfService(p string, s *Service) {
	cb := &s.CircuitBreaker
	v.positive(p+".circuit_breaker.max_connections", int64(cb.MaxConnections), "count")
	v.positive(p+".circuit_breaker.max_pending", int64(cb.MaxPending), "count")
	v.positive(p+".circuit_breaker.max_requests", int64(cb.MaxRequests), "count")
	v.positive(p+".circuit_breaker.max_retries", int64(cb.MaxRetries), "count")
	v.intRange(p+".retry_budget.percent", s.RetryBudget.Percent, 0, 100)
	if s.RetryBudget.MinPerSecond < 0 {
		v.errorf(p+".retry_budget.min_per_second", "must not be negative")
	}
	if s.Pool.MaxIdlePerEndpoint < 0 {
		v.errorf(p+".pool.max_idle_per_endpoint", "must not be negative; 0 keeps no idle connections")
	}
	v.positive(p+".pool.idle_timeout", int64(s.Pool.IdleTimeout), "duration")
	v.positive(p+".pool.connect_timeout", int64(s.Pool.ConnectTimeout), "duration")
	v.positive(p+".dns_refresh", int64(s.DNSRefresh), "duration")
}
