package h2client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/h2server"
	"golang.org/x/net/http2"
)

// servers are the HTTP/2 servers every test runs against.
var servers = map[string]func(c net.Conn, h http.Handler, shutdown <-chan struct{}){
	"h2server": func(c net.Conn, h http.Handler, shutdown <-chan struct{}) {
		s := h2server.New(h2server.Config{Handler: h})
		go func() { <-shutdown; s.Shutdown(context.Background()) }()
		s.ServeConn(c)
	},
	"x/net": func(c net.Conn, h http.Handler, shutdown <-chan struct{}) {
		//lint:ignore SA1019 x/net's server is a second, independent peer.
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: h})
	},
}

type env struct {
	c        *Conn
	shutdown chan struct{}
	server   net.Conn
	served   chan struct{} // closed when the server is done with the connection
}

func dial(t *testing.T, serve func(net.Conn, http.Handler, <-chan struct{}), h http.Handler, cfg Config) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{shutdown: make(chan struct{}), served: make(chan struct{})}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		accepted <- c
		serve(c, h, e.shutdown)
		close(e.served)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	e.c, err = New(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.server = <-accepted
	t.Cleanup(func() { e.c.Close(); e.server.Close() })
	return e
}

func get(t *testing.T, c *Conn, ctx context.Context, method, path string, body io.Reader) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, "http://test"+path, body)
	resp, err := c.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func forEachServer(t *testing.T, f func(t *testing.T, serve func(net.Conn, http.Handler, <-chan struct{}))) {
	for name, serve := range servers {
		t.Run(name, func(t *testing.T) { f(t, serve) })
	}
}

func TestGetsAndEcho(t *testing.T) {
	forEachServer(t, func(t *testing.T, serve func(net.Conn, http.Handler, <-chan struct{})) {
		e := dial(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Path", r.URL.Path)
			io.Copy(w, r.Body)
			if r.Method == "GET" {
				io.WriteString(w, "hello "+r.URL.Path)
			}
		}), Config{})
		for i := range 50 {
			resp, body, err := get(t, e.c, context.Background(), "GET", fmt.Sprintf("/n%d", i), nil)
			if err != nil || resp.StatusCode != 200 || body != fmt.Sprintf("hello /n%d", i) {
				t.Fatalf("GET %d: %v %v %q", i, err, resp, body)
			}
		}
		big := make([]byte, 5<<20)
		rand.Read(big)
		_, body, err := get(t, e.c, context.Background(), "POST", "/echo", bytes.NewReader(big))
		if err != nil || body != string(big) {
			t.Fatalf("5 MiB echo: %v, %d bytes back", err, len(body))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, body, err := get(t, e.c, context.Background(), "POST", "/c", strings.NewReader(strings.Repeat("x", 100000+i)))
				if err == nil && len(body) != 100000+i {
					err = fmt.Errorf("got %d bytes", len(body))
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// A request body's last frame may still be on its way out (its
		// writer marks the stream's request side done) when the echoed
		// response has been read, so InFlight may take a moment to settle.
		n := e.c.InFlight()
		for end := time.Now().Add(2 * time.Second); n != 0 && time.Now().Before(end); n = e.c.InFlight() {
			time.Sleep(time.Millisecond)
		}
		if n != 0 {
			t.Fatalf("InFlight = %d two seconds after every response was read", n)
		}
	})
}

func TestConnectFullDuplex(t *testing.T) {
	forEachServer(t, func(t *testing.T, serve func(net.Conn, http.Handler, <-chan struct{})) {
		e := dial(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
			buf := make([]byte, 100)
			for {
				n, err := r.Body.Read(buf)
				if n > 0 {
					w.Write(bytes.ToUpper(buf[:n]))
					http.NewResponseController(w).Flush()
				}
				if err != nil {
					return
				}
			}
		}), Config{})
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("CONNECT", "http://db:5432", pr)
		req.Host = "db:5432"
		resp, err := e.c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		for _, word := range []string{"one", "two", "three"} {
			pw.Write([]byte(word))
			n, err := io.ReadAtLeast(resp.Body, buf, len(word))
			if err != nil || string(buf[:n]) != strings.ToUpper(word) {
				t.Fatalf("echo of %q: %q, %v", word, buf[:n], err)
			}
		}
		pw.Close()
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Fatalf("after the request ended: %q, %v", rest, err)
		}
		resp.Body.Close()
	})
}

