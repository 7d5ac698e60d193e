package sidecar

import (
	"crypto/x509"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/proxy"
)

// Directions of an edge, from this sidecar's point of view.
const (
	inbound  = "inbound"
	outbound = "outbound"
)

// Callers that are not mesh workloads, as the source label names them.
const (
	plaintextSource = "plaintext"
	unknownSource   = "unknown"
)

// edgeMetrics count traffic per edge of the service graph: the source and
// destination services are labels, whichever side of the edge this
// sidecar is on.
type edgeMetrics struct {
	self      string
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	bytes     *prometheus.CounterVec
	opened    *prometheus.CounterVec
	closed    *prometheus.CounterVec
	tcpBytes  *prometheus.CounterVec
	denials   *prometheus.CounterVec
	plaintext prometheus.Counter
	handshake *prometheus.Desc
	stats     *meshtls.Stats
	// edges holds each edge's request metrics (edgeKey to *edge), and
	// lastSource the calling service of the last inbound request's peer,
	// so that filing a request neither looks its labels up once per
	// metric nor parses the caller's certificate every time.
	edges      sync.Map
	lastSource atomic.Pointer[peerSource]
}

// edgeKey names an edge: the label values its metrics share.
type edgeKey struct{ dir, src, dst string }

// edge is one edge's request metrics; its status classes are made on
// first use, so that only classes seen are exported.
type edge struct {
	key      edgeKey
	duration prometheus.Observer
	in, out  prometheus.Counter
	classes  [len(statusClasses)]atomic.Pointer[prometheus.Counter]
}

// peerSource is the calling service named by a peer's leaf certificate.
type peerSource struct {
	leaf *x509.Certificate
	name string
}

var edgeLabels = []string{"direction", "source", "destination"}

// statusClasses label a response by its status's first digit; "none" when
// no response was sent.
var statusClasses = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func newEdgeMetrics(self string, stats *meshtls.Stats) *edgeMetrics {
	return &edgeMetrics{
		self:  self,
		stats: stats,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_mesh_requests_total",
			Help: "HTTP and gRPC requests per edge of the mesh, by status class."}, append(edgeLabels, "class")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pylon_mesh_request_duration_seconds",
			Help: "Request latency per edge, from the request head to the end of the response.", Buckets: prometheus.DefBuckets}, edgeLabels),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_mesh_request_bytes_total",
			Help: "Body bytes of HTTP requests per edge: received from the caller (in) and sent back (out)."}, append(edgeLabels, "flow")),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_mesh_tcp_connections_opened_total",
			Help: "TCP connections per edge carried through the mesh."}, edgeLabels),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_mesh_tcp_connections_closed_total",
			Help: "TCP connections per edge that ended."}, edgeLabels),
		tcpBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_mesh_tcp_bytes_total",
			Help: "Bytes of TCP connections per edge: from the caller (in) and to it (out)."}, append(edgeLabels, "flow")),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_mesh_authorization_denials_total",
			Help: "Inbound requests and connections refused by an authorization policy, per edge."}, []string{"source", "destination"}),
		plaintext: prometheus.NewCounter(prometheus.CounterOpts{Name: "pylon_mesh_plaintext_connections_total",
			Help: "Connections to the inbound listener from callers outside the mesh, in plaintext (permissive mode only)."}),
		handshake: prometheus.NewDesc("pylon_mesh_tls_handshake_failures_total",
			"mTLS handshakes that failed: callers refused by the inbound listener, destinations that failed verification.", []string{"direction"}, nil),
	}
}

func (m *edgeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.bytes, m.opened, m.closed, m.tcpBytes, m.denials, m.plaintext, m}
}

// Describe and Collect serve the handshake failure counts kept in
// meshtls.Stats.
func (m *edgeMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.handshake }

// Collect implements prometheus.Collector.
func (m *edgeMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.handshake, prometheus.CounterValue, float64(m.stats.InboundFailures.Load()), inbound)
	ch <- prometheus.MustNewConstMetric(m.handshake, prometheus.CounterValue, float64(m.stats.OutboundFailures.Load()), outbound)
}

