package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/h1"
)

// FuzzRequestHead checks that a request checkWire accepts is written as
// exactly one HTTP/1.1 request that a strict parser reads back with the
// same method, target, Host and field, and no body: nothing in an HTTP/2
// client's request can end the head early or smuggle a second request.
func FuzzRequestHead(f *testing.F) {
	f.Add("GET", "/a?b=c", "example.com", "X-Custom", "v")
	f.Add("POST", "/a b#c", "[::1]:8080", "accept", " text/html\t")
	f.Add("PUT", "/\xc3\xa9", "h", "Transfer-Encoding", "chunked")
	f.Add("GET", "/x", "h", "X", "a\r\nContent-Length: 5")
	f.Add("GET", "/x", "h", "Content-Length", "5")
	f.Add("G T", "/x", "h", "X", "y")
	f.Fuzz(func(t *testing.T, method, target, host, name, value string) {
		k := textproto.CanonicalMIMEHeaderKey(name)
		rq := &rtRequest{method: method, target: "/" + target, host: host, header: http.Header{k: {value}}}
		if checkWire(rq) != nil || !h1Accepts(method, host) {
			return
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		writeRequestHead(w, rq, host)
		w.Flush()
		buf.WriteString("GET /next HTTP/1.1\r\nHost: next\r\n\r\n")
		r := h1.NewReader(&buf, 64<<10)
		var req h1.Request
		lim := h1.Limits{MaxHeaderBytes: 64 << 10, MaxURIBytes: 64 << 10, MaxHeaders: 100}
		if err := r.ReadRequest(&req, lim); err != nil {
			t.Fatalf("written head %q does not parse: %v", buf.String(), err)
		}
		got := []any{string(req.Method), string(req.Host), req.ContentLength, req.Chunked}
		if diff := cmp.Diff([]any{method, host, int64(0), false}, got); diff != "" {
			t.Fatalf("method, host, length, chunked (-want +got):\n%s", diff)
		}
		if v, ok := req.Header(strings.ToLower(k)); ok != forwarded(k) || ok && string(v) != strings.Trim(value, " \t") {
			t.Fatalf("field %q: got %q (present %v), want %q (present %v)", k, v, ok, value, forwarded(k))
		}
		if err := r.ReadRequest(&req, lim); err != nil || string(req.Target) != "/next" {
			t.Fatalf("the next request: got %q, %v; want /next", req.Target, err)
		}
	})
}

// h1Accepts reports whether the h1 parser takes a request with this
// method and Host at all (its Host rules are stricter than the ones checkWire
// shares with net/http).
func h1Accepts(method, host string) bool {
	r := h1.NewReader(strings.NewReader(method+" / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"), 64<<10)
	var req h1.Request
	return r.ReadRequest(&req, h1.Limits{MaxHeaderBytes: 64 << 10, MaxURIBytes: 64 << 10}) == nil
}

// forwarded reports whether writeRequestHead copies a field named k.
func forwarded(k string) bool {
	switch k {
	case "Host", "Content-Length", "Expect", "Te":
		return false
	}
	return !hopByHopCanonical(k, nil)
}