func TestTrailersBothWays(t *testing.T) {
	forEachServer(t, func(t *testing.T, serve func(net.Conn, http.Handler, <-chan struct{})) {
		e := dial(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "got "+r.Trailer.Get("X-Check"))
		}), Config{})
		req, _ := http.NewRequest("POST", "http://test/", strings.NewReader("data"))
		req.Trailer = http.Header{"X-Check": {"42"}}
		resp, err := e.c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Trailer.Get("X-Sum"); got != "got 42" {
			t.Fatalf("response trailer X-Sum = %q, want %q", got, "got 42")
		}
	})
}

func TestCancelWhileWaiting(t *testing.T) {
	forEachServer(t, func(t *testing.T, serve func(net.Conn, http.Handler, <-chan struct{})) {
		e := dial(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-r.Context().Done()
				return
			}
			io.WriteString(w, "ok")
		}), Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := get(t, e.c, ctx, "GET", "/slow", nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's deadline", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("the cancelled request returned after %v", d)
		}
		if _, body, err := get(t, e.c, context.Background(), "GET", "/", nil); err != nil || body != "ok" {
			t.Fatalf("after a cancel: %q, %v", body, err)
		}
	})
}

func TestGoAwayAndClosedConnectionsAreUnsent(t *testing.T) {
	e := dial(t, servers["h2server"], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), Config{IdleCheck: time.Nanosecond})
	if _, _, err := get(t, e.c, context.Background(), "GET", "/", nil); err != nil {
		t.Fatal(err)
	}
	close(e.shutdown)
	// The server sends GOAWAY and, with no stream open, closes; nobody
	// reads on the client's side until the next request.
	<-e.served
	_, _, err := get(t, e.c, context.Background(), "GET", "/", nil)
	if !errors.Is(err, ErrUnsent) {
		t.Fatalf("a request after the server's GOAWAY: %v, want ErrUnsent", err)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	e := dial(t, servers["h2server"], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), Config{PingInterval: 10 * time.Millisecond, IdleTimeout: 50 * time.Millisecond})
	if _, _, err := get(t, e.c, context.Background(), "GET", "/", nil); err != nil {
		t.Fatal(err)
	}
	waitErr(t, e.c, errIdle)
}

// TestSilentServerIsClosed: a server that completes the preface and then
// answers nothing, not even PINGs, has its connection closed.
func TestSilentServerIsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		sc, err := ln.Accept()
		if err != nil {
			return
		}
		defer sc.Close()
		http2.NewFramer(sc, nil).WriteSettings()
		io.Copy(io.Discard, sc) // reads everything, answers nothing
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(nc, Config{PingInterval: 10 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitErr(t, c, nil)
}

// waitErr waits until c is unusable, with want if it is set.
func waitErr(t *testing.T, c *Conn, want error) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if err := c.Err(); err != nil {
			if want != nil && !errors.Is(err, want) {
				t.Fatalf("connection closed with %v, want %v", err, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection stayed open")
		}
	}
}

// TestHeaderListOverTheServersLimit: a request whose header list is larger
// than the server's SETTINGS_MAX_HEADER_LIST_SIZE fails before it is sent;
// the connection stays good for the next.
func TestHeaderListOverTheServersLimit(t *testing.T) {
	served := make(chan string, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := h2server.New(h2server.Config{MaxHeaderListSize: 2000, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served <- r.URL.Path
		io.WriteString(w, "ok")
	})})
	defer s.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			s.ServeConn(c)
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(nc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The first request waits for the server's SETTINGS, which carry the limit.
	if _, body, err := get(t, c, context.Background(), "GET", "/first", nil); err != nil || body != "ok" {
		t.Fatalf("GET /first: %q, %v", body, err)
	}
	req, _ := http.NewRequest("GET", "http://test/big", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 3000))
	if resp, err := c.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "SETTINGS_MAX_HEADER_LIST_SIZE") {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("a 3 KB header to a server that accepts 2000 bytes: %v, %v; want an error naming the limit", resp, err)
	}
	if _, body, err := get(t, c, context.Background(), "GET", "/after", nil); err != nil || body != "ok" {
		t.Fatalf("GET /after: %q, %v", body, err)
	}
	if got := []string{<-served, <-served}; got[0] != "/first" || got[1] != "/after" {
		t.Errorf("the server served %v, want /first and /after only", got)
	}
}
