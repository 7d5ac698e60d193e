package dataplane

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylon-mesh/pylon/breaker"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/health"
	"github.com/pylon-mesh/pylon/proxy"
)

// ServiceStatus is a service as the admin API's /services shows it.
type ServiceStatus struct {
	Name      string           `json:"name"`
	Protocol  string           `json:"protocol"`
	Balancer  string           `json:"balancer"`
	Panicking bool             `json:"panicking"`
	Available int              `json:"available"`
	Endpoints []EndpointStatus `json:"endpoints"`
	Breaker   BreakerStatus    `json:"circuit_breaker"`
}

// EndpointStatus is one endpoint's live state.
type EndpointStatus struct {
	Address         string                 `json:"address"`
	Weight          int                    `json:"weight"`
	EffectiveWeight float64                `json:"effective_weight"`
	Healthy         bool                   `json:"healthy"`
	Ejected         bool                   `json:"ejected"`
	EjectedUntil    *time.Time             `json:"ejected_until,omitempty"`
	Ejections       int                    `json:"ejections"`
	InFlight        int64                  `json:"in_flight"`
	Requests        uint64                 `json:"requests"`
	Failures        uint64                 `json:"failures"`
	LatencyMillis   float64                `json:"latency_ewma_ms"`
	Check           *health.EndpointStatus `json:"last_check,omitempty"`
}

// BreakerStatus is a service's circuit breaker use and rejections.
type BreakerStatus struct {
	Active   map[string]int64  `json:"active"`
	Limits   map[string]int64  `json:"limits"`
	Rejected map[string]uint64 `json:"rejected"`
}

var breakerKinds = []breaker.Kind{breaker.Connections, breaker.Pending, breaker.Requests, breaker.Retries}

// Service returns the running service named name, with its balancer,
// breaker and outlier detection; nil when the config has none. A reload
// that changes the service's config replaces it.
func (rt *Runtime) Service(name string) *proxy.Service {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if st := rt.services[name]; st != nil {
		return st.svc
	}
	return nil
}

// ServiceConfig returns the config of the named running service, nil when
// there is none. The caller must not modify it.
func (rt *Runtime) ServiceConfig(name string) *config.Service {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if st := rt.services[name]; st != nil {
		return &st.cfg
	}
	return nil
}

// Services reports every service's live state, sorted by name.
func (rt *Runtime) Services() []ServiceStatus {
	rt.mu.Lock()
	states := make([]*serviceState, 0, len(rt.services))
	for _, st := range rt.services {
		states = append(states, st)
	}
	rt.mu.Unlock()
	sort.Slice(states, func(i, j int) bool { return states[i].cfg.Name < states[j].cfg.Name })
	now := time.Now()
	out := make([]ServiceStatus, 0, len(states))
	for _, st := range states {
		out = append(out, st.status(now))
	}
	return out
}

func (st *serviceState) status(now time.Time) ServiceStatus {
	svc := st.svc
	s := ServiceStatus{
		Name:      st.cfg.Name,
		Protocol:  orDefault(st.cfg.Protocol, config.ProtocolHTTP1),
		Balancer:  orDefault(st.cfg.Balancer, config.BalancerRoundRobin),
		Panicking: svc.Set.Panicking(),
		Available: svc.Set.Available(),
		Breaker:   BreakerStatus{Active: map[string]int64{}, Limits: map[string]int64{}, Rejected: map[string]uint64{}},
	}
	checks := map[string]health.EndpointStatus{}
	if st.checker != nil {
		for _, c := range st.checker.Status() {
			checks[c.Addr] = c
		}
	}
	for _, ep := range svc.Set.Endpoints() {
		es := EndpointStatus{
			Address:         ep.Addr(),
			Weight:          ep.Weight(),
			EffectiveWeight: ep.EffectiveWeight(now, svc.Set.SlowStart()),
			Healthy:         ep.Healthy(),
			Ejected:         ep.Ejected(now),
			Ejections:       ep.Ejections(),
			InFlight:        ep.InFlight(),
			Requests:        ep.Requests(),
			Failures:        ep.Failures(),
			LatencyMillis:   float64(ep.Latency()) / 1e6,
		}
		if es.Ejected {
			t := ep.EjectedUntil()
			es.EjectedUntil = &t
		}
		if c, ok := checks[ep.Addr()]; ok {
			es.Check = &c
		}
		s.Endpoints = append(s.Endpoints, es)
	}
	for _, k := range breakerKinds {
		s.Breaker.Active[k.String()] = svc.Breaker.Active(k)
		s.Breaker.Limits[k.String()] = svc.Breaker.Limit(k)
		s.Breaker.Rejected[k.String()] = svc.Breaker.Rejected(k)
	}
	return s
}

