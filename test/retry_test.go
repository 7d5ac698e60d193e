package test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

const retryConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: post-retried
    match:
      path: { prefix: /nonidem }
    service: flaky
    retries: { attempts: 2, non_idempotent: true, backoff: { base: 1ms, max: 2ms } }
  - name: default
    service: flaky
    retries: { attempts: 2, backoff: { base: 1ms, max: 2ms } }
services:
  - name: flaky
    endpoints: [{{.Flaky}}]
    health:
      outlier: { disabled: true }
    # The budget's floor (3 retries a second) would stop the third case's
    # retries: this test is about which requests are retried, not the budget.
    retry_budget: { percent: 100, min_per_second: 100 }
`

func TestRetries(t *testing.T) {
	var hits atomic.Int64
	flaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	g := startGateway(t, retryConfig, map[string]string{"Flaky": startHandler(t, flaky)})
	c := newClient(t)

	tests := []struct {
		method string
		path   string
		body   string
		want   int64
	}{
		{http.MethodGet, "/get", "", 3},
		{http.MethodPost, "/post", "b", 1},
		// docs/configuration.md: non_idempotent "also retry[s] POST"; a
		// POST nearly always has a body, and a 1-byte body that arrived
		// with the head can be replayed.
		{http.MethodPost, "/nonidem/post", "b", 3},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			hits.Store(0)
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, g.url("web")+tc.path, strings.NewReader(tc.body))
			resp, body := do(t, c, req)
			if resp.StatusCode < 500 {
				t.Errorf("got status %d, want a 5xx; body %s", resp.StatusCode, body)
			}
			if got := hits.Load(); got != tc.want {
				t.Errorf("upstream got %d tries, want %d", got, tc.want)
			}
		})
	}
	if v := g.metric("pylon_http_retries_total", `route="default"`); v != 2 {
		t.Errorf("got pylon_http_retries_total{route=default} %v, want 2", v)
	}
}

// TestRetryAfterEarlyHints sends 103 Early Hints and then a retryable 503
// on the first try. The 103 is relayed to the client, and the retry must
// send the same request again, not bytes of the 103 pylon wrote meanwhile.
func TestRetryAfterEarlyHints(t *testing.T) {
	var tries atomic.Int64
	var secondPath atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			w.Header().Set("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		secondPath.Store(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Kept"))
		w.Write([]byte("ok"))
	})
	g := startGateway(t, retryConfig, map[string]string{"Flaky": startHandler(t, h)})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.url("web")+"/page?x=1", nil)
	req.Header.Set("X-Kept", "yes")
	resp, body := do(t, newClient(t), req)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("got %d %q, want 200 \"ok\" after one retry", resp.StatusCode, body)
	}
	if got, want := secondPath.Load(), "GET /page?x=1 yes"; got != want {
		t.Errorf("the retry reached the upstream as %q, want %q", got, want)
	}
}

// TestConnectFailuresAreRetriedBeyondTheBudget: with a budget that allows
// no retry at all, a request that found an endpoint refusing connections is
// still tried on another: nothing reached the dead one, and an instance
// that just went away refuses every request sent its way.
func TestConnectFailuresAreRetriedBeyondTheBudget(t *testing.T) {
	cfg := `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: pair
    retries: { attempts: 2, backoff: { base: 1ms, max: 2ms } }
services:
  - name: pair
    endpoints: [{{.Dead}}, {{.Live}}]
    balancer: round_robin
    health:
      outlier: { disabled: true }
    retry_budget: { percent: 0, min_per_second: 0 }
`
	live := startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	g := startGateway(t, cfg, map[string]string{"Dead": freeAddr(t), "Live": live})
	c := newClient(t)
	for i := range 20 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.url("web")+"/x", nil)
		if resp, body := do(t, c, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: got %d %s, want 200 from the live endpoint after the dead one refused", i, resp.StatusCode, body)
		}
	}
	if v := g.metric("pylon_http_retries_total", `route="all"`); v < 5 {
		t.Errorf("got pylon_http_retries_total{route=all} %v, want about 10 (every other request tried the dead endpoint first)", v)
	}
}
