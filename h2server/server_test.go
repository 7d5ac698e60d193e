package h2server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// Behaviour of pylon's server beyond the conformance kit: shutdown, idle
// connections, stream deadlines, the stream limit.

// startServer serves h on a loopback listener with cfg and returns the
// address and the server.
func startServer(t *testing.T, cfg Config, h http.Handler) (string, *Server) {
	t.Helper()
	cfg.Handler = h
	s := New(cfg)
	srv := startKitServer(t, func(c net.Conn, _ http.Handler) { s.ServeConn(c) }, h)
	return srv.addr, s
}

func TestShutdownFinishesOpenStreamsAndRefusesNewOnes(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	started := make(chan struct{}, 1)
	addr, s := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trySignal(started)
		<-release
		io.WriteString(w, "finished")
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "GET", "/slow", true)
	await(t, started, "the handler to start")

	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown(context.Background()) }()
	rc.readUntil("a GOAWAY", func() bool { return rc.goAway != nil })
	if rc.goAway.code != http2.ErrCodeNo || rc.goAway.lastStreamID != 1 {
		t.Fatalf("GOAWAY: code %v, last stream %d; want NO_ERROR and 1", rc.goAway.code, rc.goAway.lastStreamID)
	}
	// A stream opened after the GOAWAY is not served (the GOAWAY's last
	// stream ID tells the client it may send it elsewhere).
	rc.request(3, "GET", "/late", true)
	rc.sync()
	if st := rc.stream(3); st.status != 0 || st.endStream {
		t.Fatalf("a stream after GOAWAY was answered: %s", st)
	}
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned (%v) while a stream was open", err)
	default:
	}
	once.Do(func() { close(release) })
	expectResponse(t, rc.waitStream(1), 200, "finished")
	if err := await(t, shutdown, "Shutdown to return"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := rc.readFrame(); err == nil {
		t.Fatal("the connection stayed open after its last stream")
	}
}

func TestShutdownDeadlineClosesConnections(t *testing.T) {
	canceled := make(chan struct{})
	addr, s := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(canceled)
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "GET", "/forever", true)
	rc.sync()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline error", err)
	}
	await(t, canceled, "the handler's context to be cancelled")
}

func TestIdleConnectionIsClosedWithGoAway(t *testing.T) {
	addr, _ := startServer(t, Config{IdleTimeout: 100 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "GET", "/", true)
	expectResponse(t, rc.waitStream(1), 200, "ok")
	rc.readUntil("a GOAWAY", func() bool { return rc.goAway != nil || rc.readErr != nil })
	if rc.goAway == nil || rc.goAway.code != http2.ErrCodeNo || rc.goAway.lastStreamID != 1 {
		t.Fatalf("want GOAWAY NO_ERROR with last stream 1 before the close; %s", rc.describe())
	}
}

// TestSetTimeoutsReachOpenConnections: a reload that changes a listener's
// timeouts reaches the HTTP/2 connections it is serving, not only the
// ones that arrive afterwards.
func TestSetTimeoutsReachOpenConnections(t *testing.T) {
	writeErr := make(chan error, 1)
	addr, s := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, err := w.Write(make([]byte, 1000))
			writeErr <- err
			return
		}
		io.WriteString(w, "ok")
	}))
	rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	rc.request(1, "GET", "/", true)
	if st := rc.waitStream(1); st.status != 200 {
		t.Fatalf("first request: %s", st)
	}
	s.SetTimeouts(0, 200*time.Millisecond, 100*time.Millisecond)

	// The write timeout: a stream without window is reset.
	rc.autoWindow = false
	rc.request(3, "GET", "/big", true)
	if err := await(t, writeErr, "the blocked write to fail"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write with no window past the new write timeout returned %v, want a deadline error", err)
	}
	if st := rc.waitStream(3); !st.rst || st.rstCode != http2.ErrCodeCancel {
		t.Fatalf("want the stream reset with CANCEL, got %s", st)
	}
	// The idle timeout: with no stream open, the connection goes away.
	rc.readUntil("a GOAWAY", func() bool { return rc.goAway != nil || rc.readErr != nil })
	if rc.goAway == nil || rc.goAway.code != http2.ErrCodeNo {
		t.Fatalf("want GOAWAY NO_ERROR after the new idle timeout; %s", rc.describe())
	}
}

// TestEndStreamSendsTheResponseBeforeTheHandlerReturns: a handler that
// ends its response and then goes on working (logging) does not hold
// the client's response, trailers included; writes after it fail.
func TestEndStreamSendsTheResponseBeforeTheHandlerReturns(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	writeAfter := make(chan error, 1)
	addr, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "whole")
		w.Header().Set("X-Sum", "5")
		w.(interface{ EndStream() }).EndStream()
		w.(interface{ EndStream() }).EndStream() // a second call does nothing
		_, err := io.WriteString(w, "late")
		writeAfter <- err
		<-release
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "GET", "/", true)
	st := rc.waitStream(1)
	expectResponse(t, st, 200, "whole")
	if len(st.trailer) != 1 || st.trailer[0].Name != "x-sum" || st.trailer[0].Value != "5" {
		t.Errorf("trailers %v, want x-sum: 5", st.trailer)
	}
	if err := await(t, writeAfter, "the write after EndStream"); err == nil {
		t.Error("a write after EndStream succeeded")
	}
	frames := len(st.events)
	once.Do(func() { close(release) })
	// The handler's return sends nothing more on the stream; the
	// connection serves the next request.
	rc.request(3, "GET", "/", true)
	expectResponse(t, rc.waitStream(3), 200, "whole")
	if len(st.events) != frames {
		t.Errorf("stream 1 got more frames after the handler returned: %s", st)
	}
}

