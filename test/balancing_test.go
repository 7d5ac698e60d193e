package test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
)

const balancingConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: rr
    match: { path: { prefix: /rr } }
    service: rr
  - name: wrr
    match: { path: { prefix: /wrr } }
    service: wrr
  - name: ring-header
    match: { path: { prefix: /ring-header } }
    service: ring-header
  - name: maglev-header
    match: { path: { prefix: /maglev-header } }
    service: maglev-header
  - name: ring-cookie
    match: { path: { prefix: /ring-cookie } }
    service: ring-cookie
  - name: maglev-cookie
    match: { path: { prefix: /maglev-cookie } }
    service: maglev-cookie
  - name: random
    match: { path: { prefix: /random } }
    service: random
  - name: least
    match: { path: { prefix: /least } }
    service: least
  - name: ewma
    match: { path: { prefix: /ewma } }
    service: ewma
services:
  - name: rr
    balancer: round_robin
    endpoints: [{{.A}}, {{.B}}, {{.C}}]
  - name: wrr
    balancer: weighted_round_robin
    endpoints:
      - { address: {{.A}}, weight: 1 }
      - { address: {{.B}}, weight: 2 }
      - { address: {{.C}}, weight: 3 }
  - name: random
    balancer: random
    endpoints:
      - { address: {{.A}}, weight: 1 }
      - { address: {{.B}}, weight: 2 }
      - { address: {{.C}}, weight: 3 }
  - name: ring-header
    balancer: ring_hash
    hash_on: { header: x-user }
    endpoints: [{{.A}}, {{.B}}, {{.C}}]
  - name: maglev-header
    balancer: maglev
    hash_on: { header: x-user }
    endpoints: [{{.A}}, {{.B}}, {{.C}}]
  - name: ring-cookie
    balancer: ring_hash
    hash_on: { cookie: sid }
    endpoints: [{{.A}}, {{.B}}, {{.C}}]
  - name: maglev-cookie
    balancer: maglev
    hash_on: { cookie: sid }
    endpoints: [{{.A}}, {{.B}}, {{.C}}]
  - name: least
    balancer: least_request
    endpoints: [{{.Fast}}, {{.Slow}}]
  - name: ewma
    balancer: peak_ewma
    endpoints: [{{.Fast}}, {{.Slow}}]
