package dataplane

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorder is an upstream that records every byte it receives and answers
// each request it can parse with a small response.
type recorder struct {
	ln net.Listener
	mu sync.Mutex
	// got holds the bytes of every connection, in order of arrival.
	got []*bytes.Buffer
}

func newRecorder(tb testing.TB) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &recorder{ln: ln}
	tb.Cleanup(func() { ln.Close() })
	go r.serve()
	return r
}

func (r *recorder) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		buf := &bytes.Buffer{}
		r.mu.Lock()
		r.got = append(r.got, buf)
		r.mu.Unlock()
		go func() {
			defer c.Close()
			br := bufio.NewReader(io.TeeReader(c, lockedWriter{&r.mu, buf}))
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
					return
				}
			}
		}()
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// forwarded returns a copy of everything the upstream received.
func (r *recorder) forwarded() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, b := range r.got {
		out = append(out, bytes.Clone(b.Bytes()))
	}
	return out
}

// FuzzForwardedRequestsAreWellFormed sends arbitrary bytes to a gateway and
// checks what reached the upstream: every byte pylon forwards must parse,
// with net/http's parser, as a sequence of complete HTTP/1.1 requests,
// nothing left over. A request pylon let through in a form an upstream
// could read differently (smuggling, header injection, bad framing) fails
// this check.
func FuzzForwardedRequestsAreWellFormed(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://other/abs?q=1 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://other/%bs?q=1 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Request-Id: abc\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	up := newRecorder(f)
	gw := startBenchGateway(f, up.ln.Addr().String())
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", gw)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write(in)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c) // until pylon closes: every request it read is done
		c.Close()
		// Bytes of a request pylon aborted (a bad chunk mid-body) may still
		// be on their way to the recorder.
		time.Sleep(20 * time.Millisecond)
		// Requests ride pooled upstream connections, so the bytes of this
		// input may follow earlier ones on a connection; each connection's
		// bytes as a whole must parse.
		for i, b := range up.forwarded() {
			if err := wellFormed(b); err != nil {
				t.Fatalf("upstream connection %d: %v\ninput: %q\nforwarded: %q", i, err, in, b)
			}
		}
	})
}

// wellFormed checks that b is a sequence of complete HTTP/1.1 requests as
// net/http reads them. Only the last may end early, in its body: pylon
// closes the upstream connection when a client's body turns out bad, and
// an upstream reads that as a cut request, not as a different one.
func wellFormed(b []byte) error {
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return nil
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return fmt.Errorf("bytes net/http cannot parse as a request head: %w", err)
		}
		_, err = io.Copy(io.Discard, req.Body)
		if err == io.ErrUnexpectedEOF {
			if _, perr := br.Peek(1); perr == io.EOF {
				return nil // the last request, cut off
			}
		}
		if err != nil {
			return fmt.Errorf("a malformed forwarded body: %w", err)
		}
	}
}

// serveEach listens on loopback and runs handle on a goroutine of its own
// for each connection, until the test or benchmark ends; it closes the
// connection once handle returns.
func serveEach(tb testing.TB, handle func(net.Conn)) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln
}

// hostileUpstream answers every request head it reads with the bytes it
// was given (set), then closes the connection.
type hostileUpstream struct {
	ln      net.Listener
	mu      sync.Mutex
	respond []byte
}

func newHostileUpstream(tb testing.TB) *hostileUpstream {
	u := &hostileUpstream{}
	u.ln = serveEach(tb, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			c.Write(u.get())
		}
	})
	return u
}

func (u *hostileUpstream) set(b []byte) {
	u.mu.Lock()
	u.respond = b
	u.mu.Unlock()
}

func (u *hostileUpstream) get() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.respond
}

// clientExchange sends request to the gateway at gw as a raw client that
// then sends nothing more, and returns all pylon sent back until it
// closed. upstreamSent is what the upstream was told to answer, for the
// failure message.
func clientExchange(t *testing.T, gw, request string, upstreamSent []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	// A tunnel ends once the upstream has closed too; a connection kept
	// alive after a refusal closes.
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading what pylon sent: %v\nupstream sent: %q", err, upstreamSent)
	}
	return got
}

// FuzzForwardedResponsesAreWellFormed has an upstream answer a GET with
// arbitrary bytes and checks what reached the client: one final response
// (after any 1xx), framed so that net/http reads it as one (no
// Content-Length beside Transfer-Encoding, no bare LF, no folded line),
// and nothing after it. An upstream's bytes that pylon passed on in a
// form the client could split differently (response splitting, a second
// response hidden in a body) fail this check. A body cut short is
// allowed: the client sees it end early, not a different response.
func FuzzForwardedResponsesAreWellFormed(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nread until close",
		"HTTP/1.0 200 OK\r\nX-A: 1\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	up := newHostileUpstream(f)
	gw := startBenchGatewayWith(f, up.ln.Addr().String(), ", timeout: 2s", "", "")
	f.Fuzz(func(t *testing.T, in []byte) {
		up.set(in)
		got := clientExchange(t, gw, "GET /f HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", in)
		if err := wellFormedResponse(got); err != nil {
			t.Fatalf("%v\nupstream sent: %q\nclient got: %q", err, in, got)
		}
	})
}

// wellFormedResponse checks that b is any number of 1xx responses but 101,
// then one final response whose body net/http reads to its end or to a cut,
// and nothing after it.
func wellFormedResponse(b []byte) error { return wellFormedAnswer(b, false) }

