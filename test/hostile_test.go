package test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const hostileConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
    limits:
      max_body_bytes: 1KiB
      read_header_timeout: 1s
routes:
  - name: all
    service: rec
services:
  - name: rec
    endpoints: [{{.Rec}}]
`

// rawResult is what a raw exchange produced.
type rawResult struct {
	status int
	body   []byte
	closed bool // the server closed the connection after the response
	err    error
}

// rawExchange writes payload on a fresh connection (in the background, so
// a server that answers early is read), reads one response and checks
// (when checkClose is set) whether the connection is closed afterwards.
func rawExchange(t *testing.T, addr, payload string, checkClose bool) rawResult {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(conn, payload)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return rawResult{err: err}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return rawResult{status: resp.StatusCode, err: err}
	}
	if !checkClose {
		return rawResult{status: resp.StatusCode, body: body}
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, rerr := br.ReadByte()
	closed := errors.Is(rerr, io.EOF) || errors.Is(rerr, syscall.ECONNRESET)
	return rawResult{status: resp.StatusCode, body: body, closed: closed}
}

func TestHostileHTTP1(t *testing.T) {
	rec := startRecorder(t)
	g := startGateway(t, hostileConfig, map[string]string{"Rec": rec.addr})
	const h = "Host: a.example\r\n"
	framing := []string{"ambiguous_framing", "unsupported_transfer_coding"}
	tests := []struct {
		name    string
		payload string
		codes   []string // acceptable error codes (docs/errors.md)
	}{
		{"CL.TE smuggling",
			"POST / HTTP/1.1\r\n" + h + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + h + "\r\n",
			[]string{"ambiguous_framing"}},
		{"TE.CL smuggling",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2b\r\nGET /smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n\r\n0\r\n\r\n",
			[]string{"ambiguous_framing"}},
		{"two Content-Length",
			"POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
			[]string{"ambiguous_framing"}},
		{"Content-Length +5",
			"POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello",
			[]string{"bad_request"}},
		{"Transfer-Encoding xchunked",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			framing},
		{"space before colon",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			[]string{"bad_request"}},
		{"chunked, identity",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			framing},
		{"Transfer-Encoding in HTTP/1.0",
			"POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			[]string{"ambiguous_framing"}},
		{"bad chunk size",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
			[]string{"bad_chunk"}},
		{"chunk size overflow",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
			[]string{"bad_chunk"}},
		{"bare LF",
			"GET / HTTP/1.1\n" + "Host: a.example\n\n",
			[]string{"bad_request"}},
		{"obs-fold",
			"GET / HTTP/1.1\r\n" + h + "X-Folded: a\r\n  b\r\n\r\n",
			[]string{"bad_request"}},
		{"NUL in a header value",
			"GET / HTTP/1.1\r\n" + h + "X-Nul: a\x00b\r\n\r\n",
			[]string{"bad_request"}},
		{"space in a header name",
			"GET / HTTP/1.1\r\n" + h + "X Bad: a\r\n\r\n",
			[]string{"bad_request"}},
		{"two Host headers",
			"GET / HTTP/1.1\r\n" + h + "Host: b.example\r\n\r\n",
			[]string{"missing_host"}},
		{"HTTP/1.1 without Host",
			"GET / HTTP/1.1\r\n\r\n",
			[]string{"missing_host"}},
		{"1 MiB URI",
			"GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\n" + h + "\r\n",
			[]string{"uri_too_long"}},
		{"1 MiB header",
			"GET / HTTP/1.1\r\n" + h + "X-Big: " + strings.Repeat("b", 1<<20) + "\r\n\r\n",
			[]string{"headers_too_large"}},
		{"10000 headers",
			"GET / HTTP/1.1\r\n" + h + strings.Repeat("X-H: v\r\n", 10000) + "\r\n",
			[]string{"headers_too_large"}},
		{"Content-Length over max_body_bytes",
			"POST / HTTP/1.1\r\n" + h + "Content-Length: 2048\r\n\r\n" + strings.Repeat("x", 2048),
			[]string{"body_too_large"}},
		{"chunked body over max_body_bytes",
			"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n800\r\n" + strings.Repeat("x", 2048) + "\r\n0\r\n\r\n",
			[]string{"body_too_large"}},
	}
	statusOf := map[string]int{
		"ambiguous_framing": 400, "unsupported_transfer_coding": 501, "bad_request": 400, "bad_chunk": 400,
		"missing_host": 400, "uri_too_long": 414, "headers_too_large": 431, "body_too_large": 413,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rawExchange(t, g.addr("web"), tc.payload, true)
			if r.err != nil {
				t.Fatalf("got %v, want a %v response", r.err, tc.codes)
			}
			code := errorCode(t, r.body)
			if !contains(tc.codes, code) {
				t.Errorf("got code %q (status %d), want one of %v", code, r.status, tc.codes)
			} else if r.status != statusOf[code] {
				t.Errorf("got status %d for %s, want %d", r.status, code, statusOf[code])
			}
			if !r.closed {
				t.Errorf("the connection stayed open after a %d, want it closed", r.status)
			}
		})
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("upstream received %d complete requests, want none:\n%v", len(got), got)
	}

	t.Run("valid request still reaches the upstream", func(t *testing.T) {
		r := rawExchange(t, g.addr("web"), "POST /ok HTTP/1.1\r\n"+h+"Content-Length: 5\r\nConnection: close\r\n\r\nhello", false)
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("got status %d, err %v, want 200", r.status, r.err)
		}
		want := []recorded{{Method: "POST", Path: "/ok", Body: "hello"}}
		if diff := cmp.Diff(want, rec.requests()); diff != "" {
			t.Errorf("upstream requests (-want +got):\n%s", diff)
		}
	})
}

func TestHostileSlowloris(t *testing.T) {
	rec := startRecorder(t)
	g := startGateway(t, hostileConfig, map[string]string{"Rec": rec.addr})
	conn, err := net.DialTimeout("tcp", g.addr("web"), 5*time.Second)
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		head := "GET / HTTP/1.1\r\nHost: a.example\r\nX-Slow: " + strings.Repeat("s", 60) + "\r\n\r\n"
		for i := range len(head) {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			if _, err := conn.Write([]byte{head[i]}); err != nil {
				return
			}
		}
	}()
	// read_header_timeout is 1s: whatever pylon answers (a 408 or nothing),
	// the connection must end long before the head is complete (about 90s).
	conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	_, err = io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after 8s of a 1-byte-per-second head, want it cut off by read_header_timeout")
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("upstream received %v, want nothing", got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestHostileHTTP1Refusals(t *testing.T) {
	rec := startRecorder(t)
	g := startGateway(t, hostileConfig, map[string]string{"Rec": rec.addr})
	const h = "Host: a.example\r\n"
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantCode   string // "bad_request|bad_path" lists acceptable codes
	}{
		{"smuggled request after a chunk without CRLF",
			"POST /x HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + h + "\r\n",
			400, "bad_chunk"},
		{"gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, "unsupported_transfer_coding"},
		{"dot-segment", "GET /a/../b HTTP/1.1\r\n" + h + "\r\n", 400, "bad_path"},
		{"encoded dot-segment", "GET /a/%2e%2E/b HTTP/1.1\r\n" + h + "\r\n", 400, "bad_path"},
		{"relative path", "GET a/b HTTP/1.1\r\n" + h + "\r\n", 400, "bad_request|bad_path"},
		{"bad percent-encoding in the path", "GET /a%zz/b HTTP/1.1\r\n" + h + "\r\n", 400, "bad_path"},
		{"truncated percent-encoding in the path", "GET /a%2 HTTP/1.1\r\n" + h + "\r\n", 400, "bad_path"},
		{"bad percent-encoding in an absolute-form path", "GET http://a.example/%bs?q=1 HTTP/1.1\r\n" + h + "\r\n", 400, "bad_path"},
		{"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\n" + h + "\r\n", 405, "method_not_allowed"},
		{"Expect other than 100-continue", "POST / HTTP/1.1\r\n" + h + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417, "expectation_failed"},
		{"HTTP/3.0 on the wire", "GET / HTTP/3.0\r\n" + h + "\r\n", 505, "version_not_supported"},
		{"body ends early", "POST / HTTP/1.1\r\n" + h + "Content-Length: 10\r\n\r\nabc", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.payload
			if tc.wantStatus == 0 {
				// The client half-closes after a short body: pylon must
				// not forward a complete request. Whatever it answers is
				// fine; only the upstream's record is checked below.
				rawHalfClose(t, g.addr("web"), payload)
				return
			}
			r := rawExchange(t, g.addr("web"), payload, false)
			if r.err != nil {
				t.Fatalf("got %v, want a %d response", r.err, tc.wantStatus)
			}
			if got := errorCode(t, r.body); r.status != tc.wantStatus || !contains(strings.Split(tc.wantCode, "|"), got) {
				t.Errorf("got %d %q, want %d %q", r.status, got, tc.wantStatus, tc.wantCode)
			}
		})
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("upstream received %d complete requests, want none:\n%v", len(got), got)
	}

	t.Run("pipelined requests answered in order", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", g.addr("web"), 5*time.Second)
		if err != nil {
			t.Fatalf("dialing: %v", err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /one HTTP/1.1\r\n"+h+"\r\nPOST /two HTTP/1.1\r\n"+h+"Content-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\n"+h+"Connection: close\r\n\r\n")
		br := bufio.NewReader(conn)
		var paths []string
		for range 3 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading response %d: %v", len(paths)+1, err)
			}
			body, _ := io.ReadAll(resp.Body)
			paths = append(paths, decodeEcho(t, body).Path)
		}
		if diff := cmp.Diff([]string{"/one", "/two", "/three"}, paths); diff != "" {
			t.Errorf("responses (-want +got):\n%s", diff)
		}
	})
}

// rawHalfClose writes payload, closes the write side and reads until the
// server closes.
func rawHalfClose(t *testing.T, addr, payload string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, payload)
	conn.(*net.TCPConn).CloseWrite()
	if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection still open 10s after the client half-closed mid-body")
	}
}

// TestHostileHTTP2Paths: over h2c, a path with a dot-segment or a bad
// percent-encoding gets the same 400 bad_path as over HTTP/1.1 (a JSON
// answer, not a reset stream), and reaches no upstream.
func TestHostileHTTP2Paths(t *testing.T) {
	rec := startRecorder(t)
	g := startGateway(t, hostileConfig, map[string]string{"Rec": rec.addr})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	for _, path := range []string{"/a/%2e%2e/b", "/a%zz/b", "/a%2"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.url("web")+"/", nil)
			req.URL.Opaque = path // sent as :path exactly
			resp, body := do(t, c, req)
			if resp.ProtoMajor != 2 {
				t.Fatalf("got %s, want HTTP/2", resp.Proto)
			}
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, body) != "bad_path" {
				t.Errorf("got %d %s, want 400 bad_path", resp.StatusCode, body)
			}
		})
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("upstream received %d requests, want none:\n%v", len(got), got)
	}
}
