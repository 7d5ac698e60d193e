package test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
)

// startEcho starts an HTTP/1.1 echo upstream named instance and returns its
// address.
func startEcho(t *testing.T, instance string) string {
	t.Helper()
	return startHandler(t, echo.Handler(instance))
}

// startHandler serves h over HTTP/1.1 on loopback and returns the address.
func startHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// recorded is one request an upstream received in full.
type recorded struct {
	Method string
	Path   string
	Body   string
}

// recorder is an upstream that records every request it receives and then
// echoes it.
type recorder struct {
	mu    sync.Mutex
	reqs  []recorded
	heads int
	addr  string
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	h := echo.Handler("recorder")
	r.addr = startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.heads++
		r.mu.Unlock()
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return // an incomplete request is not recorded
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.RequestURI(), Body: string(body)})
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, req)
	}))
	return r
}

// requests returns the complete requests received so far.
func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// decodeEcho decodes an echo reply.
func decodeEcho(t *testing.T, body []byte) echo.Reply {
	t.Helper()
	var r echo.Reply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decoding echo reply %q: %v", body, err)
	}
	return r
}

// do sends req with c and returns the response and its whole body.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of %s %s: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// get is do for a GET of url.
func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("building GET %s: %v", url, err)
	}
	return do(t, c, req)
}

// newClient returns an HTTP/1.1 client with its own connection pool, closed
// when the test ends.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// tryGet is get for goroutines other than the test's: it returns errors.
func tryGet(c *http.Client, url string) (*http.Response, []byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// decodeEchoQuiet returns the instance of an echo reply, or "" if body is
// not one.
func decodeEchoQuiet(body []byte) string {
	var r echo.Reply
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	return r.Instance
}
