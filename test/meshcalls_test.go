package test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// TestMeshServiceCalls: a service's calls block, applied to the control
// plane, bounds its callers' HTTP requests (504 upstream_timeout when the
// app is slower; a later apply lifts it) and closes TCP streams to it that
// sit idle.
func TestMeshServiceCalls(t *testing.T) {
	cp := startControl(t, "")
	cp.applyYAML(`services:
  - name: catalog
    calls: { timeout: 300ms }
  - name: redis
    calls: { tcp_idle_timeout: 1s }
`)
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	startSidecar(t, cp, cp.joinToken("redis"), "redis", redistest.Start(t), []string{"--protocol", "tcp"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog", "redis")
	get := func(path string) (int, string, time.Duration) {
		began := time.Now()
		resp, err := http.Get(orders.url("catalog") + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), time.Since(began)
	}
	waitFor(t, 10*time.Second, "catalog to be reachable through the mesh", func() bool {
		code, _, _ := get("/delay/10")
		return code == http.StatusOK
	})

	code, body, took := get("/delay/2000")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal([]byte(body), &e)
	if code != http.StatusGatewayTimeout || e.Error.Code != "upstream_timeout" || took > 1500*time.Millisecond {
		t.Errorf("a call slower than calls.timeout (300ms): got %d %q after %v, want 504 upstream_timeout well before the app's 2s", code, body, took)
	}

	cp.applyYAML(`services:
  - name: catalog
    calls: { timeout: 5s }
`)
	waitFor(t, 10*time.Second, "the longer timeout to reach the caller's sidecar", func() bool {
		code, _, _ := get("/delay/700")
		return code == http.StatusOK
	})

	// TCP: a Redis connection that stays quiet longer than 1s is closed.
	c, err := net.Dial("tcp", orders.outbound["redis"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "+PONG" {
		t.Fatalf("PING through the mesh: %q, %v", line, err)
	}
	quiet := time.Now()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = r.ReadByte()
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("an idle TCP stream: read got %v after %v, want the stream closed (EOF) after calls.tcp_idle_timeout (1s)", err, time.Since(quiet))
	}
	if idle := time.Since(quiet); idle < 900*time.Millisecond || idle > 5*time.Second {
		t.Errorf("the idle TCP stream was closed after %v, want about 1s", idle)
	}
}
