package dataplane

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
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