func TestWriteDeadlineResetsBlockedStream(t *testing.T) {
	writeErr := make(chan error, 1)
	addr, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		// The client gives a window of 10 bytes: the write blocks until
		// the deadline resets the stream.
		_, err := w.Write(make([]byte, 1000))
		writeErr <- err
	}))
	rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	rc.autoWindow = false
	rc.request(1, "GET", "/", true)
	if err := await(t, writeErr, "the blocked write to fail"); err == nil {
		t.Fatal("a write blocked past its deadline succeeded")
	}
	if st := rc.waitStream(1); !st.rst {
		t.Fatalf("want the stream reset at the write deadline, got %s", st)
	}
}

func TestWriteTimeoutResetsAStreamWithoutWindow(t *testing.T) {
	writeErr := make(chan error, 1)
	addr, _ := startServer(t, Config{WriteTimeout: 100 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The client gives a window of 10 bytes and never more: the write
		// blocks until the write timeout resets the stream.
		_, err := w.Write(make([]byte, 1000))
		writeErr <- err
	}))
	rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	rc.autoWindow = false
	rc.request(1, "GET", "/", true)
	if err := await(t, writeErr, "the blocked write to fail"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write with no window past the write timeout returned %v, want a deadline error", err)
	}
	st := rc.waitStream(1)
	if !st.rst || st.rstCode != http2.ErrCodeCancel {
		t.Fatalf("want the stream reset with CANCEL, got %s", st)
	}
	// The connection is still good for other streams.
	if !rc.alive() {
		t.Fatalf("the connection closed: %s", rc.describe())
	}
}

func TestWriteTimeoutClosesAConnectionThatStopsReading(t *testing.T) {
	writeErr := make(chan error, 1)
	addr, _ := startServer(t, Config{WriteTimeout: 200 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// More than the socket buffers hold: with a client that reads
		// nothing, a flush blocks until the write timeout.
		buf := make([]byte, 1<<20)
		var err error
		for i := 0; i < 64 && err == nil; i++ {
			_, err = w.Write(buf)
			if err == nil {
				err = http.NewResponseController(w).Flush()
			}
		}
		writeErr <- err
	}))
	// A big window, and then no reading at all.
	rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	rc.windowUpdate(0, 1<<31-1-65535)
	rc.request(1, "GET", "/", true)
	err := await(t, writeErr, "the handler's writes to fail")
	if err == nil {
		t.Fatal("64 MiB went to a client that read nothing")
	}
	// The server closed the connection: reading what it buffered ends in
	// an error rather than more frames forever.
	rc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, rc.conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the rest of the connection: %v", err)
	}
}

// TestPastWriteDeadlineResetsAtOnce: a handler that sets a write deadline
// in the past and returns ends its stream with RST_STREAM, not with a
// clean END_STREAM (the tunnel handler relies on this, as on net/http's
// server, to show its caller an error).
func TestPastWriteDeadlineResetsAtOnce(t *testing.T) {
	addr, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		rc := http.NewResponseController(w)
		rc.Flush()
		rc.SetWriteDeadline(time.Now())
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "GET", "/", true)
	st := rc.waitStream(1)
	if !st.rst || st.endStream {
		t.Fatalf("want the stream reset, not ended; got %s", st)
	}
}

func TestReadDeadline(t *testing.T) {
	first := make(chan error, 1)
	type result struct {
		err  error
		body string
	}
	rest := make(chan result, 1)
	addr, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		_, err := r.Body.Read(make([]byte, 10))
		first <- err
		// Lifting the deadline lets reads wait again.
		rc.SetReadDeadline(time.Time{})
		b, err := io.ReadAll(r.Body)
		rest <- result{err, string(b)}
		io.WriteString(w, "done")
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "POST", "/", false)
	if err := await(t, first, "the first read"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	rc.data(1, true, []byte("late body"))
	if out := await(t, rest, "the read after the deadline was lifted"); out.err != nil || out.body != "late body" {
		t.Fatalf("read after the deadline was lifted = %q, %v; want the body", out.body, out.err)
	}
	expectResponse(t, rc.waitStream(1), 200, "done")
}

func TestStreamsOverTheLimitAreRefused(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr, _ := startServer(t, Config{MaxConcurrentStreams: 2}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	rc := dialRaw(t, addr)
	if got := rc.peerSettings[http2.SettingMaxConcurrentStreams]; got != 2 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want 2", got)
	}
	rc.request(1, "GET", "/", true)
	rc.request(3, "GET", "/", true)
	rc.request(5, "GET", "/", true)
	if st := rc.waitStream(5); !st.rst || st.rstCode != http2.ErrCodeRefusedStream {
		t.Fatalf("the third stream: want RST_STREAM REFUSED_STREAM, got %s", st)
	}
	if !rc.alive() {
		t.Fatalf("the connection went away: %s", rc.describe())
	}
}

