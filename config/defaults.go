package config

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// SetDefaults fills every field that is zero and was not written in the
// source file with its documented default, lowercases route hosts and
// upper-cases route methods. Parse calls it; call it on a
// Config built in Go before Validate. For a Config built in Go a zero field
// always means the default.
func (c *Config) SetDefaults() {
	def(c, &c.Admin.Address, "admin.address", "127.0.0.1:9901")
	def(c, &c.AccessLog.Path, "access_log.path", "stdout")
	def(c, &c.AccessLog.Sample, "access_log.sample", 1)
	for i := range c.Listeners {
		c.Listeners[i].setDefaults(c, "listeners["+strconv.Itoa(i)+"]")
	}
	for i := range c.Routes {
		c.Routes[i].setDefaults(c, "routes["+strconv.Itoa(i)+"]")
	}
	for i := range c.Services {
		c.Services[i].setDefaults(c, "services["+strconv.Itoa(i)+"]")
	}
	for i := range c.AuthorizationPolicies {
		c.AuthorizationPolicies[i].setDefaults(c, "authorization_policies["+strconv.Itoa(i)+"]")
	}
	for i := range c.Policies {
		c.Policies[i].setDefaults(c, "policies["+strconv.Itoa(i)+"]")
	}
	for i := range c.Consumers {
		c.Consumers[i].setDefaults(c, "consumers["+strconv.Itoa(i)+"]")
	}
}

// def sets *p to v when *p is zero and path was not written in the file.
func def[T comparable](c *Config, p *T, path string, v T) {
	var zero T
	if *p == zero && !c.has(path) {
		*p = v
	}
}

func sec(n float64) Duration { return Duration(n * float64(time.Second)) }

func (l *Listener) setDefaults(c *Config, p string) {
	if l.TLS != nil {
		def(c, &l.TLS.MinVersion, p+".tls.min_version", TLS12)
	}
	p += ".limits."
	m := &l.Limits
	def(c, &m.MaxHeaderBytes, p+"max_header_bytes", 32*KiB)
	def(c, &m.MaxURIBytes, p+"max_uri_bytes", 8*KiB)
	def(c, &m.MaxHeaders, p+"max_headers", 100)
	def(c, &m.MaxBodyBytes, p+"max_body_bytes", 64*MiB)
	def(c, &m.ReadHeaderTimeout, p+"read_header_timeout", sec(10))
	def(c, &m.BodyReadTimeout, p+"body_read_timeout", sec(30))
	def(c, &m.IdleTimeout, p+"idle_timeout", sec(60))
	def(c, &m.MaxConnections, p+"max_connections", 10000)
}

func (r *Route) setDefaults(c *Config, p string) {
	for i, h := range r.Match.Hosts {
		r.Match.Hosts[i] = strings.ToLower(h)
	}
	for i, m := range r.Match.Methods {
		r.Match.Methods[i] = strings.ToUpper(m)
	}
	if r.Match.Path == (PathMatch{}) && !c.has(p+".match.path") {
		r.Match.Path.Prefix = "/"
	}
	def(c, &r.Timeout, p+".timeout", sec(15))
	for i := range r.Split {
		def(c, &r.Split[i].Weight, p+".split["+strconv.Itoa(i)+"].weight", 1)
	}
	r.Retries.setDefaults(c, p+".retries.")
}

// setDefaults fills retries' defaults; rp is the path with a trailing dot.
func (r *Retries) setDefaults(c *Config, rp string) {
	def(c, &r.Attempts, rp+"attempts", 2)
	if r.On == nil && !c.has(rp+"on") {
		r.On = slices.Clone(DefaultRetryOn)
	}
	def(c, &r.Backoff.Base, rp+"backoff.base", sec(0.025))
	def(c, &r.Backoff.Max, rp+"backoff.max", sec(0.25))
}

func (s *Service) setDefaults(c *Config, p string) {
	for i := range s.Endpoints {
		def(c, &s.Endpoints[i].Weight, p+".endpoints["+strconv.Itoa(i)+"].weight", 1)
	}
	def(c, &s.Protocol, p+".protocol", ProtocolHTTP1)
	def(c, &s.Balancer, p+".balancer", BalancerRoundRobin)
	s.Health.setDefaults(c, p+".health.")
	cb := &s.CircuitBreaker
	def(c, &cb.MaxConnections, p+".circuit_breaker.max_connections", 1024)
	def(c, &cb.MaxPending, p+".circuit_breaker.max_pending", 1024)
	def(c, &cb.MaxRequests, p+".circuit_breaker.max_requests", 1024)
	def(c, &cb.MaxRetries, p+".circuit_breaker.max_retries", 256)
	def(c, &s.RetryBudget.Percent, p+".retry_budget.percent", 20)
	def(c, &s.RetryBudget.MinPerSecond, p+".retry_budget.min_per_second", 3)
	def(c, &s.Pool.MaxIdlePerEndpoint, p+".pool.max_idle_per_endpoint", 128)
	def(c, &s.Pool.IdleTimeout, p+".pool.idle_timeout", sec(90))
	def(c, &s.Pool.ConnectTimeout, p+".pool.connect_timeout", sec(5))
	def(c, &s.DNSRefresh, p+".dns_refresh", sec(30))
	def(c, &s.MTLS, p+".mtls", MTLSStrict)
	if m := s.Calls; m != nil {
		m.Retries.setDefaults(c, p+".calls.retries.")
		def(c, &m.TCPIdleTimeout, p+".calls.tcp_idle_timeout", DefaultTCPIdleTimeout)
	}
}

// setDefaults fills Health; p ends in "health.".
func (h *Health) setDefaults(c *Config, p string) {
	if a := h.Active; a != nil {
		ap := p + "active."
		def(c, &a.Interval, ap+"interval", sec(5))
		def(c, &a.Timeout, ap+"timeout", sec(1))
		def(c, &a.HealthyThreshold, ap+"healthy_threshold", 2)
		def(c, &a.UnhealthyThreshold, ap+"unhealthy_threshold", 3)
		if a.HTTP != nil {
			def(c, &a.HTTP.Path, ap+"http.path", "/healthz")
			if a.HTTP.ExpectedStatuses == nil && !c.has(ap+"http.expected_statuses") {
				a.HTTP.ExpectedStatuses = []int{200}
			}
		}
	}
	o, op := &h.Outlier, p+"outlier."
	def(c, &o.Consecutive5xx, op+"consecutive_5xx", 5)
	def(c, &o.ConsecutiveConnectFailures, op+"consecutive_connect_failures", 5)
	def(c, &o.BaseEjectionTime, op+"base_ejection_time", sec(30))
	def(c, &o.MaxEjectionTime, op+"max_ejection_time", sec(300))
	def(c, &o.MaxEjectionPercent, op+"max_ejection_percent", 50)
	def(c, &o.Interval, op+"interval", sec(10))
	def(c, &h.PanicThreshold, p+"panic_threshold", 50)
}

// MeshSlowStart is the slow start of a mesh service's defaults.
const MeshSlowStart = 10 * time.Second

// MeshService is a service the mesh knows only from its registered
// instances (no endpoints of its own), with the mesh's defaults: the
// config defaults, balanced by peak EWMA, with a slow start so an instance
// that recovers takes its full share gradually.
func MeshService(name string) Service {
	c := &Config{Services: []Service{{Name: name, Balancer: BalancerPeakEWMA, Health: Health{SlowStart: Duration(MeshSlowStart)}}}}
	c.SetDefaults()
	return c.Services[0]
}
