package test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
)

// TestPostAfterUpstreamClosedIdleConnection uses an upstream that closes
// idle keep-alive connections after 200 ms (Node.js closes them after 5 s
// by default). A POST, which pylon may not retry, sent after that must not
// land on the connection the upstream closed.
func TestPostAfterUpstreamClosedIdleConnection(t *testing.T) {
	up := httptest.NewUnstartedServer(echo.Handler("short-idle"))
	up.Config.IdleTimeout = 200 * time.Millisecond
	up.Start()
	t.Cleanup(up.Close)
	const cfg = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: up
services:
  - name: up
    endpoints: [{{.Up}}]
`
	g := startGateway(t, cfg, map[string]string{"Up": up.Listener.Addr().String()})
	c := newClient(t)
	for i := range 3 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url("web")+"/orders", strings.NewReader(`{"n":1}`))
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %d: got status %d, want 200; body %s", i, resp.StatusCode, body)
		}
		time.Sleep(700 * time.Millisecond) // past the upstream's idle timeout
	}
}
