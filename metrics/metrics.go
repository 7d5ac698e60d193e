// Package metrics holds pylon's Prometheus metrics. Handles used on the
// request path are resolved once per compiled route (RouteStats); state that
// lives elsewhere (endpoints, breakers, connections) is read at scrape time
// by collectors, so the request path only increments counters.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pylon-mesh/pylon/proxy"
)

// classes are the status-class label values by index (see RouteStats).
var classes = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// Registry is the set of metrics one pylon process exports.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	errors   *prometheus.CounterVec
	reloads  *prometheus.CounterVec
}

// New returns a registry with pylon's metrics and the Go runtime and process
// collectors.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pylon_http_requests_total",
		Help: "HTTP requests served, by listener, route, service and status class (none: no response was sent).",
	}, []string{"listener", "route", "service", "class"})
	r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pylon_http_request_duration_seconds",
		Help:    "Time from the request head to the end of the response, by listener, route and service.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"listener", "route", "service"})
	r.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pylon_http_retries_total",
		Help: "Retries made, by route and service.",
	}, []string{"route", "service"})
	r.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pylon_http_errors_total",
		Help: "Requests pylon refused or failed itself, by error code.",
	}, []string{"code"})
	r.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pylon_config_reloads_total",
		Help: "Configuration loads, by result (success or failure).",
	}, []string{"result"})
	r.reg.MustRegister(r.requests, r.duration, r.retries, r.errors, r.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// MustRegister adds collectors (endpoint state, connections) to the registry.
func (r *Registry) MustRegister(cs ...prometheus.Collector) { r.reg.MustRegister(cs...) }

// Handler serves the registry in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// RouteStats resolves the handles of one (listener, route, service) triple.
// Route and service are empty for requests refused before routing.
func (r *Registry) RouteStats(listener, route, service string) *proxy.RouteStats {
	s := &proxy.RouteStats{Latency: r.duration.WithLabelValues(listener, route, service)}
	for i, c := range classes {
		s.ByClass[i] = r.requests.WithLabelValues(listener, route, service, c)
	}
	return s
}

// Reloaded counts one configuration load.
func (r *Registry) Reloaded(ok bool) {
	if ok {
		r.reloads.WithLabelValues("success").Inc()
	} else {
		r.reloads.WithLabelValues("failure").Inc()
	}
}

// Observe counts a finished request. It implements proxy.Observer.
func (r *Registry) Observe(rec *proxy.Record) {
	if s := rec.Stats; s != nil {
		s.ByClass[statusClass(rec.Status)].Inc()
		s.Latency.Observe(rec.Duration.Seconds())
	}
	if rec.Retries > 0 && rec.Route != nil && rec.Service != nil {
		r.retries.WithLabelValues(rec.Route.Name, rec.Service.Name).Add(float64(rec.Retries))
	}
	if rec.Err != nil {
		r.errors.WithLabelValues(string(rec.Err.Code)).Inc()
	}
}

// statusClass maps a status to its index in RouteStats.ByClass.
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}
