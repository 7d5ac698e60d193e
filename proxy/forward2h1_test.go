package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/h1"
)

// TestH2ToHTTP1Reuse checks when a pooled connection serves the next
// request: only after a response read to its end on a connection the
// upstream keeps open.
func TestH2ToHTTP1Reuse(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		resp       string
		closeAfter bool // the upstream closes after each response
		wantStatus int
		wantBody   string
		wantLength int64 // the Content-Length the client sees
		wantConns  int32 // upstream connections for three requests
	}{
		{"keep-alive", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", 2, 1},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false, 200, "ok", -1, 1},
		{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", 2, 3},
		{"http/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", 2, 3},
		{"close delimited", "GET", "HTTP/1.1 200 OK\r\n\r\nok", true, 200, "ok", -1, 3},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, 200, "", 1000, 1},
		{"204", "DELETE", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, "", 0, 1},
		{"304", "GET", "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n", false, 304, "", 0, 1},
		{"interim responses", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", 2, 1},
		// A reused connection the upstream closed while idle fails before
		// any response byte: the request goes again on a fresh one.
		{"stale connection", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, 200, "ok", 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newScriptUpstream(t, answerWith(tc.resp, tc.closeAfter))
			e := newH2H1Env(t, up.addr, nil)
			for i := range 3 {
				resp, body, err := e.do(t, tc.method, "/x", nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				got := []any{resp.StatusCode, body, resp.ContentLength}
				if diff := cmp.Diff([]any{tc.wantStatus, tc.wantBody, tc.wantLength}, got); diff != "" {
					t.Fatalf("request %d: status, body, length (-want +got):\n%s", i, diff)
				}
			}
			if got := up.accepts.Load(); got != tc.wantConns {
				t.Errorf("got %d upstream connections, want %d", got, tc.wantConns)
			}
		})
	}
}

// TestH2ResponseEndsBeforeTheRecord: an HTTP/2 client has its whole
// response before pylon files the request's record (metrics, the access
// log), so that work adds nothing to the client's wait.
func TestH2ResponseEndsBeforeTheRecord(t *testing.T) {
	up := newScriptUpstream(t, answerWith("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false))
	e := newH2H1Env(t, up.addr, nil)
	e.log.hold = make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(e.log.hold)
		}
	}
	defer release()
	resp, body, err := e.do(t, "GET", "/x", nil)
	if err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("while the record is being filed: got %v %q, err %v; want 200 ok", resp, body, err)
	}
	release()
	if got := e.log.wait(t, 1); len(got) != 1 || got[0].Status != 200 {
		t.Errorf("records %+v, want one with status 200", got)
	}
}