// stateCollector exports endpoint, breaker and connection state at scrape
// time, so the request path pays nothing for these metrics.
type stateCollector struct {
	rt                                                            *Runtime
	healthy, ejected, ejections, inflight, rejected, conns, rjcts *prometheus.Desc
	weight                                                        *prometheus.Desc
	logDropped                                                    *prometheus.Desc
}

func newStateCollector(rt *Runtime) *stateCollector {
	ep := []string{"service", "endpoint"}
	return &stateCollector{
		rt:         rt,
		healthy:    prometheus.NewDesc("pylon_upstream_endpoint_healthy", "1 when the endpoint passes its active health checks.", ep, nil),
		ejected:    prometheus.NewDesc("pylon_upstream_endpoint_ejected", "1 while outlier detection has the endpoint ejected.", ep, nil),
		ejections:  prometheus.NewDesc("pylon_upstream_endpoint_ejections", "Ejections counted against the endpoint (decays while it behaves).", ep, nil),
		inflight:   prometheus.NewDesc("pylon_upstream_endpoint_in_flight", "Requests in flight to the endpoint.", ep, nil),
		weight:     prometheus.NewDesc("pylon_upstream_endpoint_weight", "The endpoint's weight as the balancer uses it now: its configured weight, ramped up during slow start.", ep, nil),
		rejected:   prometheus.NewDesc("pylon_circuit_breaker_rejected_total", "Requests refused by a service's circuit breaker, by limit.", []string{"service", "limit"}, nil),
		conns:      prometheus.NewDesc("pylon_downstream_connections_open", "Client connections open now.", nil, nil),
		rjcts:      prometheus.NewDesc("pylon_downstream_connections_rejected_total", "Client connections closed at accept because a listener was at max_connections.", nil, nil),
		logDropped: prometheus.NewDesc("pylon_access_log_dropped_total", "Access log lines dropped because the log destination fell behind.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.healthy, c.ejected, c.ejections, c.inflight, c.weight, c.rejected, c.conns, c.rjcts, c.logDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	c.rt.mu.Lock()
	states := make([]*serviceState, 0, len(c.rt.services))
	for _, st := range c.rt.services {
		states = append(states, st)
	}
	dropped := c.rt.logDropped
	if c.rt.log != nil {
		dropped += c.rt.log.Dropped()
	}
	c.rt.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.logDropped, prometheus.CounterValue, float64(dropped))
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, st := range states {
		name := st.cfg.Name
		for _, ep := range st.svc.Set.Endpoints() {
			ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, b2f(ep.Healthy()), name, ep.Addr())
			ch <- prometheus.MustNewConstMetric(c.ejected, prometheus.GaugeValue, b2f(ep.Ejected(now)), name, ep.Addr())
			ch <- prometheus.MustNewConstMetric(c.ejections, prometheus.GaugeValue, float64(ep.Ejections()), name, ep.Addr())
			ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(ep.InFlight()), name, ep.Addr())
			ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, ep.EffectiveWeight(now, st.svc.Set.SlowStart()), name, ep.Addr())
		}
		for _, k := range breakerKinds {
			ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(st.svc.Breaker.Rejected(k)), name, k.String())
		}
	}
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(c.rt.server.OpenConnections()))
	ch <- prometheus.MustNewConstMetric(c.rjcts, prometheus.CounterValue, float64(c.rt.server.RejectedConnections()))
}