`

// slowEcho is the echo handler answering after d.
func slowEcho(instance string, d time.Duration) http.Handler {
	h := echo.Handler(instance)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	})
}

func startBalancingGateway(t *testing.T) *gateway {
	t.Helper()
	return startGateway(t, balancingConfig, map[string]string{
		"A": startEcho(t, "a"), "B": startEcho(t, "b"), "C": startEcho(t, "c"),
		"Fast": startEcho(t, "fast"), "Slow": startHandler(t, slowEcho("slow", 50*time.Millisecond)),
	})
}

// countInstances sends n GETs of url with c (edit may change each request)
// and counts the echo instance that answered each.
func countInstances(t *testing.T, c *http.Client, url string, n int, edit func(*http.Request)) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatalf("building GET %s: %v", url, err)
		}
		if edit != nil {
			edit(req)
		}
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got status %d, want 200; body %s", url, resp.StatusCode, body)
		}
		counts[decodeEcho(t, body).Instance]++
	}
	return counts
}

func TestBalancing(t *testing.T) {
	g := startBalancingGateway(t)
	c := newClient(t)

	t.Run("round_robin spreads evenly", func(t *testing.T) {
		counts := countInstances(t, c, g.url("web")+"/rr/x", 300, nil)
		for _, inst := range []string{"a", "b", "c"} {
			if n := counts[inst]; n < 80 || n > 120 {
				t.Errorf("instance %s got %d of 300 requests, want 80..120 (all: %v)", inst, n, counts)
			}
		}
	})

	for _, tt := range []struct {
		route  string
		n      int
		spread float64 // percentage points
	}{
		{"wrr", 600, 5},
		// random: the share's standard deviation is at most 2 points over
		// 600 requests; 8 is four of them.
		{"random", 600, 8},
	} {
		t.Run(tt.route+" honours weights 1:2:3", func(t *testing.T) {
			counts := countInstances(t, c, g.url("web")+"/"+tt.route+"/x", tt.n, nil)
			for inst, weight := range map[string]int{"a": 1, "b": 2, "c": 3} {
				got := 100 * float64(counts[inst]) / float64(tt.n)
				want := 100 * float64(weight) / 6
				if got < want-tt.spread || got > want+tt.spread {
					t.Errorf("instance %s (weight %d) got %.1f%% of requests, want %.1f%% ± %.0f (all: %v)", inst, weight, got, want, tt.spread, counts)
				}
			}
		})
	}

	for _, tt := range []struct {
		route string
		key   func(req *http.Request, user string)
	}{
		{"ring-header", func(req *http.Request, u string) { req.Header.Set("X-User", u) }},
		{"maglev-header", func(req *http.Request, u string) { req.Header.Set("X-User", u) }},
		{"ring-cookie", func(req *http.Request, u string) { req.Header.Set("Cookie", "theme=dark; sid="+u+"; lang=en") }},
		{"maglev-cookie", func(req *http.Request, u string) { req.Header.Set("Cookie", "sid="+u) }},
	} {
		t.Run(tt.route+" keeps a key on one instance", func(t *testing.T) {
			used := map[string]bool{}
			for i := range 20 {
				user := fmt.Sprintf("user-%d", i)
				counts := countInstances(t, c, g.url("web")+"/"+tt.route+"/x", 5, func(req *http.Request) { tt.key(req, user) })
				if len(counts) != 1 {
					t.Errorf("key %s went to %d instances, want 1: %v", user, len(counts), counts)
				}
				for inst := range counts {
					used[inst] = true
				}
			}
			if len(used) < 2 {
				t.Errorf("20 keys went to %d instance(s) (%v), want more than 1", len(used), used)
			}
		})
	}

	// docs/balancing.md: a request without the key has no affinity and goes
	// to a random endpoint.
	for _, tt := range []struct {
		route string
		edit  func(req *http.Request)
	}{
		{"ring-header", nil},
		{"maglev-header", nil},
		{"ring-cookie", func(req *http.Request) { req.Header.Set("Cookie", "theme=dark") }},
		{"maglev-cookie", nil},
	} {
		t.Run(tt.route+" spreads requests without the key", func(t *testing.T) {
			counts := countInstances(t, c, g.url("web")+"/"+tt.route+"/x", 60, tt.edit)
			if len(counts) < 2 {
				t.Errorf("60 requests without the key went to %d instance(s) (%v), want more than 1", len(counts), counts)
			}
		})
	}

	for _, route := range []string{"least", "ewma"} {
		t.Run(route+" prefers the fast instance", func(t *testing.T) {
			counts := concurrentInstances(t, c, g.url("web")+"/"+route+"/x", 200, 8)
			t.Logf("counts: %v", counts)
			if counts["fast"] < 140 {
				t.Errorf("the fast instance got %d of 200 requests, want at least 140 (all: %v)", counts["fast"], counts)
			}
		})
	}
}

// concurrentInstances sends n GETs of url from workers goroutines and counts
// the echo instance that answered each.
func concurrentInstances(t *testing.T, c *http.Client, url string, n, workers int) map[string]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		errs   []error
		wg     sync.WaitGroup
	)
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, body, err := tryGet(c, url)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case resp.StatusCode != http.StatusOK:
					errs = append(errs, fmt.Errorf("status %d: %s", resp.StatusCode, body))
				default:
					counts[decodeEchoQuiet(body)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d requests failed, first: %v", len(errs), n, errs[0])
	}
	return counts
}