// TestH2ToHTTP1Malformed checks that a response the h1 parser refuses is
// answered 502 with pylon's JSON error, never relayed.
func TestH2ToHTTP1Malformed(t *testing.T) {
	tests := []struct {
		name string
		resp string
	}{
		{"both framings", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"},
		{"bad status", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
		{"204 with a body", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc"},
		{"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{"101 unasked", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n"},
		{"endless 1xx", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newScriptUpstream(t, answerWith(tc.resp, false))
			e := newH2H1Env(t, up.addr, nil)
			resp, body, err := e.do(t, "GET", "/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			var eb errorBody
			if err := json.Unmarshal([]byte(body), &eb); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			got := []any{resp.StatusCode, eb.Error.Code, eb.Error.RequestID}
			want := []any{502, "upstream_protocol_error", resp.Header.Get("X-Request-Id")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("status, code, request id (-want +got):\n%s", diff)
			}
		})
	}
}

// TestH2ToHTTP1Trailers checks that a chunked response's trailers reach
// the HTTP/2 client as trailers, hop-by-hop ones dropped.
func TestH2ToHTTP1Trailers(t *testing.T) {
	up := newScriptUpstream(t, answerWith("HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nhello\r\n0\r\nX-Sum: 42\r\nx-late: yes\r\nConnection: close\r\n\r\n", false))
	e := newH2H1Env(t, up.addr, nil)
	for range 2 {
		resp, body, err := e.do(t, "GET", "/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{body, resp.Trailer.Get("X-Sum"), resp.Trailer.Get("X-Late"), len(resp.Trailer["Connection"])}
		if diff := cmp.Diff([]any{"hello", "42", "yes", 0}, got); diff != "" {
			t.Errorf("body and trailers (-want +got):\n%s", diff)
		}
	}
	if got := up.accepts.Load(); got != 1 {
		t.Errorf("got %d upstream connections, want 1", got)
	}
}

// TestH2ToHTTP1UpstreamCloseMidBody checks that a body cut short resets
// the client's stream and that the broken connection is not reused.
func TestH2ToHTTP1UpstreamCloseMidBody(t *testing.T) {
	var n atomic.Int32
	up := newScriptUpstream(t, func(c net.Conn, _ *h1.Request) bool {
		if n.Add(1) == 1 {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten.."))
			return false
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		return true
	})
	e := newH2H1Env(t, up.addr, nil)
	if _, _, err := e.do(t, "GET", "/x", nil); err == nil {
		t.Fatal("got a complete body, want the stream reset")
	}
	resp, body, err := e.do(t, "GET", "/x", nil)
	if err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("second request: got %v %q %v, want 200 ok", resp, body, err)
	}
	if got := up.accepts.Load(); got != 2 {
		t.Errorf("got %d upstream connections, want 2", got)
	}
}

// echoUpstream answers every request with its body, chunked, and the
// framing it arrived with in X-Framing.
func echoUpstream(t testing.TB) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		framing := "length " + strconv.FormatInt(r.ContentLength, 10)
		if len(r.TransferEncoding) > 0 {
			framing = strings.Join(r.TransferEncoding, ",")
		}
		w.Header().Set("X-Framing", framing)
		w.Header().Set("X-Expect", r.Header.Get("Expect"))
		w.Header().Set("X-Te", r.Header.Get("Te"))
		// Stream the body back as it arrives, both ways at once.
		http.NewResponseController(w).EnableFullDuplex()
		io.Copy(w, r.Body)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// unsized hides a reader's length so the client streams it with no
// Content-Length.
type unsized struct{ io.Reader }

// TestH2ToHTTP1StreamsBodies sends request bodies larger than every buffer
// on the way, of known and unknown length, and reads them echoed back.
func TestH2ToHTTP1StreamsBodies(t *testing.T) {
	up, conns := echoUpstream(t)
	e := newH2H1Env(t, up.Listener.Addr().String(), func(lc *ListenerConfig) { lc.MaxBodyBytes = 8 << 20 })
	payload := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16+7)
	sum := sha256.Sum256(payload)
	tests := []struct {
		name        string
		body        io.Reader
		wantFraming string
	}{
		{"known length", bytes.NewReader(payload), "length " + strconv.Itoa(len(payload))},
		{"unknown length", unsized{bytes.NewReader(payload)}, "chunked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := e.do(t, "POST", "/echo", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			got := sha256.Sum256([]byte(body))
			want := []any{200, tc.wantFraming, hex.EncodeToString(sum[:])}
			if diff := cmp.Diff(want, []any{resp.StatusCode, resp.Header.Get("X-Framing"), hex.EncodeToString(got[:])}); diff != "" {
				t.Errorf("status, framing, body digest (-want +got):\n%s", diff)
			}
		})
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("got %d upstream connections, want 1", got)
	}
}

// TestH2ToHTTP1ExpectContinue checks that a client waiting for 100
// Continue gets it and that pylon, which invites the body itself, sends
// neither Expect nor TE upstream.
func TestH2ToHTTP1ExpectContinue(t *testing.T) {
	up, _ := echoUpstream(t)
	e := newH2H1Env(t, up.Listener.Addr().String(), nil)
	var got100 atomic.Bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, "PUT", e.url+"/x", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Te", "trailers")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := []any{resp.StatusCode, string(body), got100.Load(), resp.Header.Get("X-Expect"), resp.Header.Get("X-Te")}
	if diff := cmp.Diff([]any{200, "payload", true, "", ""}, got); diff != "" {
		t.Errorf("status, body, 100 seen, Expect and TE upstream (-want +got):\n%s", diff)
	}
}

// TestH2ToHTTP1RequestHead checks the head written upstream: the rewritten
// target with bytes HTTP/1.1 cannot carry encoded, Host, forwarding
// headers, and a zero length on an empty POST.
func TestH2ToHTTP1RequestHead(t *testing.T) {
	up := newScriptUpstream(t, answerWith("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false))
	e := newH2H1Env(t, up.addr, func(lc *ListenerConfig) { lc.Routes[0].Rewrite.Host = []byte("app.internal") })
	req, err := http.NewRequest("POST", e.url+"/a%20b?q=1", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Custom", "v")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	lines := strings.Split(up.lastHead(), "\n")
	fields := map[string]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		fields[strings.ToLower(k)] = v
	}
	got := []any{lines[0], fields["host"], fields["x-custom"], fields["content-length"], fields["x-forwarded-proto"], fields["x-request-id"] == resp.Header.Get("X-Request-Id")}
	want := []any{"POST /a%20b?q=1", "app.internal", "v", "0", "http", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request line and fields upstream (-want +got):\n%s", diff)
	}
}

// TestWriteTarget checks the encoding of bytes a request line cannot hold.
func TestWriteTarget(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/a/b?c=d", "/a/b?c=d"},
		{"/a b", "/a%20b"},
		{"/a#b", "/a%23b"},
		{"/\xc3\xa9?x=\x7f", "/%C3%A9?x=%7F"},
	} {
		var b bytes.Buffer
		w := bufioWriter(&b)
		writeTarget(w, tc.in)
		w.Flush()
		if got := b.String(); got != tc.want {
			t.Errorf("writeTarget(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCheckWire checks the request parts refused before anything is sent.
func TestCheckWire(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		host   string
		header http.Header
		want   string // the error message, "" when accepted
	}{
		{"plain", "GET", "example.com:8080", http.Header{"A": {"b\tc"}}, ""},
		{"ipv6", "GET", "[::1]:80", nil, ""},
		{"method with space", "GE T", "h", nil, errBadMethod.Msg},
		{"host with space", "GET", "a b", nil, errBadHost.Msg},
		{"host with slash", "GET", "a/b", nil, errBadHost.Msg},
		{"value with CR LF", "GET", "h", http.Header{"A": {"b\r\nX: y"}}, errBadField.Msg},
		{"name with colon", "GET", "h", http.Header{"A:b": {"c"}}, errBadField.Msg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if fe := checkWire(&rtRequest{method: tc.method, host: tc.host, header: tc.header}); fe != nil {
				got = fe.Msg
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestH2ToHTTP1UpstreamTLS checks the pool's TLS connections carry HTTP/2
// clients' requests too, reused across requests.
func TestH2ToHTTP1UpstreamTLS(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	up.StartTLS()
	t.Cleanup(up.Close)
	roots := x509.NewCertPool()
	roots.AddCert(up.Certificate())
	e := newH2H1Env(t, up.Listener.Addr().String(), func(lc *ListenerConfig) {
		svc := lc.Routes[0].Backends[0].Service
		svc.TLS = true
		pool := NewPool(up.Listener.Addr().String(), PoolConfig{DialTimeout: time.Second, MaxIdle: 4,
			TLS: &tls.Config{RootCAs: roots, ServerName: "example.com", NextProtos: []string{"http/1.1"}}})
		t.Cleanup(pool.Close)
		svc.SetPools(map[*balancer.Endpoint]*Pool{svc.Set.Endpoints()[0]: pool})
	})
	for range 3 {
		resp, body, err := e.do(t, "GET", "/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]any{200, "HTTP/1.1"}, []any{resp.StatusCode, body}); diff != "" {
			t.Errorf("status and upstream protocol (-want +got):\n%s", diff)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("got %d upstream connections, want 1", got)
	}
}