func TestHandlerPanicResetsOnlyItsStream(t *testing.T) {
	addr, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("handler bug")
		}
		io.WriteString(w, "fine")
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "GET", "/panic", true)
	if st := rc.waitStream(1); !st.rst || st.rstCode != http2.ErrCodeInternal {
		t.Fatalf("a panicking handler: want RST_STREAM INTERNAL_ERROR, got %s", st)
	}
	rc.request(3, "GET", "/", true)
	expectResponse(t, rc.waitStream(3), 200, "fine")
}

// TestFramesAfterAnEarlyAnswerAreIgnored: a handler that answers before
// the request body has arrived ends the stream with RST_STREAM(NO_ERROR);
// body and trailers the client had already sent are ignored, and the
// connection goes on (RFC 9113 5.4.2 and 8.1).
func TestFramesAfterAnEarlyAnswerAreIgnored(t *testing.T) {
	addr, s := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "early")
	}))
	rc := dialRaw(t, addr)
	rc.request(1, "POST", "/upload", false)
	st := rc.waitStream(1)
	expectResponse(t, st, 200, "early")
	rc.readUntil("the RST_STREAM that ends the request", func() bool { return st.rst })
	if st.rstCode != http2.ErrCodeNo {
		t.Fatalf("RST_STREAM %v after a complete response, want NO_ERROR", st.rstCode)
	}
	// The late frames must find the stream gone from the server's table,
	// as they would from a client further away.
	for deadline := time.Now().Add(kitTimeout); openStreams(s) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream stayed open after its handler returned")
		}
	}
	rc.data(1, false, []byte("late body"))
	rc.writeHeaders(1, true, "x-checksum", "abc")
	rc.sync()
	if !rc.alive() {
		t.Fatalf("the connection went away over frames sent before the reset: %s", rc.describe())
	}
	if len(st.events) > 0 && strings.Contains(st.events[len(st.events)-1], "STREAM_CLOSED") {
		t.Fatalf("the server answered the late frames with %s", st)
	}
	rc.request(3, "GET", "/", true)
	expectResponse(t, rc.waitStream(3), 200, "early")
}

// openStreams counts the streams open on s's connections.
func openStreams(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		c.mu.Lock()
		n += len(c.streams)
		c.mu.Unlock()
	}
	return n
}

// TestReadersExitWhenTheServerCloses: the goroutines kept for the next
// reader do not outlive the server.
func TestReadersExitWhenTheServerCloses(t *testing.T) {
	addr, s := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	rc := dialRaw(t, addr)
	for id := uint32(1); id <= 9; id += 2 {
		rc.request(id, "GET", "/", true)
		expectResponse(t, rc.waitStream(id), 200, "ok")
	}
	if n := readerGoroutines(s); n == 0 {
		t.Fatal("no goroutine waits to read after five requests")
	}
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for readerGoroutines(s) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d reader goroutines still run 5s after Close", readerGoroutines(s))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readerGoroutines counts the goroutines in s's readers.run.
func readerGoroutines(s *Server) int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), fmt.Sprintf("h2server.(*readers).run(%p", s.readers))
}

// TestTooLargeAnswersAnOversizedHeaderBlock: a request whose header block
// is over MaxHeaderListSize goes to TooLarge, with the fields decoded
// before the limit, and the connection goes on.
func TestTooLargeAnswersAnOversizedHeaderBlock(t *testing.T) {
	type seen struct{ method, uri, path, first string }
	got := make(chan seen, 1)
	cfg := Config{
		MaxHeaderListSize: 4096,
		TooLarge: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- seen{r.Method, r.RequestURI, r.URL.Path, r.Header.Get("X-First")}
			w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
			io.WriteString(w, "too large")
		}),
	}
	addr, _ := startServer(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			t.Errorf("the handler got %s %s", r.Method, r.RequestURI)
		}
		io.WriteString(w, "fine")
	}))
	rc := dialRaw(t, addr)
	pairs := []string{":method", "POST", ":scheme", "http", ":authority", rc.authority, ":path", "/big?q=1", "x-first", "1"}
	for i := range 4 {
		pairs = append(pairs, fmt.Sprintf("x-filler-%d", i), strings.Repeat("v", 2000))
	}
	if err := rc.writeBlock(1, false, rc.encode(pairs...)); err != nil {
		t.Fatal(err)
	}
	expectResponse(t, rc.waitStream(1), 431, "too large")
	want := seen{"POST", "/big?q=1", "/big", "1"}
	if s := <-got; s != want {
		t.Errorf("TooLarge saw %+v, want %+v", s, want)
	}
	// The body the client goes on sending is ignored, and HPACK state
	// stayed in step: the next request is served.
	rc.data(1, true, []byte("body"))
	rc.request(3, "GET", "/", true)
	expectResponse(t, rc.waitStream(3), 200, "fine")
}