// observe is the data plane's Mesh.Observe: it files each request (or, for
// a CONNECT, each tunnelled connection) under its edge.
func (m *edgeMetrics) observe(r *proxy.Record) {
	dir, src, dst := outbound, m.self, unknownSource
	if r.Listener == inboundListener {
		dir, src, dst = inbound, m.sourceOf(r), m.self
	} else if r.Service != nil {
		dst = r.Service.Name
	}
	if r.Err != nil && r.Err.Code == "forbidden" {
		m.denials.WithLabelValues(src, dst).Inc()
	}
	if string(r.Method) == "CONNECT" {
		if r.Err != nil {
			return // refused: no connection was carried
		}
		m.opened.WithLabelValues(dir, src, dst).Inc()
		m.closed.WithLabelValues(dir, src, dst).Inc()
		m.tcpBytes.WithLabelValues(dir, src, dst, "in").Add(float64(r.BytesIn))
		m.tcpBytes.WithLabelValues(dir, src, dst, "out").Add(float64(r.BytesOut))
		return
	}
	class := 0
	if r.Status >= 100 && r.Status < 600 {
		class = r.Status / 100
	}
	e := m.edge(edgeKey{dir, src, dst})
	e.class(m, class).Inc()
	e.duration.Observe(r.Duration.Seconds())
	e.in.Add(float64(r.BytesIn))
	e.out.Add(float64(r.BytesOut))
}

// edge returns the request metrics of edge k, making them on first use.
func (m *edgeMetrics) edge(k edgeKey) *edge {
	if e, ok := m.edges.Load(k); ok {
		return e.(*edge)
	}
	e := &edge{
		key:      k,
		duration: m.duration.WithLabelValues(k.dir, k.src, k.dst),
		in:       m.bytes.WithLabelValues(k.dir, k.src, k.dst, "in"),
		out:      m.bytes.WithLabelValues(k.dir, k.src, k.dst, "out"),
	}
	got, _ := m.edges.LoadOrStore(k, e)
	return got.(*edge)
}

// class returns the edge's request counter for status class i (an index
// of statusClasses). Two callers may both make it: the vector gives them
// the same counter.
func (e *edge) class(m *edgeMetrics, i int) prometheus.Counter {
	if c := e.classes[i].Load(); c != nil {
		return *c
	}
	c := m.requests.WithLabelValues(e.key.dir, e.key.src, e.key.dst, statusClasses[i])
	e.classes[i].Store(&c)
	return c
}

// sourceOf names the calling service of an inbound request, remembering
// the answer for the last caller's certificate (a connection's requests
// share one).
func (m *edgeMetrics) sourceOf(r *proxy.Record) string {
	if len(r.Peer) == 0 {
		return plaintextSource
	}
	if last := m.lastSource.Load(); last != nil && last.leaf == r.Peer[0] {
		return last.name
	}
	name := sourceOf(r)
	m.lastSource.Store(&peerSource{leaf: r.Peer[0], name: name})
	return name
}

// sourceOf names the calling service of an inbound request.
func sourceOf(r *proxy.Record) string {
	if len(r.Peer) == 0 {
		return plaintextSource
	}
	id, ok := meshtls.PeerID(r.Peer)
	if !ok {
		return unknownSource
	}
	ns, svc, ok := meshtls.Workload(id)
	if !ok {
		return strings.TrimPrefix(id.Path(), "/")
	}
	if ns != "default" {
		return ns + "/" + svc
	}
	return svc
}

// tcpOpened and tcpClosed count the app's own TCP connections to a TCP
// upstream (the outbound side of an L4 edge).
func (m *edgeMetrics) tcpOpened(dst string) { m.opened.WithLabelValues(outbound, m.self, dst).Inc() }

func (m *edgeMetrics) tcpClosed(dst string, in, out int64) {
	m.closed.WithLabelValues(outbound, m.self, dst).Inc()
	m.tcpBytes.WithLabelValues(outbound, m.self, dst, "in").Add(float64(in))
	m.tcpBytes.WithLabelValues(outbound, m.self, dst, "out").Add(float64(out))
}
