package test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const limitsConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
    limits:
      max_connections: 2
      idle_timeout: 1s
routes:
  - name: all
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

// keepAliveConn opens a connection and completes one keep-alive request.
func keepAliveConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /k HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	return conn, br
}

func TestListenerLimits(t *testing.T) {
	g := startGateway(t, limitsConfig, map[string]string{"Echo": startEcho(t, "e")})

	t.Run("max_connections", func(t *testing.T) {
		keepAliveConn(t, g.addr("web"))
		keepAliveConn(t, g.addr("web"))
		third, err := net.DialTimeout("tcp", g.addr("web"), 5*time.Second)
		if err != nil {
			t.Fatalf("dialing: %v", err)
		}
		defer third.Close()
		third.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(third, "GET /k HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(third), nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Errorf("third connection over max_connections 2 was served, want it refused")
		}
		if v := g.metric("pylon_downstream_connections_rejected_total"); v < 1 {
			t.Errorf("got pylon_downstream_connections_rejected_total %v, want at least 1", v)
		}
	})

	t.Run("idle_timeout", func(t *testing.T) {
		// The connections of the subtest above are closed by pylon after
		// their 1s idle timeout; open a fresh one once there is room.
		var conn net.Conn
		var br *bufio.Reader
		waitFor(t, 10*time.Second, "room for a connection", func() bool {
			c, err := net.DialTimeout("tcp", g.addr("web"), 5*time.Second)
			if err != nil {
				return false
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /k HTTP/1.1\r\nHost: a\r\n\r\n")
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				c.Close()
				return false
			}
			io.Copy(io.Discard, resp.Body)
			conn, br = c, r
			return true
		})
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(8 * time.Second))
		_, err := br.ReadByte()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("idle keep-alive connection still open after 8s, want it closed by idle_timeout 1s")
		}
	})
}

// startEchoGateway starts a gateway with one listener, its limits set as
// given (YAML flow mapping entries), routing everything to an echo server.
func startEchoGateway(t *testing.T, limits string) *gateway {
	t.Helper()
	return startGateway(t, echoGatewayConfig(limits), map[string]string{"Echo": startEcho(t, "e1")})
}

// echoGatewayConfig is the config of startEchoGateway: one listener with
// the given limits, everything routed to the echo server at {{.Echo}}.
func echoGatewayConfig(limits string) string {
	return `
listeners:
  - name: web
    address: {{listen "web"}}
    limits: { ` + limits + ` }
routes:
  - name: all
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`
}

// dialH2C opens a cleartext HTTP/2 connection with prior knowledge to
// addr, good for timeout, and sends the preface and an empty SETTINGS
// frame. The framer it returns decodes header blocks into
// MetaHeadersFrames; the connection is closed when the test ends.
func dialH2C(t *testing.T, addr string, timeout time.Duration) *http2.Framer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(timeout))
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return fr
}

// TestLargeHeaderLimitIsHonoured raises max_header_bytes above the default
// buffer size and sends a head that only fits the raised limit.
func TestLargeHeaderLimitIsHonoured(t *testing.T) {
	g := startEchoGateway(t, "max_header_bytes: 256KiB, max_uri_bytes: 8KiB")
	c := newClient(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.url("web")+"/big", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 100<<10))
	resp, body := do(t, c, req)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a 100 KiB header under a 256 KiB limit: got status %d, want 200; body %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, g.url("web")+"/big", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 300<<10))
	resp, body = do(t, c, req)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 300 KiB header over a 256 KiB limit: got status %d, want 431; body %s", resp.StatusCode, body)
	}
}