// wellFormedAnswer is wellFormedResponse for a request that asked to
// upgrade when upgrade is set: a 101 may then be the final response, and
// what follows its head is the upgraded protocol's, not HTTP.
func wellFormedAnswer(b []byte, upgrade bool) error {
	// One buffer holds all of b, so what Peek returns is all that is left.
	br := bufio.NewReaderSize(bytes.NewReader(b), len(b)+16)
	req, _ := http.NewRequest(http.MethodGet, "http://a/f", nil)
	for {
		br.Peek(1)
		rest, _ := br.Peek(br.Buffered())
		head, _, ok := bytes.Cut(rest, []byte("\r\n\r\n"))
		if !ok {
			return fmt.Errorf("no complete response head")
		}
		if err := cleanHead(head); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return fmt.Errorf("a response head net/http cannot read: %w", err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			if !upgrade {
				return fmt.Errorf("101 to a request that asked for no upgrade")
			}
			if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
				return fmt.Errorf("101 switching to %q, not the websocket the client asked for", resp.Header.Get("Upgrade"))
			}
			return nil
		}
		if resp.StatusCode < 200 {
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		if err == io.ErrUnexpectedEOF {
			return nil // the body cut short: the client sees it end early
		}
		if err != nil {
			return fmt.Errorf("a malformed response body: %w", err)
		}
		if extra, _ := br.Peek(1); len(extra) > 0 {
			left, _ := br.Peek(br.Buffered())
			return fmt.Errorf("%d bytes after the final response: %q", len(left), left)
		}
		return nil
	}
}

// cleanHead refuses a response head that parsers could read differently:
// a bare LF, a folded line, or both Content-Length and Transfer-Encoding.
func cleanHead(head []byte) error {
	var cl, te bool
	for i, line := range bytes.Split(head, []byte("\r\n")) {
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return fmt.Errorf("a bare CR or LF in response head line %q", line)
		}
		if i == 0 {
			continue
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			return fmt.Errorf("a folded response head line %q", line)
		}
		name, _, _ := bytes.Cut(line, []byte(":"))
		cl = cl || bytes.EqualFold(name, []byte("Content-Length"))
		te = te || bytes.EqualFold(name, []byte("Transfer-Encoding"))
	}
	if cl && te {
		return fmt.Errorf("both Content-Length and Transfer-Encoding in a response head: %q", head)
	}
	return nil
}

// TestWellFormedResponse: the fuzz test's check refuses each kind of
// client byte stream it exists to catch.
func TestWellFormedResponse(t *testing.T) {
	for _, tc := range []struct {
		name, b string
		ok      bool
	}{
		{"one response", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		{"103 then the response", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
		{"a body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", true},
		{"a second response after the first", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false},
		{"Content-Length and Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"a bare LF", "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n", false},
		{"a folded line", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", false},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false},
		{"no head", "HTTP/1.1 200 OK\r\n", false},
		{"a bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false},
	} {
		if err := wellFormedResponse([]byte(tc.b)); (err == nil) != tc.ok {
			t.Errorf("%s: wellFormedResponse = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestWellFormedUpgradeAnswer: after an upgrade request the check takes a
// 101 to websocket as the end of HTTP, and refuses one to anything else.
func TestWellFormedUpgradeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, b string
		ok      bool
	}{
		{"101 to websocket, then frames", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi", true},
		{"a refusal", "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n", true},
		{"101 to another protocol", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", false},
		{"101 with a bare LF", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\nConnection: Upgrade\r\n\r\n", false},
	} {
		if err := wellFormedAnswer([]byte(tc.b), true); (err == nil) != tc.ok {
			t.Errorf("%s: wellFormedAnswer = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// FuzzForwardedUpgradeAnswersAreWellFormed is
// FuzzForwardedResponsesAreWellFormed for a WebSocket upgrade request: the
// client gets a clean 101 that names the protocol it asked for (what
// follows is the tunnel's), or a well-formed refusal.
func FuzzForwardedUpgradeAnswersAreWellFormed(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A: 1\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	up := newHostileUpstream(f)
	gw := startBenchGatewayWith(f, up.ln.Addr().String(), ", timeout: 2s", "", "")
	f.Fuzz(func(t *testing.T, in []byte) {
		up.set(in)
		got := clientExchange(t, gw, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", in)
		if err := wellFormedAnswer(got, true); err != nil {
			t.Fatalf("%v\nupstream sent: %q\nclient got: %q", err, in, got)
		}
	})
}

// TestResponseFieldsNamedInConnection: what an upstream's Connection field
// names is dropped from the response (RFC 9110 7.6.1), and the rest kept.
func TestResponseFieldsNamedInConnection(t *testing.T) {
	up := newHostileUpstream(t)
	gw := startBenchGatewayWith(t, up.ln.Addr().String(), ", timeout: 2s", "", "")
	for _, tt := range []struct {
		connection string
		dropped    bool
	}{
		{"X-Hop", true},
		{"keep-alive, x-hop", true},
		{"close, X-Hop", true},
		{"keep-alive", false},
	} {
		in := []byte("HTTP/1.1 200 OK\r\nConnection: " + tt.connection + "\r\nX-Hop: secret\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok")
		up.set(in)
		got := clientExchange(t, gw, "GET /f HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", in)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
		if err != nil {
			t.Fatalf("Connection %q: %v in %q", tt.connection, err, got)
		}
		if resp.Header.Get("X-Kept") != "yes" {
			t.Errorf("Connection %q: X-Kept lost: %q", tt.connection, got)
		}
		if _, ok := resp.Header["X-Hop"]; ok == tt.dropped {
			t.Errorf("Connection %q: X-Hop forwarded %v, want %v: %q", tt.connection, ok, !tt.dropped, got)
		}
	}
}
