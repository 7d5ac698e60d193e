package h1

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRequestRefuses(t *testing.T) {
	const h = "Host: a\r\n"
	bigLim := Limits{MaxHeaderBytes: 64 << 10, MaxURIBytes: 8 << 10, MaxHeaders: 100}
	tests := []struct {
		name string
		raw  string
		want errView
	}{
		{"CL.TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE.CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"xchunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"space before colon", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n", errView{400, CodeBadRequest}},
		{"TE twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE chunked, identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE chunked, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE trailing comma", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked,\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE quoted", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \"chunked\"\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE vertical tab", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \vchunked\r\n\r\n", errView{400, CodeBadRequest}},
		{"TE gzip only", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", errView{501, CodeUnsupportedTransferCoding}},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"CL differing", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"CL list differing", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 6\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"CL plus", "POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\n", errView{400, CodeBadRequest}},
		{"CL minus", "POST / HTTP/1.1\r\n" + h + "Content-Length: -5\r\n\r\n", errView{400, CodeBadRequest}},
		{"CL hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x5\r\n\r\n", errView{400, CodeBadRequest}},
		{"CL inner space", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 0\r\n\r\n", errView{400, CodeBadRequest}},
		{"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", errView{400, CodeBadRequest}},
		{"CL empty element", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5,,5\r\n\r\n", errView{400, CodeBadRequest}},
		{"CL overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 9223372036854775808\r\n\r\n", errView{400, CodeBadRequest}},
		{"bare LF after request line", "GET / HTTP/1.1\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"bare LF in fields", "GET / HTTP/1.1\r\nHost: a\n\r\n", errView{400, CodeBadRequest}},
		{"bare LF end", "GET / HTTP/1.1\r\nHost: a\r\n\n", errView{400, CodeBadRequest}},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", errView{400, CodeBadRequest}},
		{"bare CR line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", errView{400, CodeBadRequest}},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", errView{400, CodeBadRequest}},
		{"whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", errView{400, CodeBadRequest}},
		{"Host twice", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errView{400, CodeMissingHost}},
		{"Host missing", "GET / HTTP/1.1\r\n\r\n", errView{400, CodeMissingHost}},
		{"Host empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", errView{400, CodeMissingHost}},
		{"Host twice in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", errView{400, CodeMissingHost}},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", errView{400, CodeBadRequest}},
		{"Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errView{400, CodeBadRequest}},
		{"Host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", errView{400, CodeBadRequest}},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", errView{400, CodeBadRequest}},
		{"DEL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x7fb\r\n\r\n", errView{400, CodeBadRequest}},
		{"NUL in target", "GET /\x00 HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"space in name", "GET / HTTP/1.1\r\n" + h + "X Y: z\r\n\r\n", errView{400, CodeBadRequest}},
		{"tab before colon", "GET / HTTP/1.1\r\n" + h + "X\t: z\r\n\r\n", errView{400, CodeBadRequest}},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": z\r\n\r\n", errView{400, CodeBadRequest}},
		{"no colon", "GET / HTTP/1.1\r\n" + h + "X\r\n\r\n", errView{400, CodeBadRequest}},
		{"double SP", "GET  / HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"tab separator", "GET\t/ HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"trailing SP", "GET / HTTP/1.1 \r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"lower-case version", "GET / http/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"no version", "GET /\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", errView{505, CodeVersionNotSupported}},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + h + "\r\n", errView{505, CodeVersionNotSupported}},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", errView{505, CodeVersionNotSupported}},
		{"method not token", "G(T / HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"relative target", "GET a/b HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"fragment", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"asterisk on GET", "GET * HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"authority on GET", "GET a:80 HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"CONNECT origin-form", "CONNECT / HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"CONNECT without port", "CONNECT a HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"absolute with userinfo", "GET http://u@a/ HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"absolute empty authority", "GET http:///a HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"ftp scheme", "GET ftp://a/ HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"Expect other", "GET / HTTP/1.1\r\n" + h + "Expect: 200-ok\r\n\r\n", errView{417, CodeExpectationFailed}},
		{"bad Connection", "GET / HTTP/1.1\r\n" + h + "Connection: a b\r\n\r\n", errView{400, CodeBadRequest}},
		{"too many empty lines", strings.Repeat("\r\n", 6) + "GET / HTTP/1.1\r\n" + h + "\r\n", errView{400, CodeBadRequest}},
		{"1 MiB URI", "GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\n" + h + "\r\n", errView{414, CodeURITooLong}},
		{"URI over limit", "GET /" + strings.Repeat("a", 8<<10) + " HTTP/1.1\r\n" + h + "\r\n", errView{414, CodeURITooLong}},
		{"1 MiB header", "GET / HTTP/1.1\r\n" + h + "X: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", errView{431, CodeHeadersTooLarge}},
		{"10,000 headers", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X: y\r\n", 10000) + "\r\n", errView{431, CodeHeadersTooLarge}},
		{"101 headers", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X: y\r\n", 100) + "\r\n", errView{431, CodeHeadersTooLarge}},
		{"long method", strings.Repeat("G", 70<<10) + " / HTTP/1.1\r\n" + h + "\r\n", errView{431, CodeHeadersTooLarge}},
		{"truncated head", "GET / HTTP/1.1\r\nHost: a\r\n", errView{Code: "h1: reading message head: unexpected EOF"}},
		{"empty input", "", errView{Code: "EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseRequest(tt.raw, bigLim)
			if diff := cmp.Diff(tt.want, viewError(err)); diff != "" {
				t.Errorf("got error %v, want %+v (-want +got):\n%s", err, tt.want, diff)
			}
		})
	}
}

func TestReadRequestAccepts(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want reqView
	}{
		{
			name: "browser-like GET",
			raw:  "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nUser-Agent: t\r\n\r\n",
			want: reqView{Method: "GET", Target: "/a/b?x=1&y=2", Path: "/a/b", Query: "x=1&y=2", Host: "example.com", Minor: 1,
				Headers: []string{"Host: example.com", "Accept: */*", "User-Agent: t"}, KeepAlive: true},
		},
		{
			name: "OWS trimmed and tab before chunked",
			raw:  "POST / HTTP/1.1\r\nHost:  a:8080 \r\nTransfer-Encoding:\tchunked \r\n\r\n",
			want: reqView{Method: "POST", Target: "/", Path: "/", Host: "a:8080", Minor: 1,
				Headers: []string{"Host: a:8080", "Transfer-Encoding: chunked"}, ContentLength: -1, Chunked: true, KeepAlive: true},
		},
		{
			name: "TE case-insensitive",
			raw:  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
			want: reqView{Method: "POST", Target: "/", Path: "/", Host: "a", Minor: 1,
				Headers: []string{"Host: a", "Transfer-Encoding: Chunked"}, ContentLength: -1, Chunked: true, KeepAlive: true},
		},
		{
			name: "repeated identical Content-Length collapses",
			raw:  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
			want: reqView{Method: "POST", Target: "/", Path: "/", Host: "a", Minor: 1,
				Headers: []string{"Host: a", "Content-Length: 5, 5", "Content-Length: 5"}, ContentLength: 5, KeepAlive: true},
		},
		{
			name: "HTTP/1.0 without Host closes",
			raw:  "GET / HTTP/1.0\r\n\r\n",
			want: reqView{Method: "GET", Target: "/", Path: "/", Minor: 0},
		},
		{
			name: "HTTP/1.0 keep-alive, Expect and Upgrade ignored",
			raw:  "GET / HTTP/1.0\r\nConnection: Keep-Alive, upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n",
			want: reqView{Method: "GET", Target: "/", Path: "/", Minor: 0, KeepAlive: true,
				Headers: []string{"Connection: Keep-Alive, upgrade", "Upgrade: websocket", "Expect: 100-continue"}},
		},
		{
			name: "Connection close",
			raw:  "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
			want: reqView{Method: "GET", Target: "/", Path: "/", Host: "a", Minor: 1,
				Headers: []string{"Host: a", "Connection: keep-alive, close"}},
		},
		{
			name: "websocket upgrade",
			raw:  "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			want: reqView{Method: "GET", Target: "/ws", Path: "/ws", Host: "a", Minor: 1, Upgrade: "websocket", KeepAlive: true,
				Headers: []string{"Host: a", "Connection: Upgrade", "Upgrade: websocket"}},
		},
		{
			name: "Expect 100-continue",
			raw:  "PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
			want: reqView{Method: "PUT", Target: "/u", Path: "/u", Host: "a", Minor: 1, Expect100: true, ContentLength: 3, KeepAlive: true,
				Headers: []string{"Host: a", "Expect: 100-Continue", "Content-Length: 3"}},
		},
		{
			name: "absolute-form overrides Host",
			raw:  "GET HTTP://target.example:81?q HTTP/1.1\r\nHost: other\r\n\r\n",
			want: reqView{Method: "GET", Target: "HTTP://target.example:81?q", Path: "/", Query: "q", Host: "target.example:81", Minor: 1,
				Headers: []string{"Host: other"}, KeepAlive: true},
		},
		{
			name: "https absolute-form with IPv6",
			raw:  "GET https://[::1]:8443/p/q?r=s HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
			want: reqView{Method: "GET", Target: "https://[::1]:8443/p/q?r=s", Path: "/p/q", Query: "r=s", Host: "[::1]:8443", Minor: 1,
				Headers: []string{"Host: [::1]:8443"}, KeepAlive: true},
		},
		{
			name: "OPTIONS asterisk",
			raw:  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			want: reqView{Method: "OPTIONS", Target: "*", Path: "*", Host: "a", Minor: 1, Headers: []string{"Host: a"}, KeepAlive: true},
		},
		{
			name: "CONNECT authority-form",
			raw:  "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n",
			want: reqView{Method: "CONNECT", Target: "db.internal:5432", Host: "db.internal:5432", Minor: 1,
				Headers: []string{"Host: db.internal:5432"}, KeepAlive: true},
		},
		{
			name: "leading empty lines, empty value, obs-text",
			raw:  "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Text: caf\xc3\xa9\r\n\r\n",
			want: reqView{Method: "GET", Target: "/", Path: "/", Host: "a", Minor: 1, KeepAlive: true,
				Headers: []string{"Host: a", "X-Empty: ", "X-Text: caf\xc3\xa9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _, err := parseRequest(tt.raw, Limits{})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if diff := cmp.Diff(tt.want, viewRequest(req)); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestHeaderLookup(t *testing.T) {
	req, _, err := parseRequest("GET / HTTP/1.1\r\nHost: a\r\nX-Req-ID: 1\r\nx-req-id: 2\r\n\r\n", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want string
		ok   bool
	}{
		{"x-req-id", "1", true},
		{"host", "a", true},
		{"x-missing", "", false},
	}
	for _, tt := range tests {
		v, ok := req.Header(tt.name)
		if string(v) != tt.want || ok != tt.ok {
			t.Errorf("Header(%q) = %q, %v; want %q, %v", tt.name, v, ok, tt.want, tt.ok)
		}
	}
}

// TestURITooLongEarly checks the 414 comes before the request line ends:
// the source never sends a line end.
func TestURITooLongEarly(t *testing.T) {
	src := &endless{prefix: "GET /"}
	r := NewReader(src, 64<<10)
	err := r.ReadRequest(new(Request), Limits{MaxURIBytes: 1024})
	if diff := cmp.Diff(errView{414, CodeURITooLong}, viewError(err)); diff != "" {
		t.Errorf("got %v (-want +got):\n%s", err, diff)
	}
	if src.n > 8<<10 {
		t.Errorf("got %d bytes read, want at most 8 KiB before refusing", src.n)
	}
}

// endless yields prefix then 'a' forever, 512 bytes at a time.
type endless struct {
	prefix string
	n      int
}

func (e *endless) Read(p []byte) (int, error) {
	p = p[:min(len(p), 512)]
	for i := range p {
		if e.n < len(e.prefix) {
			p[i] = e.prefix[e.n]
		} else {
			p[i] = 'a'
		}
		e.n++
	}
	return len(p), nil
}

func TestErrorIsSticky(t *testing.T) {
	raw := "GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
	_, r, err := parseRequest(raw, Limits{})
	if err == nil {
		t.Fatal("got no error, want one")
	}
	if err2 := r.ReadRequest(new(Request), Limits{}); err2 != err {
		t.Errorf("got %v on the next read, want the same error %v", err2, err)
	}
}

// stuck returns no bytes and no error, forever.
type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

func TestSourceWithoutProgress(t *testing.T) {
	r := NewReader(stuck{}, 0)
	if err := r.ReadRequest(new(Request), Limits{}); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("got %v, want io.ErrNoProgress", err)
	}
}
