package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/internal/evloop"
	"github.com/pylon-mesh/pylon/internal/testpki"
	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/ratelimit"
	"github.com/pylon-mesh/pylon/router"
)

// loopEnv is a server with one plain listener routing to an upstream that
// answers with the method and the length of the body it read, and counts
// the connections pylon opened to it.
type loopEnv struct {
	srv      *Server
	addr     string
	upConns  atomic.Int64
	upstream *httptest.Server
}

// newLoopEnv starts the server; edit, when set, adjusts its listener.
func newLoopEnv(t *testing.T, edit func(*ListenerConfig)) *loopEnv {
	e := &loopEnv{}
	e.upstream = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %d", r.Method, n)
	}))
	e.upstream.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			e.upConns.Add(1)
		}
	}
	e.upstream.Start()
	t.Cleanup(e.upstream.Close)
	lc := testListener(t, "web", testService(t, e.upstream.Listener.Addr().String()))
	if edit != nil {
		edit(lc)
	}
	e.srv, e.addr = startLoopServer(t, lc)
	return e
}

// startLoopServer serves lc on a loopback port until the test ends.
func startLoopServer(t *testing.T, lc *ListenerConfig) (*Server, string) {
	srv := NewServer(slog.New(slog.DiscardHandler))
	srv.Store(&Snapshot{Listeners: map[string]*ListenerConfig{lc.Name: lc}})
	addr := serveOn(t, srv, lc.Name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, addr
}

// where reports how the server serves its one open HTTP/1.1 connection:
// "loop", "goroutine", or "none".
func (e *loopEnv) where() string {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	for nc, c := range e.srv.conns {
		if c == nil {
			continue
		}
		if tc, ok := nc.(*tls.Conn); ok {
			nc = tc.NetConn()
		}
		if pc, ok := nc.(*prefixConn); ok {
			nc = pc.Conn
		}
		if lc, ok := nc.(*loopConn); ok {
			if _, ok := lc.conn().(*evloop.Conn); ok {
				return "loop"
			}
		}
		return "goroutine"
	}
	return "none"
}

// expectMoveOnChunkedUpload checks that c is served on the loop, that a
// chunked upload moves it to a goroutine, and that the upload is answered.
func (e *loopEnv) expectMoveOnChunkedUpload(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if w := e.where(); w != "loop" {
		t.Fatalf("before the upload the connection is served on %s, want loop", w)
	}
	chunked := "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	if status, body := exchange(t, c, br, chunked); status != 200 || body != "POST 11" {
		t.Fatalf("chunked POST: %d %q", status, body)
	}
	if w := e.where(); w != "goroutine" {
		t.Fatalf("after a chunked upload the connection is served on %s, want goroutine", w)
	}
}

// exchange sends a raw request and reads the response's status line and
// body.
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, raw string) (int, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// A plain HTTP/1.1 connection is served on an event loop until a request
// comes that the loop cannot serve whole (a chunked upload, streamed while
// the response is read); the connection then moves to a goroutine, which
// serves that request and the ones after it.
func TestLoopMovesAConnectionItCannotServe(t *testing.T) {
	e := newLoopEnv(t, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		if status, body := exchange(t, c, br, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); status != 200 || body != "GET 0" {
			t.Fatalf("GET %d: %d %q", i, status, body)
		}
	}
	// A body that came with the head stays on the loop.
	if status, body := exchange(t, c, br, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"); status != 200 || body != "POST 5" {
		t.Fatalf("POST with a small body: %d %q", status, body)
	}
	if n := e.upConns.Load(); n != 1 {
		t.Fatalf("pylon opened %d upstream connections for 4 sequential requests, want 1 (reused)", n)
	}
	e.expectMoveOnChunkedUpload(t, c, br)
	// Pipelined requests after the move, read in one go.
	pipelined := "GET /b HTTP/1.1\r\nHost: x\r\n\r\nDELETE /c HTTP/1.1\r\nHost: x\r\n\r\n"
	if status, body := exchange(t, c, br, pipelined); status != 200 || body != "GET 0" {
		t.Fatalf("first pipelined request: %d %q", status, body)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "DELETE 0" {
		t.Fatalf("second pipelined request: %d %q", resp.StatusCode, body)
	}
}

// A request read on the loop together with the next, pipelined one, which
// the loop cannot serve: both are answered, in order.
func TestLoopMovesWithAPipelinedRequestBuffered(t *testing.T) {
	e := newLoopEnv(t, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	raw := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"PUT /b HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"
	if status, body := exchange(t, c, br, raw); status != 200 || body != "GET 0" {
		t.Fatalf("first: %d %q", status, body)
	}
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 100 {
			continue
		}
		if resp.StatusCode != 200 || string(body) != "PUT 3" {
			t.Fatalf("second: %d %q", resp.StatusCode, body)
		}
		break
	}
}

func TestEventLoopsOff(t *testing.T) {
	t.Setenv(eventLoopsOff, "off")
	e := newLoopEnv(t, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if status, body := exchange(t, c, br, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); status != 200 || body != "GET 0" {
		t.Fatalf("GET: %d %q", status, body)
	}
	if w := e.where(); w != "goroutine" {
		t.Fatalf("with %s=off the connection is served on %s", eventLoopsOff, w)
	}
}

// Shutdown closes a keep-alive connection waiting on a loop for its next
// request at once, rather than after the idle timeout.
func TestShutdownClosesIdleLoopConnections(t *testing.T) {
	e := newLoopEnv(t, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if status, _ := exchange(t, c, br, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); status != 200 {
		t.Fatalf("GET: %d", status)
	}
	if w := e.where(); w != "loop" {
		t.Fatalf("served on %s, want loop", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Shutdown took %v with one idle connection", el)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF && !strings.Contains(fmt.Sprint(err), "reset") {
		t.Fatalf("the idle connection was not closed: %v", err)
	}
}

// A request refused before routing leaves no route behind for the next
// request on the connection, which may be one the loop moves to a
// goroutine after matching nothing itself.
func TestNoRouteCarriesOverToTheNextRequest(t *testing.T) {
	named := func(name string) *Service {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, name)
		}))
		t.Cleanup(up.Close)
		return testService(t, up.Listener.Addr().String())
	}
	lc := testListener(t, "web", named("a"))
	table, err := router.Compile([]router.Spec{{PathKind: router.PathPrefix, Path: "/a"}, {PathKind: router.PathPrefix, Path: "/b"}})
	if err != nil {
		t.Fatal(err)
	}
	lc.Table = table
	lc.Routes = append(lc.Routes, &Route{Name: "b", Backends: []Backend{{Service: named("b")}}})
	_, addr := startLoopServer(t, lc)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if status, _ := exchange(t, c, br, "GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n"); status != 400 {
		t.Fatalf("a path with a dot-segment: %d, want 400", status)
	}
	chunked := "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	if status, body := exchange(t, c, br, chunked); status != 200 || body != "b" {
		t.Fatalf("POST /b after a refused request: %d from %q, want 200 from b", status, body)
	}
}

