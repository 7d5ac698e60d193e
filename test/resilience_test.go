package test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
)

const failoverConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: pair
    retries: { attempts: 3 }
services:
  - name: pair
    endpoints: [{{.A}}, {{.B}}]
    # The default retry budget and circuit breaker: a dead endpoint must be
    # hidden by retries and ejection without tuning them.
    health:
      outlier:
        consecutive_5xx: 3
        consecutive_connect_failures: 2
        interval: 100ms
`

func TestFailoverUnderLoad(t *testing.T) {
	a := httptest.NewServer(echo.Handler("a"))
	t.Cleanup(a.Close)
	b := httptest.NewServer(echo.Handler("b"))
	t.Cleanup(b.Close)
	addrA, addrB := a.Listener.Addr().String(), b.Listener.Addr().String()
	g := startGateway(t, failoverConfig, map[string]string{"A": addrA, "B": addrB})

	const workers = 8
	var total, failed atomic.Int64
	errs := make(chan string, workers)
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t)
			for time.Now().Before(stop) {
				total.Add(1)
				resp, err := c.Get(g.url("web") + "/load")
				if err != nil {
					failed.Add(1)
					sendErr(errs, err.Error())
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					sendErr(errs, fmt.Sprintf("status %d, X-Request-Id %s", resp.StatusCode, resp.Header.Get("X-Request-Id")))
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	b.Close() // kill one endpoint mid-load
	wg.Wait()
	close(errs)
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed after one endpoint died, want none (retries and ejection should hide it)", n, total.Load())
		for e := range errs {
			t.Logf("failure: %s", e)
		}
		for _, l := range g.accessLines() {
			if l["status"] != float64(http.StatusOK) {
				t.Logf("access log: %v", l)
			}
		}
	}
	ep := g.endpoint("pair", addrB)
	if !ep.Ejected && ep.Failures == 0 && ep.Healthy {
		t.Errorf("dead endpoint in /services: %+v, want it ejected or counting failures", ep)
	}
}

func sendErr(ch chan string, s string) {
	select {
	case ch <- s:
	default:
	}
}

const activeHealthConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: checked
services:
  - name: checked
    endpoints: [{{.A}}, {{.B}}]
    health:
      active:
        interval: 100ms
        timeout: 90ms
        healthy_threshold: 1
        unhealthy_threshold: 1
        http: { path: /healthz }
`

// toggleHealth serves echo, with /healthz failing while sick is set.
func toggleHealth(instance string, sick *atomic.Bool) http.Handler {
	h := echo.Handler(instance)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && sick.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func TestActiveHealthCheck(t *testing.T) {
	var sick atomic.Bool
	addrA := startHandler(t, toggleHealth("a", &sick))
	addrB := startEcho(t, "b")
	g := startGateway(t, activeHealthConfig, map[string]string{"A": addrA, "B": addrB})
	c := newClient(t)

	waitFor(t, 10*time.Second, "a healthy", func() bool { return g.endpoint("checked", addrA).Healthy })
	sick.Store(true)
	waitFor(t, 10*time.Second, "a unhealthy after failing /healthz", func() bool { return !g.endpoint("checked", addrA).Healthy })
	for range 10 {
		_, body := get(t, c, g.url("web")+"/x")
		if got := decodeEcho(t, body).Instance; got != "b" {
			t.Fatalf("request went to %q while a is unhealthy, want b", got)
		}
	}
	sick.Store(false)
	waitFor(t, 10*time.Second, "a healthy again", func() bool { return g.endpoint("checked", addrA).Healthy })
	seen := map[string]bool{}
	waitFor(t, 10*time.Second, "traffic to a again", func() bool {
		_, body := get(t, c, g.url("web")+"/x")
		seen[decodeEcho(t, body).Instance] = true
		return seen["a"]
	})
}

const failuresConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: slow
    match:
      path: { prefix: /slow }
    service: slow
  - name: timeout
    match:
      path: { prefix: /delay }
    service: echo
    timeout: 200ms
  - name: closed
    match:
      path: { prefix: /closed }
    service: closed
services:
  - name: slow
    endpoints: [{{.Slow}}]
    circuit_breaker: { max_requests: 1 }
  - name: echo
    endpoints: [{{.Echo}}]
  - name: closed
    endpoints: [{{.Closed}}]
`

func TestUpstreamFailures(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte("slow done"))
	})
	g := startGateway(t, failuresConfig, map[string]string{
		"Slow": startHandler(t, slow), "Echo": startEcho(t, "echo"), "Closed": freeAddr(t),
	})
	c := newClient(t)

	t.Run("circuit_open", func(t *testing.T) {
		first := make(chan int, 1)
		go func() {
			resp, err := c.Get(g.url("web") + "/slow/1")
			if err != nil {
				first <- 0
				return
			}
			resp.Body.Close()
			first <- resp.StatusCode
		}()
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first request never reached the slow upstream")
		}
		resp, body := get(t, c, g.url("web")+"/slow/2")
		close(release)
		if resp.StatusCode != http.StatusServiceUnavailable || errorCode(t, body) != "circuit_open" {
			t.Errorf("second concurrent request: got %d %s, want 503 circuit_open", resp.StatusCode, body)
		}
		if got := <-first; got != http.StatusOK {
			t.Errorf("first request: got status %d, want 200", got)
		}
	})

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantCode   string
	}{
		{"route timeout", "/delay/2000", http.StatusGatewayTimeout, "upstream_timeout"},
		{"connect failure", "/closed/x", http.StatusBadGateway, "upstream_connect_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, g.url("web")+tc.path)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("got status %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if got := errorCode(t, body); got != tc.wantCode {
				t.Errorf("got code %q, want %q", got, tc.wantCode)
			}
		})
	}
}
