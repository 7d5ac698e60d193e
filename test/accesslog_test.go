package test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flushWait bounds how long a logged line may sit in pylon's buffer.
const flushWait = time.Second

const accessLogConfig = `
access_log:
  path: {{.Dir}}/{{.Log}}
  sample: {{.Sample}}
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: api
    match: { path: { prefix: /api } }
    service: echo
  - name: h2c
    match: { path: { prefix: /h2c } }
    service: h2c
  - name: down
    match: { path: { prefix: /down } }
    service: down
    retries: { attempts: 0 }
services:
  - name: echo
    endpoints: [{{.Echo}}]
  - name: h2c
    protocol: h2c
    endpoints: [{{.H2C}}]
  - name: down
    endpoints: [{{.Closed}}]
`

func accessLogData(t *testing.T, log, sample string) map[string]string {
	t.Helper()
	return map[string]string{
		"Log": log, "Sample": sample,
		"Echo": startEcho(t, "echo"), "H2C": startH2CHandler(t, protoEcho("h2c")), "Closed": freeAddr(t),
	}
}

// fileLines decodes the JSON lines of an access log file ("missing" is
// reported as no lines).
func fileLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var out []map[string]any
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("access log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// waitLine waits until the access log file holds a line with request_id id
// and returns it.
func waitLine(t *testing.T, path, id string) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, flushWait, "access log line "+id+" in "+filepath.Base(path), func() bool {
		for _, l := range fileLines(t, path) {
			if l["request_id"] == id {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// getWithID sends a GET with X-Request-Id id and returns the status.
func getWithID(t *testing.T, c *http.Client, url, id string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("building GET %s: %v", url, err)
	}
	req.Header.Set("X-Request-Id", id)
	resp, _ := do(t, c, req)
	return resp.StatusCode
}

// logFields picks the fields the tests compare from a log line.
func logFields(l map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"request_id", "route", "service", "status", "method", "path", "error_code"} {
		if v, ok := l[k]; ok {
			out[k] = v
		}
	}
	return out
}

func TestAccessLogFile(t *testing.T) {
	g := startGateway(t, accessLogConfig, accessLogData(t, "access.log", "1"))
	c := newClient(t)
	path := filepath.Join(g.dir, "access.log")

	if got := getWithID(t, c, g.url("web")+"/api/one", "file-ok"); got != http.StatusOK {
		t.Fatalf("GET /api/one: got status %d, want 200", got)
	}
	if got := getWithID(t, c, g.url("web")+"/nowhere", "file-404"); got != http.StatusNotFound {
		t.Fatalf("GET /nowhere: got status %d, want 404", got)
	}
	got := []map[string]any{logFields(waitLine(t, path, "file-ok")), logFields(waitLine(t, path, "file-404"))}
	want := []map[string]any{
		{"request_id": "file-ok", "route": "api", "service": "echo", "status": 200.0, "method": "GET", "path": "/api/one"},
		{"request_id": "file-404", "status": 404.0, "method": "GET", "path": "/nowhere", "error_code": "no_route"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access log lines (-want +got):\n%s", diff)
	}
	if lines := g.accessLines(); len(lines) != 0 {
		t.Errorf("stdout got %d access log lines, want none with a file path: %v", len(lines), lines)
	}
}

func TestAccessLogSampleZero(t *testing.T) {
	g := startGateway(t, accessLogConfig, accessLogData(t, "access.log", "0"))
	c := newClient(t)
	path := filepath.Join(g.dir, "access.log")

	for range 20 {
		if got := getWithID(t, c, g.url("web")+"/api/x", "sampled-out"); got != http.StatusOK {
			t.Fatalf("GET /api/x: got status %d, want 200", got)
		}
	}
	if got := getWithID(t, c, g.url("web")+"/nowhere", "zero-404"); got != http.StatusNotFound {
		t.Fatalf("GET /nowhere: got status %d, want 404", got)
	}
	if got := getWithID(t, c, g.url("web")+"/down/x", "zero-502"); got != http.StatusBadGateway {
		t.Fatalf("GET /down/x: got status %d, want 502", got)
	}
	waitLine(t, path, "zero-502")
	// Lines are written in the order requests end, so every success is in
	// the file by now if it was logged at all.
	var got []map[string]any
	for _, l := range fileLines(t, path) {
		got = append(got, map[string]any{"request_id": l["request_id"], "status": l["status"], "error_code": l["error_code"]})
	}
	want := []map[string]any{
		{"request_id": "zero-404", "status": 404.0, "error_code": "no_route"},
		{"request_id": "zero-502", "status": 502.0, "error_code": "upstream_connect_failed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access log lines with sample 0 (-want +got):\n%s", diff)
	}
}

func TestAccessLogReloadSwitchesFile(t *testing.T) {
	data := accessLogData(t, "first.log", "1")
	g := startGateway(t, accessLogConfig, data)
	c := newClient(t)
	first, second := filepath.Join(g.dir, "first.log"), filepath.Join(g.dir, "second.log")

	if got := getWithID(t, c, g.url("web")+"/api/a", "before-reload"); got != http.StatusOK {
		t.Fatalf("GET /api/a: got status %d, want 200", got)
	}
	waitLine(t, first, "before-reload")

	data["Log"] = "second.log"
	g.reload(accessLogConfig, data, "success")
	if got := getWithID(t, c, g.url("web")+"/api/b", "after-reload"); got != http.StatusOK {
		t.Fatalf("GET /api/b: got status %d, want 200", got)
	}
	waitLine(t, second, "after-reload")

	ids := func(path string) []any {
		var out []any
		for _, l := range fileLines(t, path) {
			out = append(out, l["request_id"])
		}
		return out
	}
	got := map[string][]any{"first.log": ids(first), "second.log": ids(second)}
	want := map[string][]any{"first.log": {"before-reload"}, "second.log": {"after-reload"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request ids per log file (-want +got):\n%s", diff)
	}
}

// TestAccessLogBytesIn checks bytes_in for request bodies on every path
// through the proxy: HTTP/1.1 and HTTP/2 clients, HTTP/1.1 and h2c upstreams.
func TestAccessLogBytesIn(t *testing.T) {
	g := startGateway(t, accessLogConfig, accessLogData(t, "access.log", "1"))
	path := filepath.Join(g.dir, "access.log")
	clients := forwardingClients(t)
	const body = "fourteen bytes"

	tests := []struct {
		client, path, id string
	}{
		{"http1", "/api/in", "in-h1-h1"},
		{"http1", "/h2c/in", "in-h1-h2c"},
		{"h2c", "/api/in", "in-h2-h1"},
		{"h2c", "/h2c/in", "in-h2-h2c"},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url("web")+tt.path, strings.NewReader(body))
		if err != nil {
			t.Fatalf("building POST %s: %v", tt.path, err)
		}
		req.Header.Set("X-Request-Id", tt.id)
		resp, b := do(t, clients[tt.client], req)
		if resp.StatusCode != http.StatusOK || decodeEcho(t, b).Body != body {
			t.Fatalf("%s POST %s: got status %d body %s, want 200 and the body echoed", tt.client, tt.path, resp.StatusCode, b)
		}
	}
	got := map[string]any{}
	want := map[string]any{}
	for _, tt := range tests {
		got[tt.id] = waitLine(t, path, tt.id)["bytes_in"]
		want[tt.id] = float64(len(body))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bytes_in of a %d-byte POST by request id (-want +got):\n%s", len(body), diff)
	}
}
