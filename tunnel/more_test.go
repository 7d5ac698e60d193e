package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/h2server"
)

// TestSharedWithL7 checks that tunnels and plain requests to the same
// sidecar share one connection.
func TestSharedWithL7(t *testing.T) {
	var dials atomic.Int64
	up := serveTCP(t, lineEcho)
	tunnels := Handler(HandlerOptions{Dial: dialTCP})
	sc := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			tunnels.ServeHTTP(w, r)
			return
		}
		io.WriteString(w, "l7")
	}))
	tr := clientTransport(t, &dials)
	if err := lineRoundTrip(tr, sc, up, 1); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get("https://" + sc + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if diff := cmp.Diff("HTTP/2.0 l7", resp.Proto+" "+string(b)); diff != "" {
		t.Errorf("L7 answer (-want +got):\n%s", diff)
	}
	if err := lineRoundTrip(tr, sc, up, 2); err != nil {
		t.Fatal(err)
	}
	if got := dials.Load(); got != 1 {
		t.Errorf("got %d connections dialed, want 1", got)
	}
}

// TestHandlerRefusals checks the answers to requests that open no tunnel.
func TestHandlerRefusals(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		proto     int
		host      string
		authorize func(*http.Request) (int, error)
		want      int
		wantBody  string
	}{
		{"not CONNECT", http.MethodGet, 2, "orders:80", nil, 405, "tunnel: method GET is not CONNECT"},
		{"HTTP/1.1", http.MethodConnect, 1, "orders:80", nil, 505, "tunnel: CONNECT over HTTP/1.1 is not supported, only over HTTP/2"},
		{"no destination", http.MethodConnect, 2, "", nil, 400, "tunnel: CONNECT without a destination"},
		{"own status", http.MethodConnect, 2, "orders:80", func(*http.Request) (int, error) {
			return http.StatusTooManyRequests, errors.New("too many tunnels")
		}, 429, "too many tunnels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Stats
			h := Handler(HandlerOptions{
				Dial: func(context.Context, string) (net.Conn, error) {
					return nil, errors.New("dialed")
				},
				Authorize: tc.authorize,
				OnStream:  func(s Stats) { got = s },
			})
			r := httptest.NewRequest(tc.method, "/", nil)
			r.Host, r.ProtoMajor, r.Proto = tc.host, tc.proto, map[int]string{1: "HTTP/1.1", 2: "HTTP/2.0"}[tc.proto]
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if diff := cmp.Diff(tc.want, w.Code); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantBody, strings.TrimSpace(w.Body.String())); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got.Status != tc.want || got.Err == nil {
				t.Errorf("stats: got status %d, error %v, want %d and an error", got.Status, got.Err, tc.want)
			}
		})
	}
}

// TestDeadlines checks that deadlines interrupt Read and Write with
// os.ErrDeadlineExceeded and that the tunnel works again once cleared.
func TestDeadlines(t *testing.T) {
	up := serveTCP(t, echo)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP})
	c := mustDial(t, clientTransport(t, nil), sc, up)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: got %v, want %v", err, os.ErrDeadlineExceeded)
	}
	c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "again"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "again" {
		t.Errorf("after clearing the deadline: got %q, %v, want %q", got, err, "again")
	}
}

// TestWriteDeadline fills the stream's flow-control window towards a
// destination that does not read, and checks that a write deadline ends
// the blocked Write.
func TestWriteDeadline(t *testing.T) {
	stuck := make(chan net.Conn, 1)
	sc := startSidecar(t, HandlerOptions{Dial: func(context.Context, string) (net.Conn, error) {
		a, b := net.Pipe() // nobody reads b
		stuck <- b
		return a, nil
	}})
	c := mustDial(t, clientTransport(t, nil), sc, "stuck:1")
	defer (<-stuck).Close()
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write to a stuck tunnel: got %d, %v, want %v", n, err, os.ErrDeadlineExceeded)
	}
}

// TestServerTimeouts checks that an idle tunnel outlives the server's
// write and idle timeouts.
func TestServerTimeouts(t *testing.T) {
	up := serveTCP(t, lineEcho)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP}, func(c *h2server.Config) {
		c.WriteTimeout, c.IdleTimeout = 50*time.Millisecond, 50*time.Millisecond
	})
	c := mustDial(t, clientTransport(t, nil), sc, up)
	time.Sleep(150 * time.Millisecond) // past both server timeouts
	if _, err := io.WriteString(c, "late\n"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("echo: late\n"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "echo: late\n" {
		t.Errorf("after the server's timeouts: got %q, %v, want %q", got, err, "echo: late\n")
	}
}

// TestUpstreamReset checks that the caller sees an error, not an EOF, when
// the destination resets its connection.
func TestUpstreamReset(t *testing.T) {
	up := serveTCP(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 1))
		c.(*net.TCPConn).SetLinger(0)
	})
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP})
	c := mustDial(t, clientTransport(t, nil), sc, up)
	io.WriteString(c, "x")
	if b, err := io.ReadAll(c); err == nil {
		t.Errorf("reading a reset tunnel: got %q and EOF, want an error", b)
	}
}

// TestDialCanceled checks that ctx bounds the opening only.
func TestDialCanceled(t *testing.T) {
	up := serveTCP(t, lineEcho)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP})
	tr := clientTransport(t, nil)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := Dial(ctx, tr, sc, up); !errors.Is(err, context.Canceled) {
		if c != nil {
			c.Close()
		}
		t.Errorf("Dial with a canceled ctx: got %v, want %v", err, context.Canceled)
	}

	ctx, cancel = context.WithCancel(context.Background())
	c, err := Dial(ctx, tr, sc, up)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c, "after\n"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("echo: after\n"))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Errorf("after canceling Dial's ctx: got %v, want the tunnel still open", err)
	}
}
