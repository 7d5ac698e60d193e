package proxy

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/h1"
)

// scriptUpstream is an HTTP/1.1 upstream whose answers are written by the
// test byte for byte, so it can misbehave in exact ways. It counts the
// connections it accepts and keeps the request heads it read.
type scriptUpstream struct {
	addr    string
	accepts atomic.Int32
	mu      sync.Mutex
	heads   []string
}

// newScriptUpstream serves each request with answer, which writes the
// response and reports whether the connection stays open.
func newScriptUpstream(t testing.TB, answer func(c net.Conn, req *h1.Request) bool) *scriptUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &scriptUpstream{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepts.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u.serve(c, answer)
			}()
		}
	}()
	return u
}

func (u *scriptUpstream) serve(c net.Conn, answer func(c net.Conn, req *h1.Request) bool) {
	r := h1.NewReader(c, 64<<10)
	var req h1.Request
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if r.ReadRequest(&req, h1.DefaultLimits) != nil {
			return
		}
		head := string(req.Method) + " " + string(req.Target)
		for _, f := range req.Headers {
			head += "\n" + string(f.Name) + ": " + string(f.Value)
		}
		u.mu.Lock()
		u.heads = append(u.heads, head)
		u.mu.Unlock()
		if _, err := io.Copy(io.Discard, r.BodyReader(req.ContentLength, req.Chunked)); err != nil {
			return
		}
		if !answer(c, &req) {
			return
		}
	}
}

// lastHead returns the head of the last request read.
func (u *scriptUpstream) lastHead() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.heads) == 0 {
		return ""
	}
	return u.heads[len(u.heads)-1]
}

// answerWith writes resp to every request and keeps the connection open
// unless closeAfter.
func answerWith(resp string, closeAfter bool) func(net.Conn, *h1.Request) bool {
	return func(c net.Conn, _ *h1.Request) bool {
		c.Write([]byte(resp))
		return !closeAfter
	}
}

// h2h1Env is a pylon server whose plaintext listener forwards every request
// to one HTTP/1.1 upstream, and an HTTP/2 (h2c) client of it.
type h2h1Env struct {
	url    string
	client *http.Client
	log    *tryLog
}

// tryLog is an Observer keeping what the access log would show of the
// forwarding of each request.
type tryLog struct {
	mu      sync.Mutex
	records []tryRecord
	// hold, when set, keeps Observe from returning until it is closed.
	hold chan struct{}
}

// tryRecord is one request's record, copied out.
type tryRecord struct {
	Status   int
	Code     string
	Endpoint string
	Retries  int
	BytesIn  int64
	BytesOut int64
}

func (l *tryLog) Observe(r *Record) {
	rec := tryRecord{Status: r.Status, Endpoint: r.Endpoint, Retries: r.Retries, BytesIn: r.BytesIn, BytesOut: r.BytesOut}
	if r.Err != nil {
		rec.Code = string(r.Err.Code)
	}
	l.mu.Lock()
	l.records = append(l.records, rec)
	l.mu.Unlock()
	if l.hold != nil {
		<-l.hold
	}
}

// wait returns the first n records, waiting for them a while: the server
// records a request once its handler has returned, a moment after the
// client saw the end.
func (l *tryLog) wait(t testing.TB, n int) []tryRecord {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		got := append([]tryRecord(nil), l.records...)
		l.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
	}
}

// newH2H1Env starts pylon in front of the upstream at addr; edit may
// change the listener (its route, limits) before it serves.
func newH2H1Env(t testing.TB, addr string, edit func(lc *ListenerConfig)) *h2h1Env {
	e := &h2h1Env{log: &tryLog{}}
	lc := testListener(t, "plain", testService(t, addr))
	if edit != nil {
		edit(lc)
	}
	srv := NewServer(slog.New(slog.DiscardHandler))
	srv.Store(&Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}, Observer: e.log})
	e.url = "http://" + serveOn(t, srv, "plain")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p, DisableCompression: true, ExpectContinueTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	e.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return e
}

// do sends a request and reads the whole response body.
func (e *h2h1Env) do(t testing.TB, method, path string, body io.Reader) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// bufioWriter returns a small buffered writer to w.
func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 16) }
