package test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const http1Config = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: get-only
    match:
      path: { exact: /get-only }
      methods: [GET]
    service: echo
  - name: strip
    match:
      path: { prefix: /strip }
    service: echo
    rewrite: { strip_prefix: /strip }
  - name: items
    match:
      path: { template: "/users/{id}/items/{item}" }
    service: echo
    rewrite: { path: "/v2/items/{item}/owner/{id}" }
  - name: host
    match:
      path: { prefix: /host }
    service: echo
    rewrite: { host: upstream.internal }
  - name: edits
    match:
      path: { prefix: /edits }
    service: echo
    request_headers:
      add: { x-added: added }
      set: { x-set: set-by-pylon }
      remove: [x-drop]
    response_headers:
      add: { x-resp-added: r }
      set: { x-resp-set: s }
      remove: [x-instance]
  - name: split
    match:
      path: { prefix: /split }
    split:
      - { service: echo, weight: 3 }
      - { service: echo-b, weight: 1 }
  - name: special
    match:
      path: { prefix: /special }
    service: special
  - name: status
    match:
      path: { prefix: /status }
    service: echo
  - name: api
    match:
      path: { prefix: /api }
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
  - name: echo-b
    endpoints: [{{.EchoB}}]
  - name: special
    endpoints: [{{.Special}}]
