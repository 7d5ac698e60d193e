package test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const adminConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: api
    match:
      path: { prefix: /api }
    service: echo
    request_headers:
      set: { authorization: Bearer very-secret }
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

func TestAdmin(t *testing.T) {
	echoAddr := startEcho(t, "e")
	g := startGateway(t, adminConfig, map[string]string{"Echo": echoAddr})
	c := newClient(t)
	var okIDs []string
	for range 3 {
		resp, _ := get(t, c, g.url("web")+"/api/x")
		okIDs = append(okIDs, resp.Header.Get("X-Request-Id"))
	}
	resp404, _ := get(t, c, g.url("web")+"/elsewhere")
	raw := rawExchange(t, g.addr("web"), "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", false)
	if raw.status != http.StatusBadRequest {
		t.Fatalf("raw bad request: got status %d (%v), want 400", raw.status, raw.err)
	}

	t.Run("live and ready", func(t *testing.T) {
		for _, p := range []string{"/live", "/ready"} {
			g.get(p) // fails unless 200
		}
	})

	t.Run("metrics", func(t *testing.T) {
		if v := g.metric("pylon_http_requests_total", `route="api"`, `service="echo"`, `class="2xx"`); v != 3 {
			t.Errorf("got pylon_http_requests_total{route=api,service=echo,class=2xx} %v, want 3", v)
		}
		if v := g.metric("pylon_http_requests_total", `class="4xx"`); v != 2 {
			t.Errorf("got pylon_http_requests_total{class=4xx} %v, want 2 (no_route, bad_request)", v)
		}
		if v := g.metric("pylon_http_errors_total", `code="no_route"`); v != 1 {
			t.Errorf("got pylon_http_errors_total{code=no_route} %v, want 1", v)
		}
		if v := g.metric("pylon_upstream_endpoint_healthy", `service="echo"`); v != 1 {
			t.Errorf("got pylon_upstream_endpoint_healthy{service=echo} %v, want 1", v)
		}
	})

	t.Run("config", func(t *testing.T) {
		var cfg struct {
			Routes []struct {
				Name           string `json:"name"`
				RequestHeaders struct {
					Set map[string]string `json:"set"`
				} `json:"request_headers"`
			} `json:"routes"`
		}
		if err := json.Unmarshal([]byte(g.get("/config")), &cfg); err != nil {
			t.Fatalf("decoding /config: %v", err)
		}
		if len(cfg.Routes) != 1 {
			t.Fatalf("got %d routes in /config, want 1", len(cfg.Routes))
		}
		got := []string{cfg.Routes[0].Name, cfg.Routes[0].RequestHeaders.Set["authorization"]}
		if diff := cmp.Diff([]string{"api", "REDACTED"}, got); diff != "" {
			t.Errorf("/config [route name, redacted authorization] (-want +got):\n%s", diff)
		}
	})

	t.Run("services", func(t *testing.T) {
		ep := g.endpoint("echo", echoAddr)
		if ep.Requests != 3 || !ep.Healthy || ep.Ejected {
			t.Errorf("got endpoint %+v, want 3 requests, healthy, not ejected", ep)
		}
	})

	t.Run("access log", func(t *testing.T) {
		want := map[string]map[string]any{}
		for _, id := range okIDs {
			want[id] = map[string]any{"route": "api", "service": "echo", "status": 200.0, "error_code": nil}
		}
		id404 := resp404.Header.Get("X-Request-Id")
		want[id404] = map[string]any{"route": nil, "service": nil, "status": 404.0, "error_code": "no_route"}
		var got map[string]map[string]any
		var refused int
		waitFor(t, 5*time.Second, "access log lines for every request", func() bool {
			got = map[string]map[string]any{}
			refused = 0
			for _, l := range g.accessLines() {
				id, _ := l["request_id"].(string)
				if l["error_code"] == "bad_request" && l["status"] == 400.0 && id != "" {
					refused++
				}
				if _, ok := want[id]; ok {
					got[id] = map[string]any{"route": emptyNil(l["route"]), "service": emptyNil(l["service"]),
						"status": l["status"], "error_code": l["error_code"]}
				}
			}
			return len(got) == len(want) && refused == 1
		})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("access log by request_id (-want +got):\n%s", diff)
		}
	})
}

// emptyNil maps "" to nil so absent and empty fields compare equal.
func emptyNil(v any) any {
	if v == "" {
		return nil
	}
	return v
}