// HTTPS connections run their TLS handshake on the loop; HTTP/1.1 ones are
// served there, HTTP/2 ones (ALPN h2) move to a goroutine at once.
func TestLoopServesTLS(t *testing.T) {
	ca := testpki.NewCA(t)
	e := newLoopEnv(t, func(lc *ListenerConfig) {
		lc.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "")}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	})
	c, err := tls.Dial("tcp", e.addr, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if status, body := exchange(t, c, br, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); status != 200 || body != "GET 0" {
		t.Fatalf("GET over TLS: %d %q", status, body)
	}
	e.expectMoveOnChunkedUpload(t, c, br)
	if status, body := exchange(t, c, br, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"); status != 200 || body != "GET 0" {
		t.Fatalf("GET over TLS after the move: %d %q", status, body)
	}
	c.Close()

	var p http.Protocols
	p.SetHTTP2(true)
	tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Post("https://"+e.addr+"/h2", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "POST 5" {
		t.Fatalf("HTTP/2 over TLS: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
}

// A route whose policies only compute (an API key, a local rate limit) is
// served on the loop, refusals included; one whose limit is counted in
// Redis is not.
func TestLoopServesLocalPolicies(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte(`
listeners: [{name: web, address: 127.0.0.1:8080}]
routes: [{name: r, service: s}]
services: [{name: s, endpoints: [127.0.0.1:9001]}]
consumers: [{name: alice, api_keys: [0123456789abcdef0123456789abcdef]}]
policies:
  - {name: local, authentication: {api_key: {header: x-api-key}}, rate_limit: {requests: 100, per: 1s}}
  - {name: shared, rate_limit: {requests: 100, per: 1s, redis: "127.0.0.1:1"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(cfg, policy.Env{Local: ratelimit.NewLocal(0), Redis: func(string) ratelimit.Limiter { return ratelimit.NewLocal(0) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy string
		want   string
	}{{"local", "loop"}, {"shared", "goroutine"}} {
		e := newLoopEnv(t, func(lc *ListenerConfig) { lc.Routes[0].Policies = set.Chain([]string{tc.policy}) })
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if tc.policy == "local" {
			if status, _ := exchange(t, c, br, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); status != 401 {
				t.Fatalf("%s: no API key: %d, want 401", tc.policy, status)
			}
		}
		if status, body := exchange(t, c, br, "GET /a HTTP/1.1\r\nHost: x\r\nX-Api-Key: 0123456789abcdef0123456789abcdef\r\n\r\n"); status != 200 || body != "GET 0" {
			t.Fatalf("%s: with the key: %d %q", tc.policy, status, body)
		}
		if w := e.where(); w != tc.want {
			t.Fatalf("a route with policy %s is served on %s, want %s", tc.policy, w, tc.want)
		}
	}
}
