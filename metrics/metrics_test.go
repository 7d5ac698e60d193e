package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/proxy"
)

// sample is one gathered series: its labels and its value (a counter's
// value, or a histogram's sample count and sum).
type sample struct {
	Labels map[string]string
	Value  float64
	Count  uint64
	Sum    float64
}

// gather scrapes the registry the way Prometheus would and returns the
// series of one metric. (prometheus/testutil needs a module go.sum lacks.)
func gather(t *testing.T, r *Registry, name string) []sample {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var out []sample
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := sample{Labels: make(map[string]string)}
			for _, lp := range m.GetLabel() {
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			s.Value = m.GetCounter().GetValue()
			s.Count = m.GetHistogram().GetSampleCount()
			s.Sum = m.GetHistogram().GetSampleSum()
			out = append(out, s)
		}
	}
	return out
}

// classCounts reads the non-zero pylon_http_requests_total series of one
// route by class.
func classCounts(t *testing.T, r *Registry, listener, route, service string) map[string]float64 {
	t.Helper()
	m := make(map[string]float64)
	for _, s := range gather(t, r, "pylon_http_requests_total") {
		l := s.Labels
		if l["listener"] == listener && l["route"] == route && l["service"] == service && s.Value != 0 {
			m[l["class"]] = s.Value
		}
	}
	return m
}

// latency reads the sample count and sum of one route's latency histogram.
func latency(t *testing.T, r *Registry, listener, route, service string) (uint64, float64) {
	t.Helper()
	for _, s := range gather(t, r, "pylon_http_request_duration_seconds") {
		l := s.Labels
		if l["listener"] == listener && l["route"] == route && l["service"] == service {
			return s.Count, s.Sum
		}
	}
	return 0, 0
}

// counters reads a counter's series as label value -> value, keyed by the
// values of labels joined with ",".
func counters(t *testing.T, r *Registry, name string, labels ...string) map[string]float64 {
	t.Helper()
	m := make(map[string]float64)
	for _, s := range gather(t, r, name) {
		var key []string
		for _, l := range labels {
			key = append(key, s.Labels[l])
		}
		m[strings.Join(key, ",")] = s.Value
	}
	return m
}

func TestObserveStatusClass(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{0, "none"},
		{99, "none"},
		{100, "1xx"},
		{200, "2xx"},
		{204, "2xx"},
		{302, "3xx"},
		{404, "4xx"},
		{499, "4xx"},
		{500, "5xx"},
		{599, "5xx"},
		{600, "none"},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			r := New()
			stats := r.RouteStats("public", "api", "users")
			r.Observe(&proxy.Record{Status: tc.status, Duration: 250 * time.Millisecond, Stats: stats})
			if diff := cmp.Diff(map[string]float64{tc.want: 1}, classCounts(t, r, "public", "api", "users")); diff != "" {
				t.Errorf("requests by class mismatch (-want +got):\n%s", diff)
			}
			count, sum := latency(t, r, "public", "api", "users")
			if count != 1 || sum != 0.25 {
				t.Errorf("latency histogram: got count %d sum %v, want count 1 sum 0.25", count, sum)
			}
		})
	}
}

func TestObserveKeepsRoutesApart(t *testing.T) {
	r := New()
	a := r.RouteStats("public", "a", "svc")
	b := r.RouteStats("public", "b", "svc")
	refused := r.RouteStats("public", "", "")
	for range 3 {
		r.Observe(&proxy.Record{Status: 200, Duration: time.Millisecond, Stats: a})
	}
	r.Observe(&proxy.Record{Status: 503, Duration: 2 * time.Millisecond, Stats: b})
	r.Observe(&proxy.Record{Status: 404, Stats: refused, Err: flow.New(404, flow.CodeNoRoute, "no route")})
	// A record without stats (none resolved) must not panic or count.
	r.Observe(&proxy.Record{Status: 200})

	got := map[string]map[string]float64{
		"a":       classCounts(t, r, "public", "a", "svc"),
		"b":       classCounts(t, r, "public", "b", "svc"),
		"refused": classCounts(t, r, "public", "", ""),
	}
	want := map[string]map[string]float64{
		"a":       {"2xx": 3},
		"b":       {"5xx": 1},
		"refused": {"4xx": 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	if count, _ := latency(t, r, "public", "a", "svc"); count != 3 {
		t.Errorf("route a latency count = %d, want 3", count)
	}
}

func TestObserveRetriesAndErrors(t *testing.T) {
	r := New()
	route := &proxy.Route{Name: "api"}
	svc := &proxy.Service{Name: "users"}
	recs := []*proxy.Record{
		{Status: 200, Retries: 2, Route: route, Service: svc},
		{Status: 502, Retries: 1, Route: route, Service: svc, Err: flow.New(502, flow.CodeUpstreamReset, "reset")},
		{Status: 200, Retries: 0, Route: route, Service: svc},
		// Refused before routing: an error, but no route to count retries on.
		{Status: 404, Retries: 3, Err: flow.New(404, flow.CodeNoRoute, "no route")},
		{Status: 404, Err: flow.New(404, flow.CodeNoRoute, "no route")},
	}
	for _, rec := range recs {
		r.Observe(rec)
	}
	wantRetries := map[string]float64{"api,users": 3}
	if diff := cmp.Diff(wantRetries, counters(t, r, "pylon_http_retries_total", "route", "service")); diff != "" {
		t.Errorf("pylon_http_retries_total mismatch (-want +got):\n%s", diff)
	}
	wantErrors := map[string]float64{"no_route": 2, "upstream_reset": 1}
	if diff := cmp.Diff(wantErrors, counters(t, r, "pylon_http_errors_total", "code")); diff != "" {
		t.Errorf("pylon_http_errors_total mismatch (-want +got):\n%s", diff)
	}
}

func TestReloaded(t *testing.T) {
	r := New()
	r.Reloaded(true)
	r.Reloaded(true)
	r.Reloaded(false)
	got := counters(t, r, "pylon_config_reloads_total", "result")
	if diff := cmp.Diff(map[string]float64{"success": 2, "failure": 1}, got); diff != "" {
		t.Errorf("reloads mismatch (-want +got):\n%s", diff)
	}
}

func TestHandler(t *testing.T) {
	r := New()
	stats := r.RouteStats("public", "api", "users")
	r.Observe(&proxy.Record{Status: 200, Retries: 1, Stats: stats,
		Route: &proxy.Route{Name: "api"}, Service: &proxy.Service{Name: "users"},
		Err: flow.New(502, flow.CodeUpstreamReset, "reset")})
	r.Reloaded(true)

	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET metrics: got status %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`pylon_http_requests_total{class="2xx",listener="public",route="api",service="users"} 1`,
		`pylon_http_request_duration_seconds_count{listener="public",route="api",service="users"} 1`,
		`pylon_http_retries_total{route="api",service="users"} 1`,
		`pylon_http_errors_total{code="upstream_reset"} 1`,
		`pylon_config_reloads_total{result="success"} 1`,
		"go_goroutines",
		"process_start_time_seconds",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	b.ReportAllocs()
	r := New()
	rec := &proxy.Record{Status: 200, Duration: time.Millisecond, Stats: r.RouteStats("public", "api", "users")}
	for b.Loop() {
		r.Observe(rec)
	}
}
