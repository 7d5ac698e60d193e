package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const forwardedConfig = `
trusted_proxies: [{{.Trusted}}]
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: hash
    match: { path: { prefix: /hash } }
    service: by-client
  - name: fwd
    service: echo
services:
  - name: echo
    endpoints: [{{.A}}]
  - name: by-client
    balancer: ring_hash
    hash_on: { client_ip: true }
    endpoints: [{{.A}}, {{.B}}, {{.C}}]
`

func startForwardedGateway(t *testing.T, trusted string) *gateway {
	t.Helper()
	return startGateway(t, forwardedConfig, map[string]string{
		"Trusted": trusted,
		"A":       startEcho(t, "a"), "B": startEcho(t, "b"), "C": startEcho(t, "c"),
	})
}

// forwardingClients are an HTTP/1.1 and an h2c (prior knowledge) client,
// each keeping one connection to the gateway.
func forwardingClients(t *testing.T) map[string]*http.Client {
	t.Helper()
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(h2c.CloseIdleConnections)
	return map[string]*http.Client{
		"http1": newClient(t),
		"h2c":   {Transport: h2c, Timeout: 10 * time.Second},
	}
}

// forwardedSeen sends a GET with the headers hdr and returns the forwarding
// headers the upstream received.
func forwardedSeen(t *testing.T, c *http.Client, url string, hdr map[string]string) map[string]string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("building GET %s: %v", url, err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, body := do(t, c, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200; body %s", url, resp.StatusCode, body)
	}
	rep := decodeEcho(t, body)
	got := map[string]string{}
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} {
		got[k] = strings.Join(rep.Headers[k], ", ")
	}
	return got
}

func TestTrustedProxies(t *testing.T) {
	g := startForwardedGateway(t, "127.0.0.1/32")
	for name, c := range forwardingClients(t) {
		t.Run(name+" forwarded headers from a trusted proxy are extended", func(t *testing.T) {
			got := forwardedSeen(t, c, g.url("web")+"/fwd", map[string]string{
				"X-Forwarded-For":   "203.0.113.7",
				"X-Forwarded-Proto": "https",
				"X-Forwarded-Host":  "api.example",
			})
			want := map[string]string{
				"X-Forwarded-For":   "203.0.113.7, 127.0.0.1",
				"X-Forwarded-Proto": "https",
				"X-Forwarded-Host":  "api.example",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("upstream forwarded headers (-want +got):\n%s", diff)
			}
		})

		t.Run(name+" a trusted proxy without forwarded headers", func(t *testing.T) {
			got := forwardedSeen(t, c, g.url("web")+"/fwd", nil)
			want := map[string]string{
				"X-Forwarded-For":   "127.0.0.1",
				"X-Forwarded-Proto": "http",
				"X-Forwarded-Host":  g.addr("web"),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("upstream forwarded headers (-want +got):\n%s", diff)
			}
		})

		t.Run(name+" client_ip hashing follows X-Forwarded-For", func(t *testing.T) {
			used := map[string]bool{}
			for i := 1; i <= 30; i++ {
				ip := fmt.Sprintf("203.0.113.%d", i)
				counts := map[string]int{}
				// The same client seen directly and through a second trusted
				// hop (the right-most untrusted address is the client).
				for _, xff := range []string{ip, ip, ip + ", 127.0.0.1"} {
					counts[hashedInstance(t, c, g.url("web")+"/hash", xff)]++
				}
				if len(counts) != 1 {
					t.Errorf("client %s went to %d instances, want 1: %v", ip, len(counts), counts)
				}
				for inst := range counts {
					used[inst] = true
				}
			}
			if len(used) < 2 {
				t.Errorf("30 client addresses from one socket went to %d instance(s) (%v), want more than 1", len(used), used)
			}
		})
	}
}

func TestUntrustedPeer(t *testing.T) {
	g := startForwardedGateway(t, "10.0.0.0/8")
	for name, c := range forwardingClients(t) {
		t.Run(name+" forwarded headers from a peer outside trusted_proxies are replaced", func(t *testing.T) {
			got := forwardedSeen(t, c, g.url("web")+"/fwd", map[string]string{
				"X-Forwarded-For":   "203.0.113.7",
				"X-Forwarded-Proto": "https",
				"X-Forwarded-Host":  "api.example",
			})
			want := map[string]string{
				"X-Forwarded-For":   "127.0.0.1",
				"X-Forwarded-Proto": "http",
				"X-Forwarded-Host":  g.addr("web"),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("upstream forwarded headers (-want +got):\n%s", diff)
			}
		})

		t.Run(name+" client_ip hashing ignores an untrusted X-Forwarded-For", func(t *testing.T) {
			counts := map[string]int{}
			for i := 1; i <= 30; i++ {
				counts[hashedInstance(t, c, g.url("web")+"/hash", fmt.Sprintf("203.0.113.%d", i))]++
			}
			if len(counts) != 1 {
				t.Errorf("30 X-Forwarded-For values from one untrusted peer went to %d instances, want 1: %v", len(counts), counts)
			}
		})
	}
}

// hashedInstance sends a GET with X-Forwarded-For xff and returns the echo
// instance that answered.
func hashedInstance(t *testing.T, c *http.Client, url, xff string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("building GET %s: %v", url, err)
	}
	req.Header.Set("X-Forwarded-For", xff)
	resp, body := do(t, c, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200; body %s", url, resp.StatusCode, body)
	}
	return decodeEcho(t, body).Instance
}