`

// special is an upstream for what echo cannot do: trailers and proving that
// a request body is streamed rather than buffered.
type special struct {
	gotFirst chan struct{}
}

func (s *special) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/special/trailers":
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "part one,")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part two")
		w.Header().Set("X-Checksum", "abc123")
	case "/special/stream":
		first := make([]byte, len("first;"))
		if _, err := io.ReadFull(r.Body, first); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		close(s.gotFirst)
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, string(first)+string(rest))
	default:
		http.NotFound(w, r)
	}
}

func startHTTP1Gateway(t *testing.T) (*gateway, *special) {
	t.Helper()
	sp := &special{gotFirst: make(chan struct{})}
	g := startGateway(t, http1Config, map[string]string{
		"Echo":    startEcho(t, "a"),
		"EchoB":   startEcho(t, "b"),
		"Special": startHandler(t, sp),
	})
	return g, sp
}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestHTTP1Forwarding(t *testing.T) {
	g, _ := startHTTP1Gateway(t)
	c := newClient(t)
	base := g.url("web")

	t.Run("GET", func(t *testing.T) {
		resp, body := get(t, c, base+"/api/x?q=1")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200; body %s", resp.StatusCode, body)
		}
		rep := decodeEcho(t, body)
		got := map[string]string{
			"method": rep.Method, "path": rep.Path, "query": rep.Query, "host": rep.Host,
			"x-forwarded-for":   strings.Join(rep.Headers["X-Forwarded-For"], ","),
			"x-forwarded-proto": strings.Join(rep.Headers["X-Forwarded-Proto"], ","),
			"x-forwarded-host":  strings.Join(rep.Headers["X-Forwarded-Host"], ","),
		}
		want := map[string]string{
			"method": "GET", "path": "/api/x", "query": "q=1", "host": g.addr("web"),
			"x-forwarded-for":   "127.0.0.1",
			"x-forwarded-proto": "http",
			"x-forwarded-host":  g.addr("web"),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("upstream saw (-want +got):\n%s", diff)
		}
		id := resp.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			t.Errorf("got response X-Request-Id %q, want 32 hex digits", id)
		}
		if up := strings.Join(rep.Headers["X-Request-Id"], ","); up != id {
			t.Errorf("got upstream X-Request-Id %q, want the response's %q", up, id)
		}
	})

	t.Run("POST", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/orders", strings.NewReader(`{"n":1}`))
		req.Header.Set("Content-Type", "application/json")
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200; body %s", resp.StatusCode, body)
		}
		rep := decodeEcho(t, body)
		if diff := cmp.Diff([]string{"POST", "/api/orders", `{"n":1}`}, []string{rep.Method, rep.Path, rep.Body}); diff != "" {
			t.Errorf("upstream saw (-want +got):\n%s", diff)
		}
	})

	t.Run("client request id propagated", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/id", nil)
		req.Header.Set("X-Request-Id", "client-chosen-id-42")
		resp, body := do(t, c, req)
		rep := decodeEcho(t, body)
		got := []string{resp.Header.Get("X-Request-Id"), strings.Join(rep.Headers["X-Request-Id"], ",")}
		if diff := cmp.Diff([]string{"client-chosen-id-42", "client-chosen-id-42"}, got); diff != "" {
			t.Errorf("X-Request-Id [response, upstream] (-want +got):\n%s", diff)
		}
	})

	t.Run("forwarded headers from an untrusted client are replaced", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/xff", nil)
		req.Header.Set("X-Forwarded-For", "1.2.3.4")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("Forwarded", "for=1.2.3.4;proto=https")
		_, body := do(t, c, req)
		rep := decodeEcho(t, body)
		got := map[string][]string{
			"X-Forwarded-For":   rep.Headers["X-Forwarded-For"],
			"X-Forwarded-Proto": rep.Headers["X-Forwarded-Proto"],
			"X-Forwarded-Host":  rep.Headers["X-Forwarded-Host"],
		}
		want := map[string][]string{
			"X-Forwarded-For":   {"127.0.0.1"},
			"X-Forwarded-Proto": {"http"},
			"X-Forwarded-Host":  {g.addr("web")},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("upstream forwarded headers (-want +got):\n%s", diff)
		}
		if f := strings.Join(rep.Headers["Forwarded"], ","); strings.Contains(f, "1.2.3.4") {
			t.Errorf("upstream got the client's Forwarded %q, want it replaced", f)
		}
	})

	t.Run("hop-by-hop headers dropped", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/hop", nil)
		req.Header.Set("Connection", "foo")
		req.Header.Set("Foo", "must-not-pass")
		req.Header.Set("Keep-Alive", "timeout=5")
		req.Header.Set("TE", "deflate")
		req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
		req.Header.Set("X-Kept", "yes")
		_, body := do(t, c, req)
		rep := decodeEcho(t, body)
		for _, h := range []string{"Foo", "Keep-Alive", "Te", "Proxy-Authorization"} {
			if v, ok := rep.Headers[h]; ok {
				t.Errorf("upstream got hop-by-hop header %s: %q, want it dropped", h, v)
			}
		}
		if got := strings.Join(rep.Headers["X-Kept"], ","); got != "yes" {
			t.Errorf("got upstream X-Kept %q, want %q", got, "yes")
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, base+"/api/head", nil)
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Errorf("got status %d with %d body bytes, want 200 with none", resp.StatusCode, len(body))
		}
		// The connection must still be usable: a HEAD response has no body
		// even when it carries a Content-Length.
		resp, body = get(t, c, base+"/api/after-head")
		if resp.StatusCode != http.StatusOK || decodeEcho(t, body).Path != "/api/after-head" {
			t.Errorf("GET after HEAD: got status %d body %q", resp.StatusCode, body)
		}
	})

	for _, code := range []int{204, 304} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			resp, body := get(t, c, base+"/status/"+strconv.Itoa(code))
			if resp.StatusCode != code || len(body) != 0 {
				t.Errorf("got status %d with body %q, want %d with none", resp.StatusCode, body, code)
			}
		})
	}
}

func TestHTTP1RoutingErrors(t *testing.T) {
	g, _ := startHTTP1Gateway(t)
	c := newClient(t)

	t.Run("no_route", func(t *testing.T) {
		resp, body := get(t, c, g.url("web")+"/nowhere")
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("got status %d, want 404; body %s", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("got Content-Type %q, want application/json", ct)
		}
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("decoding %q: %v", body, err)
		}
		got := []string{e.Error.Code, e.Error.RequestID}
		want := []string{"no_route", resp.Header.Get("X-Request-Id")}
		if diff := cmp.Diff(want, got); diff != "" || e.Error.Message == "" {
			t.Errorf("[code, request_id] (-want +got):\n%s\nmessage %q", diff, e.Error.Message)
		}
	})

	t.Run("method_not_allowed", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url("web")+"/get-only", strings.NewReader("x"))
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("got status %d, want 405; body %s", resp.StatusCode, body)
		}
		if got := errorCode(t, body); got != "method_not_allowed" {
			t.Errorf("got code %q, want method_not_allowed", got)
		}
	})
}

func TestHTTP1RewritesAndHeaderEdits(t *testing.T) {
	g, _ := startHTTP1Gateway(t)
	c := newClient(t)
	base := g.url("web")

	tests := []struct {
		name     string
		path     string
		wantPath string
		wantHost string
	}{
		{"strip_prefix", "/strip/a/b", "/a/b", g.addr("web")},
		{"strip_prefix to root", "/strip", "/", g.addr("web")},
		{"path template", "/users/7/items/42", "/v2/items/42/owner/7", g.addr("web")},
		{"host", "/host/x", "/host/x", "upstream.internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, base+tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got status %d, want 200; body %s", resp.StatusCode, body)
			}
			rep := decodeEcho(t, body)
			if diff := cmp.Diff([]string{tc.wantPath, tc.wantHost}, []string{rep.Path, rep.Host}); diff != "" {
				t.Errorf("upstream [path, host] (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("header edits", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/edits", nil)
		req.Header.Add("X-Added", "from-client")
		req.Header.Set("X-Set", "from-client")
		req.Header.Set("X-Drop", "from-client")
		resp, body := do(t, c, req)
		rep := decodeEcho(t, body)
		gotUp := map[string][]string{
			"X-Added": rep.Headers["X-Added"], "X-Set": rep.Headers["X-Set"], "X-Drop": rep.Headers["X-Drop"],
		}
		wantUp := map[string][]string{
			"X-Added": {"from-client", "added"}, "X-Set": {"set-by-pylon"}, "X-Drop": nil,
		}
		if diff := cmp.Diff(wantUp, gotUp); diff != "" {
			t.Errorf("upstream request headers (-want +got):\n%s", diff)
		}
		gotDown := map[string][]string{
			"X-Resp-Added": resp.Header.Values("X-Resp-Added"),
			"X-Resp-Set":   resp.Header.Values("X-Resp-Set"),
			"X-Instance":   resp.Header.Values("X-Instance"),
		}
		wantDown := map[string][]string{"X-Resp-Added": {"r"}, "X-Resp-Set": {"s"}, "X-Instance": nil}
		if diff := cmp.Diff(wantDown, gotDown); diff != "" {
			t.Errorf("response headers (-want +got):\n%s", diff)
		}
	})
}

func TestHTTP1WeightedSplit(t *testing.T) {
	g, _ := startHTTP1Gateway(t)
	c := newClient(t)
	const n = 400
	counts := map[string]int{}
	for range n {
		_, body := get(t, c, g.url("web")+"/split")
		counts[decodeEcho(t, body).Instance]++
	}
	// Weights 3:1 -> 75% to a; accept a loose band.
	if counts["a"]+counts["b"] != n || counts["a"] < n*60/100 || counts["a"] > n*90/100 {
		t.Errorf("got split %v over %d requests, want about 75%% to a and the rest to b", counts, n)
	}
}

func TestHTTP1Streaming(t *testing.T) {
	g, sp := startHTTP1Gateway(t)
	c := newClient(t)
	base := g.url("web")

	t.Run("chunked request body is streamed", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			io.WriteString(pw, "first;")
			// The rest is only sent once the upstream has read the first
			// part: a proxy that buffered the whole body would hang here.
			select {
			case <-sp.gotFirst:
				io.WriteString(pw, "second")
				pw.Close()
			case <-time.After(10 * time.Second):
				pw.CloseWithError(io.ErrUnexpectedEOF)
			}
		}()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/special/stream", pr)
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusOK || string(body) != "first;second" {
			t.Errorf("got status %d body %q, want 200 %q", resp.StatusCode, body, "first;second")
		}
	})

	t.Run("chunked response with trailers", func(t *testing.T) {
		resp, body := get(t, c, base+"/special/trailers")
		got := []string{string(body), resp.Trailer.Get("X-Checksum")}
		if diff := cmp.Diff([]string{"part one,part two", "abc123"}, got); diff != "" {
			t.Errorf("[body, trailer X-Checksum] (-want +got):\n%s", diff)
		}
	})

	t.Run("100-continue", func(t *testing.T) {
		tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
		defer tr.CloseIdleConnections()
		cc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, base+"/api/upload", strings.NewReader("payload"))
		req.Header.Set("Expect", "100-continue")
		resp, body := do(t, cc, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200; body %s", resp.StatusCode, body)
		}
		if got := decodeEcho(t, body).Body; got != "payload" {
			t.Errorf("upstream got body %q, want %q", got, "payload")
		}
	})

	t.Run("HTTP/1.0 client", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", g.addr("web"), 5*time.Second)
		if err != nil {
			t.Fatalf("dialing: %v", err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /api/old HTTP/1.0\r\nHost: old.example\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the body: %v", err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200; body %s", resp.StatusCode, body)
		}
		if len(resp.TransferEncoding) != 0 {
			t.Errorf("got Transfer-Encoding %v for an HTTP/1.0 client, want a length- or close-delimited body", resp.TransferEncoding)
		}
		if got := decodeEcho(t, body).Path; got != "/api/old" {
			t.Errorf("got upstream path %q, want /api/old", got)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("after the response: got %v, want the connection closed (EOF)", err)
		}
	})
}
