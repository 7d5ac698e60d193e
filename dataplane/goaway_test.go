package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestUpstreamTurningAwayEveryConnection: an HTTP/2 upstream that answers
// every new connection with GOAWAY before any stream (a server draining,
// or at its connection limit, or broken) gets a bounded number of
// connections from one request, which fails with 502, not one connection
// after another until the route's timeout. net/http's transport, which
// the gateway uses for HTTP/2 upstreams, redials at once for as long as
// its fresh connection is unusable: before the bound, 5,715 connections in
// the 2 s of one request.
func TestUpstreamTurningAwayEveryConnection(t *testing.T) {
	up := newHostileH2Upstream(t)
	up.set(h2Frames(func(fr *http2.Framer, _ func(...string) []byte) { fr.WriteGoAway(0, http2.ErrCodeNo, nil) }))
	gw := startBenchGatewayWith(t, up.ln.Addr().String(), ", timeout: 2s, retries: { attempts: 2 }", ", protocol: h2c", "")

	c, err := net.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /f HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	// Three tries (two retries), each with a few dials at the most.
	if n := up.conns.Load(); resp.StatusCode != http.StatusBadGateway || n > 3*maxDialsPerTry {
		t.Errorf("got %d %s after %d upstream connections; want 502 after at most %d", resp.StatusCode, strings.TrimSpace(string(body)), n, 3*maxDialsPerTry)
	}
}
