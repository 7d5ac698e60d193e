package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeSource is a Source whose readiness the test flips.
type fakeSource struct{ ready atomic.Bool }

func (s *fakeSource) Ready() bool { return s.ready.Load() }

func (s *fakeSource) Config() any {
	return map[string]any{"listeners": []string{"public"}, "secret": "[redacted]"}
}

func (s *fakeSource) Services() any {
	return []map[string]any{{"name": "users", "endpoints": 2}}
}

// fakeMetrics answers /metrics so the test can see it was delegated to.
var fakeMetrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "pylon_up 1\n")
})

type response struct {
	Status      int
	ContentType string
	Body        any
}

func do(t *testing.T, h http.Handler, method, path string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := response{Status: rec.Code, ContentType: rec.Header().Get("Content-Type")}
	if res.ContentType == "application/json" {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.Body); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.Bytes(), err)
		}
	} else {
		res.Body = rec.Body.String()
	}
	return res
}

func TestHandler(t *testing.T) {
	notFound := map[string]any{"error": map[string]any{
		"code": "not_found", "message": "admin endpoints: /live /ready /metrics /config /services /debug/pprof/"}}
	tests := []struct {
		name   string
		ready  bool
		method string
		path   string
		want   response
	}{
		{"live", false, "GET", "/live", response{200, "application/json", map[string]any{"status": "live"}}},
		{"ready", true, "GET", "/ready", response{200, "application/json", map[string]any{"status": "ready"}}},
		{"not ready", false, "GET", "/ready", response{503, "application/json", map[string]any{"status": "not_ready"}}},
		{"config", true, "GET", "/config", response{200, "application/json",
			map[string]any{"listeners": []any{"public"}, "secret": "[redacted]"}}},
		{"services", true, "GET", "/services", response{200, "application/json",
			map[string]any{"services": []any{map[string]any{"name": "users", "endpoints": 2.0}}}}},
		{"metrics", true, "GET", "/metrics", response{200, "text/plain", "pylon_up 1\n"}},
		{"unknown path", true, "GET", "/nope", response{404, "application/json", notFound}},
		{"root", true, "GET", "/", response{404, "application/json", notFound}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{}
			src.ready.Store(tc.ready)
			got := do(t, Handler(src, fakeMetrics), tc.method, tc.path)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s %s mismatch (-want +got):\n%s", tc.method, tc.path, diff)
			}
		})
	}
}

func TestReadyFollowsSource(t *testing.T) {
	src := &fakeSource{}
	h := Handler(src, fakeMetrics)
	var got []int
	for _, ready := range []bool{false, true, false} {
		src.ready.Store(ready)
		got = append(got, do(t, h, "GET", "/ready").Status)
	}
	if diff := cmp.Diff([]int{503, 200, 503}, got); diff != "" {
		t.Errorf("/ready statuses mismatch (-want +got):\n%s", diff)
	}
}

func TestStartClose(t *testing.T) {
	src := &fakeSource{}
	src.ready.Store(true)
	s, err := Start("127.0.0.1:0", Handler(src, fakeMetrics), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	url := "http://" + s.Addr().String() + "/ready"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: got status %d, want 200", url, resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s after Close: got status %d, want a connection error", url, resp.StatusCode)
	}
}

func TestStartBusyAddress(t *testing.T) {
	s, err := Start("127.0.0.1:0", http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	if s2, err := Start(s.Addr().String(), http.NotFoundHandler(), slog.New(slog.DiscardHandler)); err == nil {
		s2.Close()
		t.Errorf("Start on a bound address %s: got nil error, want one", s.Addr())
	}
}
