package test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startRawUpstream accepts connections, reads one request head from each
// and answers with the bytes respond gives for the request path, then
// closes the connection.
func startRawUpstream(t *testing.T, respond func(path string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.WriteString(c, respond(req.URL.Path))
			}()
		}
	}()
	return ln.Addr().String()
}

const badUpstreamConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: bad
services:
  - name: bad
    endpoints: [{{.Bad}}]
    health:
      outlier: { disabled: true }
`

func TestMisbehavingUpstream(t *testing.T) {
	responses := map[string]string{
		"/cl-and-te":   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"/two-cl":      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"/bad-status":  "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
		"/not-http":    "SSH-2.0-OpenSSH\r\n\r\n",
		"/huge-head":   "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 1<<20) + "\r\nContent-Length: 0\r\n\r\n",
		"/truncated":   "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
		"/bad-chunk":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
		"/no-response": "",
	}
	addr := startRawUpstream(t, func(path string) string { return responses[path] })
	g := startGateway(t, badUpstreamConfig, map[string]string{"Bad": addr})
	c := newClient(t)

	refused := []struct {
		path       string
		wantStatus int
		wantCodes  []string
	}{
		{"/cl-and-te", 502, []string{"upstream_protocol_error"}},
		{"/two-cl", 502, []string{"upstream_protocol_error"}},
		{"/bad-status", 502, []string{"upstream_protocol_error"}},
		{"/not-http", 502, []string{"upstream_protocol_error"}},
		{"/huge-head", 502, []string{"upstream_protocol_error"}},
		{"/no-response", 502, []string{"upstream_reset"}},
	}
	for _, tc := range refused {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, c, g.url("web")+tc.path)
			if code := errorCode(t, body); resp.StatusCode != tc.wantStatus || !contains(tc.wantCodes, code) {
				t.Errorf("got %d %q, want %d %v", resp.StatusCode, code, tc.wantStatus, tc.wantCodes)
			}
		})
	}

	// After the head was sent the status cannot change: the client must see
	// the body fail, not a complete response.
	for _, path := range []string{"/truncated", "/bad-chunk"} {
		t.Run(path, func(t *testing.T) {
			resp, err := c.Get(g.url("web") + path)
			if err != nil {
				return // refused before the head: also not a complete response
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode == http.StatusOK {
				t.Errorf("got a complete 200 response with body %q, want the body to fail", body)
			}
		})
	}
}
