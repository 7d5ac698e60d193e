package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/h1"
)

// stallUpstream writes head (which may be empty) to each request, tells
// got, then waits for pylon to close the connection and tells closed.
func stallUpstream(t testing.TB, head string) (up *scriptUpstream, got, closed chan struct{}) {
	got, closed = make(chan struct{}, 4), make(chan struct{}, 4)
	up = newScriptUpstream(t, func(c net.Conn, _ *h1.Request) bool {
		c.Write([]byte(head))
		got <- struct{}{}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		// A close with the response still unread in pylon's socket comes
		// as a reset, not an EOF; only the deadline is not a close.
		if _, err := io.Copy(io.Discard, c); !isTimeout(err) {
			closed <- struct{}{}
		}
		return false
	})
	return up, got, closed
}

// wait fails the test unless ch is signalled within five seconds.
func wait(t testing.TB, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

// TestH2ToHTTP1ClientCancel checks that a client going away, while pylon
// waits for the response head or relays the body, closes the upstream
// connection.
func TestH2ToHTTP1ClientCancel(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		// partial is how much body the client reads before it cancels;
		// -1: it cancels while waiting for the head.
		partial int
		want    tryRecord // the access log's record, Endpoint aside
	}{
		{"waiting for the head", "", -1, tryRecord{Status: 499, Code: "bad_request"}},
		{"mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.", 10, tryRecord{Status: 200, BytesOut: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, got, closed := stallUpstream(t, tc.head)
			e := newH2H1Env(t, up.addr, nil)
			ctx, cancel := context.WithCancel(context.Background())
			seen, done := make(chan struct{}, 1), make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/x", nil)
				resp, err := e.client.Do(req)
				if err == nil {
					defer resp.Body.Close()
					_, err = io.ReadFull(resp.Body, make([]byte, tc.partial))
					seen <- struct{}{}
					if err == nil {
						_, err = io.ReadAll(resp.Body)
					}
				}
				done <- err
			}()
			if tc.partial < 0 {
				wait(t, got, "the upstream's read of the request")
			} else {
				wait(t, seen, "the client's read of the body's start")
			}
			cancel()
			wait(t, closed, "the close of the upstream connection")
			if err := <-done; err == nil {
				t.Error("got a complete response, want the request cancelled")
			}
			if tc.partial >= 0 {
				tc.want.Endpoint = up.addr
			}
			if diff := cmp.Diff([]tryRecord{tc.want}, e.log.wait(t, 1)); diff != "" {
				t.Errorf("access log record (-want +got):\n%s", diff)
			}
		})
	}
}

// TestH2ToHTTP1Timeouts checks that the route timeout and the per-try
// timeout cut off an upstream that does not answer, with a 504, and close
// its connection.
func TestH2ToHTTP1Timeouts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		route func(r *Route)
	}{
		{"route timeout", func(r *Route) { r.Timeout = 100 * time.Millisecond }},
		{"per-try timeout", func(r *Route) { r.Retry.PerTryTimeout = 100 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, _, closed := stallUpstream(t, "")
			e := newH2H1Env(t, up.addr, func(lc *ListenerConfig) { tc.route(lc.Routes[0]) })
			resp, body, err := e.do(t, "GET", "/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			var eb errorBody
			json.Unmarshal([]byte(body), &eb)
			if diff := cmp.Diff([]any{504, "upstream_timeout"}, []any{resp.StatusCode, eb.Error.Code}); diff != "" {
				t.Errorf("status and code (-want +got):\n%s", diff)
			}
			wait(t, closed, "the close of the upstream connection")
		})
	}
}

// TestH2ToHTTP1Retries checks that a retryable status is retried when
// the request can be replayed, and that the try that follows a retry goes
// out on a clean connection.
func TestH2ToHTTP1Retries(t *testing.T) {
	var n atomic.Int32
	up := newScriptUpstream(t, func(c net.Conn, _ *h1.Request) bool {
		if n.Add(1)%2 == 1 {
			c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"))
		} else {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		}
		return true
	})
	e := newH2H1Env(t, up.addr, func(lc *ListenerConfig) {
		p := &lc.Routes[0].Retry
		p.Attempts = 2
		p.On.Statuses.Add(503)
	})
	for _, tc := range []struct {
		method string
		body   io.Reader
		want   []any
	}{
		{"GET", nil, []any{200, "ok"}},
		// A body cannot be replayed: the 503 is relayed.
		{"PUT", strings.NewReader("x"), []any{503, "busy"}},
	} {
		resp, body, err := e.do(t, tc.method, "/x", tc.body)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, []any{resp.StatusCode, body}); diff != "" {
			t.Errorf("%s: status and body (-want +got):\n%s", tc.method, diff)
		}
	}
	want := []tryRecord{
		{Status: 200, Endpoint: up.addr, Retries: 1, BytesOut: 2},
		{Status: 503, Endpoint: up.addr, BytesIn: 1, BytesOut: 4},
	}
	if diff := cmp.Diff(want, e.log.wait(t, 2)); diff != "" {
		t.Errorf("access log records (-want +got):\n%s", diff)
	}
}

// TestH2ToHTTP1BodyTooLarge checks that a streamed body outgrowing the
// listener's limit is answered 413 and not blamed on the upstream, which
// reads the whole body before it answers.
func TestH2ToHTTP1BodyTooLarge(t *testing.T) {
	up := newScriptUpstream(t, answerWith("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false))
	e := newH2H1Env(t, up.addr, func(lc *ListenerConfig) { lc.MaxBodyBytes = 64 << 10 })
	resp, body, err := e.do(t, "POST", "/x", unsized{bytes.NewReader(make([]byte, 1<<20))})
	if err != nil {
		t.Fatal(err)
	}
	var eb errorBody
	json.Unmarshal([]byte(body), &eb)
	if diff := cmp.Diff([]any{413, "body_too_large"}, []any{resp.StatusCode, eb.Error.Code}); diff != "" {
		t.Errorf("status and code (-want +got):\n%s", diff)
	}
}
