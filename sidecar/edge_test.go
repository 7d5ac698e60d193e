package sidecar

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylon-mesh/pylon/internal/testpki"
	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/proxy"
)

// leafFor issues a certificate for a SPIFFE ID and parses it, as a
// verified peer chain holds it.
func leafFor(tb testing.TB, ca *testpki.CA, id string) *x509.Certificate {
	tb.Helper()
	leaf, err := x509.ParseCertificate(ca.Issue(tb, id).Certificate[0])
	if err != nil {
		tb.Fatal(err)
	}
	return leaf
}

// series gathers a metric of m as its label values (in the order of
// their names) joined by commas -> value (a counter's, or a histogram's
// sample count).
func series(t *testing.T, m *edgeMetrics, name string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			v := s.GetCounter().GetValue()
			if h := s.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// TestEdgeMetricsFileEachRequestUnderItsEdge: requests from several
// callers, interleaved, with several status classes, in both directions,
// each counted under its own edge and class, whichever caller came last.
func TestEdgeMetricsFileEachRequestUnderItsEdge(t *testing.T) {
	ca := testpki.NewCA(t)
	web := leafFor(t, ca, "spiffe://example.org/ns/default/svc/web")
	webAgain := leafFor(t, ca, "spiffe://example.org/ns/default/svc/web") // another connection of web's
	batch := leafFor(t, ca, "spiffe://example.org/ns/jobs/svc/batch")
	m := newEdgeMetrics("orders", &meshtls.Stats{})
	in := func(peer *x509.Certificate, status int, out int64) {
		r := &proxy.Record{Listener: inboundListener, Method: []byte("GET"), Status: status, Duration: time.Millisecond, BytesIn: 1, BytesOut: out}
		if peer != nil {
			r.Peer = []*x509.Certificate{peer}
		}
		m.observe(r)
	}
	in(web, 200, 10)
	in(batch, 503, 20)
	in(web, 200, 10)
	in(webAgain, 404, 30)
	in(nil, 200, 40)
	in(batch, 200, 20)
	svc := &proxy.Service{Name: "catalog"}
	m.observe(&proxy.Record{Listener: "out-catalog", Service: svc, Method: []byte("GET"), Status: 200, Duration: time.Millisecond, BytesOut: 5})
	m.observe(&proxy.Record{Listener: "out-catalog", Service: svc, Method: []byte("GET"), Status: 0, Duration: time.Millisecond})

	for _, c := range []struct {
		metric, labels string
		want           map[string]float64
	}{
		{"pylon_mesh_requests_total", "class, destination, direction, source", map[string]float64{
			"2xx,orders,inbound,web":        2,
			"4xx,orders,inbound,web":        1,
			"5xx,orders,inbound,jobs/batch": 1,
			"2xx,orders,inbound,jobs/batch": 1,
			"2xx,orders,inbound,plaintext":  1,
			"2xx,catalog,outbound,orders":   1,
			"none,catalog,outbound,orders":  1,
		}},
		{"pylon_mesh_request_duration_seconds", "destination, direction, source (sample counts)", map[string]float64{
			"orders,inbound,web":        3,
			"orders,inbound,jobs/batch": 2,
			"orders,inbound,plaintext":  1,
			"catalog,outbound,orders":   2,
		}},
		{"pylon_mesh_request_bytes_total", "destination, direction, flow, source", map[string]float64{
			"orders,inbound,in,web": 3, "orders,inbound,out,web": 50,
			"orders,inbound,in,jobs/batch": 2, "orders,inbound,out,jobs/batch": 40,
			"orders,inbound,in,plaintext": 1, "orders,inbound,out,plaintext": 40,
			"catalog,outbound,in,orders": 0, "catalog,outbound,out,orders": 5,
		}},
	} {
		if diff := cmp.Diff(c.want, series(t, m, c.metric)); diff != "" {
			t.Errorf("%s by %s (-want +got):\n%s", c.metric, c.labels, diff)
		}
	}
}

// BenchmarkEdgeObserveInbound files one inbound request from a mesh
// caller, as the called sidecar does for every request.
func BenchmarkEdgeObserveInbound(b *testing.B) {
	m := newEdgeMetrics("echo", &meshtls.Stats{})
	r := &proxy.Record{Listener: inboundListener, Peer: []*x509.Certificate{leafFor(b, testpki.NewCA(b), "spiffe://example.org/ns/default/svc/client")},
		Method: []byte("GET"), Status: 200, Duration: 300 * time.Microsecond, BytesOut: 64}
	b.ReportAllocs()
	for b.Loop() {
		m.observe(r)
	}
}