// TestHTTP2HeadLimits applies the listener's URI, header count and head size
// limits to HTTP/2 requests as to HTTP/1.1 ones.
func TestHTTP2HeadLimits(t *testing.T) {
	g := startEchoGateway(t, "max_uri_bytes: 1KiB, max_headers: 20, max_header_bytes: 8KiB")
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	for _, tc := range []struct {
		name   string
		path   string
		header int // extra header fields
		size   int // bytes of one extra header value
		status int
		code   string
	}{
		{"within limits", "/ok", 5, 100, 200, ""},
		{"long target", "/" + strings.Repeat("u", 2000), 0, 0, 414, "uri_too_long"},
		{"many headers", "/many", 30, 10, 431, "headers_too_large"},
		{"large head", "/large", 1, 9000, 431, "headers_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.url("web")+tc.path, nil)
			for i := range tc.header {
				req.Header.Set(fmt.Sprintf("X-Extra-%d", i), strings.Repeat("v", tc.size))
			}
			resp, body := do(t, c, req)
			if resp.ProtoMajor != 2 {
				t.Fatalf("got %s, want HTTP/2", resp.Proto)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("got status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" && errorCode(t, body) != tc.code {
				t.Errorf("got code %q, want %q", errorCode(t, body), tc.code)
			}
		})
	}
}

// TestHTTP2BodyOverLimit streams a body of unannounced length over
// max_body_bytes from an HTTP/2 client: the client gets 413 body_too_large,
// whether pylon notices before or while forwarding, to HTTP/1.1 and h2c
// upstreams alike.
func TestHTTP2BodyOverLimit(t *testing.T) {
	const cfg = `
listeners:
  - name: web
    address: {{listen "web"}}
    limits: { max_body_bytes: 1KiB }
routes:
  - name: h1
    match: { path: { prefix: /h1 } }
    service: h1
  - name: h2c
    match: { path: { prefix: /h2c } }
    service: h2c
services:
  - name: h1
    endpoints: [{{.H1}}]
  - name: h2c
    protocol: h2c
    endpoints: [{{.H2C}}]
`
	g := startGateway(t, cfg, map[string]string{"H1": startEcho(t, "h1"), "H2C": startH2CHandler(t, echo.Handler("h2c"))})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	for _, path := range []string{"/h1/up", "/h2c/up"} {
		// io.MultiReader hides the length, so the body is streamed.
		body := io.MultiReader(strings.NewReader(strings.Repeat("b", 4096)))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url("web")+path, body)
		resp, rbody := do(t, c, req)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, rbody) != "body_too_large" {
			t.Errorf("POST %s with a 4 KiB body over a 1 KiB limit: got %d %s, want 413 body_too_large", path, resp.StatusCode, rbody)
		}
	}
}

// TestSlowAnswerOutlastsIdleTimeout: idle_timeout bounds a connection with
// nothing going on, not a request waiting for its answer: an upstream that
// answers after longer than the idle timeout (a long poll, within the
// route's timeout) still gets its answer through.
func TestSlowAnswerOutlastsIdleTimeout(t *testing.T) {
	g := startGateway(t, `
listeners:
  - name: web
    address: {{listen "web"}}
    limits: { idle_timeout: 1s }
routes:
  - { name: all, service: echo, timeout: 5s }
services:
  - name: echo
    endpoints: [{{.Echo}}]
`, map[string]string{"Echo": startEcho(t, "e")})
	conn, br := keepAliveConn(t, g.addr("web"))
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /delay/1500 HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("a request answered after 1.5s on a listener with idle_timeout 1s: %v, want its answer", err)
	}
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil || !strings.Contains(string(body), `"instance": "e"`) {
		t.Errorf("got %d %q (%v), want 200 from the upstream", resp.StatusCode, body, err)
	}
}

// TestRefusedRequestReachesAClientStillSending: a client that sends its
// whole request before it reads (as curl does with a large header, or any
// client uploading without Expect: 100-continue) gets pylon's 431 or 413
// rather than a reset, however much of the request was left unread when
// pylon answered.
func TestRefusedRequestReachesAClientStillSending(t *testing.T) {
	const cfg = `
listeners:
  - name: web
    address: {{listen "web"}}
    limits: { max_body_bytes: 1MiB }
routes:
  - name: all
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`
	g := startGateway(t, cfg, map[string]string{"Echo": startEcho(t, "e1")})
	for _, tc := range []struct {
		name   string
		head   string
		body   int
		status int
	}{
		{"a 16 MiB header", "GET /h HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 16<<20) + "\r\n\r\n", 0, 431},
		{"a 16 MiB body over a 1 MiB limit", "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 16777216\r\n\r\n", 16 << 20, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", g.addr("web"), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.WriteString(conn, tc.head); err != nil {
				t.Fatalf("sending the head: %v", err)
			}
			if _, err := conn.Write(make([]byte, tc.body)); err != nil {
				t.Fatalf("sending the body: %v (pylon reset the connection instead of reading what the client still sent)", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the response once the request was sent: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Errorf("got %d %s, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

// TestHeadAfterALongIdleSpell: a keep-alive connection that sat idle
// longer than read_header_timeout (its loop asleep, nothing else to do)
// then sends a request head in two pieces gets the whole
// read_header_timeout for the rest, counted from when the head began.
func TestHeadAfterALongIdleSpell(t *testing.T) {
	g := startEchoGateway(t, "read_header_timeout: 1s, idle_timeout: 30s")
	conn, err := net.Dial("tcp", g.addr("web"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	exchange := func(pieces ...string) (*http.Response, error) {
		for i, p := range pieces {
			if i > 0 {
				time.Sleep(300 * time.Millisecond)
			}
			if _, err := io.WriteString(conn, p); err != nil {
				return nil, err
			}
		}
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := exchange("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	time.Sleep(2500 * time.Millisecond)
	resp, err := exchange("GET /b HTTP/1.1\r\nHo", "st: a\r\n\r\n")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a head in two pieces 300 ms apart after 2.5 s idle: got %v, %v; want 200", resp, err)
	}
}
